#!/usr/bin/env bash
# Creates bench/.venv-hftbacktest from requirements.txt, idempotently: the venv is
# (re)built only when it is missing or requirements.txt changed since the last build.
# Usage (from anywhere): bench/peer_hftbacktest/setup.sh   [PYTHON=python3.11]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${HERE}/../.venv-hftbacktest"
REQ="${HERE}/requirements.txt"
STAMP="${VENV}/.requirements.sha256"
PYTHON="${PYTHON:-python3}"

want="$(sha256sum "${REQ}" | cut -d' ' -f1)"
if [[ -x "${VENV}/bin/python" && -f "${STAMP}" && "$(cat "${STAMP}")" == "${want}" ]]; then
    echo "peer venv up to date: ${VENV}"
    exit 0
fi
rm -rf "${VENV}"
"${PYTHON}" -m venv "${VENV}"
"${VENV}/bin/python" -m pip install --quiet --upgrade pip
"${VENV}/bin/python" -m pip install --quiet -r "${REQ}"
"${VENV}/bin/python" -c "import hftbacktest, numpy; print('hftbacktest', hftbacktest.__version__, 'numpy', numpy.__version__)"
echo "${want}" > "${STAMP}"
echo "peer venv built: ${VENV}"
