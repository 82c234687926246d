"""``trader run`` as a real process in tests: a free port, the process, a wait on it.

Shared by tests/trader/live/test_process.py and the fault cases
(tests/faults/trader_process.py); ``free_port`` also by the Dagster UI test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
WAIT_S = 120.0
"""Default limit of :func:`wait_until`, seconds."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 free at the time of the call."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_trader(home: Path, *args: str) -> subprocess.Popen[bytes]:
    """``trader --home HOME run --json ARGS`` from the repository, stdout and stderr piped;
    no private key inherited from the environment."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    env.pop("MMCAL_HL_PRIVATE_KEY", None)
    return subprocess.Popen(
        [sys.executable, "-m", "trader", "--home", str(home), "run", "--json", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_until(
    what: str, check: Callable[[], Any], proc: subprocess.Popen[bytes], limit_s: float = WAIT_S
) -> Any:
    """Poll ``check`` until truthy; fail with the process's stderr if it exits first."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            value = check()
        except OSError:  # the metrics endpoint is not up yet
            value = None
        if value:
            return value
        if proc.poll() is not None:
            _out, err = proc.communicate()
            raise AssertionError(
                f"trader exited {proc.returncode} before {what}: {err.decode()[-3000:]}"
            )
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"timed out waiting for {what}")
