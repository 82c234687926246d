"""Where a live trader keeps its files: ``$MMCAL_HOME/trader/``.

- ``state.json``: per symbol position, cash, P&L parts, open orders, params version and
  replay position, plus the kill switch; rewritten atomically (temporary file, fsync,
  rename, directory fsync) every few seconds and on exit, so a reader or a restart sees
  the old or the new state, never a torn one.
- ``control/``: commands for a running trader (``trader kill``, ``trader reset``), one
  file each, consumed (read then deleted) by the trader within one loop iteration, or at
  the next start when none runs.
- ``trader.lock``: held (flock) by the running trader; it names its pid. One trader per
  home.

Only the owner may reach them: ``trader/`` and ``control/`` are mode 0700, the state,
command and lock files 0600, set explicitly (whatever the umask; a directory left wider
by an older version is tightened when the trader starts or a command is sent).
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from pathlib import Path
from typing import IO, Any

import orjson

from data_lake.paths import LakePaths
from data_lake.registry.files import TMP_PREFIX, replace_atomically

__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "STATE_SCHEMA",
    "TraderAlreadyRunningError",
    "TraderFiles",
]

STATE_SCHEMA = 1
COMMANDS = ("kill", "reset")
DIR_MODE = 0o700
FILE_MODE = 0o600


def _private_dir(path: Path) -> None:
    """Create ``path`` (and its parents) and leave it mode 0700, whatever the umask."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)


class TraderAlreadyRunningError(RuntimeError):
    """Another trader holds this home's lock."""


class TraderFiles:
    """The files of the trader living under ``paths.home / "trader"``."""

    def __init__(self, paths: LakePaths) -> None:
        self.root = paths.home / "trader"
        self._lock: IO[str] | None = None

    @property
    def state_path(self) -> Path:
        return self.root / "state.json"

    @property
    def control_dir(self) -> Path:
        return self.root / "control"

    @property
    def lock_path(self) -> Path:
        return self.root / "trader.lock"

    # -- state -------------------------------------------------------------------------

    def save_state(self, state: dict[str, Any]) -> None:
        """Write ``state`` atomically (readers see the previous or this one)."""
        _private_dir(self.root)
        document = {"schema": STATE_SCHEMA, **state}
        replace_atomically(self.state_path, orjson.dumps(
            document, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY
        ), mode=FILE_MODE)

    def load_state(self) -> dict[str, Any] | None:
        """The saved state, or None when there is none.

        Raises
        ------
        ValueError
            The file is not a state document this trader reads (says what to do).
        """
        try:
            raw = self.state_path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ValueError(
                f"{self.state_path} is not valid JSON ({exc}); move it away to start flat"
            ) from exc
        if not isinstance(document, dict) or document.get("schema") != STATE_SCHEMA:
            raise ValueError(
                f"{self.state_path} is not a schema {STATE_SCHEMA} trader state; "
                "move it away to start flat"
            )
        return document

    # -- control -----------------------------------------------------------------------

    def send(self, command: str, **fields: Any) -> Path:
        """Queue a command for the trader (atomic: it sees the whole file or none)."""
        if command not in COMMANDS:
            raise ValueError(f"unknown command {command!r}; known: {', '.join(COMMANDS)}")
        _private_dir(self.root)
        _private_dir(self.control_dir)
        name = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}.json"
        final = self.control_dir / name
        replace_atomically(final, orjson.dumps({"command": command, **fields}),
                           mode=FILE_MODE)
        return final

    def take_commands(self) -> list[dict[str, Any]]:
        """Every queued command, oldest first, removed from the queue. An unreadable file
        is dropped as a command named ``invalid`` (so it is logged, not retried)."""
        try:
            entries = sorted(
                e.name for e in os.scandir(self.control_dir)
                if e.name.endswith(".json") and not e.name.startswith(".")
            )
        except FileNotFoundError:
            return []
        commands: list[dict[str, Any]] = []
        for name in entries:
            path = self.control_dir / name
            try:
                row = orjson.loads(path.read_bytes())
                if not isinstance(row, dict):
                    row = {"command": "invalid", "file": name}
            except (OSError, orjson.JSONDecodeError):
                row = {"command": "invalid", "file": name}
            path.unlink(missing_ok=True)
            commands.append(row)
        return commands

    # -- one trader per home -----------------------------------------------------------

    def acquire(self) -> None:
        """Take the lock for this process.

        Raises
        ------
        TraderAlreadyRunningError
            Another process holds it; the message names its pid.
        """
        _private_dir(self.root)
        _private_dir(self.control_dir)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_APPEND, FILE_MODE)
        os.fchmod(fd, FILE_MODE)
        fh = os.fdopen(fd, "a+")  # held for the process's life
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            pid = fh.read().strip() or "?"
            fh.close()
            raise TraderAlreadyRunningError(
                f"a trader (pid {pid}) is already running on {self.root.parent}; stop it "
                "(SIGTERM) or use another --home"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._lock = fh
        # Only the lock holder saves the state: a temporary state file is a dead save's.
        for stale in self.root.glob(f"{TMP_PREFIX}{self.state_path.name}-*"):
            stale.unlink(missing_ok=True)

    def release(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def running_pid(self) -> int | None:
        """The pid of the trader holding the lock, or None when none runs."""
        try:
            fh = open(self.lock_path)  # noqa: SIM115
        except FileNotFoundError:
            return None
        with fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                text = fh.read().strip()
                return int(text) if text.isdigit() else -1
            fcntl.flock(fh, fcntl.LOCK_UN)
            return None
