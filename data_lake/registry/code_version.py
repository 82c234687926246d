"""The code version stamped on every param set (``ParamSet.code_version``)."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

__all__ = ["current_code_version"]


def current_code_version(repo: Path | None = None) -> str:
    """``<package version>+<git describe --always --dirty>``, for ``ParamSet.code_version``.

    Falls back to the package version alone outside a git checkout. It is part of the
    content hash, so the same code on the same data gives the same version.
    """
    try:
        package = metadata.version("mmcal")
    except metadata.PackageNotFoundError:
        package = "0+unknown"
    cwd = repo if repo is not None else Path(__file__).resolve().parent.parent
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=8"],
            cwd=cwd, capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return package
    return f"{package}+g{described}" if described else package
