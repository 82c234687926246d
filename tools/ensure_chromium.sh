#!/bin/sh
# Headless Chromium and chromedriver for tests/orchestration/test_dagster_ui.py (Debian
# packages). Idempotent: installs only what is missing. Needs root (or sudo) on a clean
# machine; says what to do otherwise.
set -eu
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "ensure_chromium: /usr/bin/chromium or /usr/bin/chromedriver missing and not root;" >&2
        echo "  run as root: apt-get install -y chromium chromium-driver" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium chromium-driver
