"""The lake's file locks: one per partition (writers) and one publish lock (readers).

Locks are ``flock`` on files under ``lake/.staging/locks/``: the kernel releases them
when the holder dies, so a SIGKILLed writer never blocks the next one. Each partition
lock file holds its owner's pid while held and is emptied on release; a pid found in
it on acquisition belongs to a process that died holding the lock, which is logged as a
take-over (its half-done work is swept or rolled forward by :mod:`data_lake.commit`).

The publish lock orders readers against multi-partition commits: a commit holds it
exclusively while it renames its partitions into place (milliseconds), readers hold it
shared while they query, so a query sees a commit's partitions all or none.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from data_lake.partitions import PartitionKey

__all__ = ["LOCK_DIR", "partition_lock", "pid_alive", "publish_lock", "release_owner", "take_over"]

log = logging.getLogger(__name__)

LOCK_DIR = ".staging/locks"
_PUBLISH = "publish.lock"


def pid_alive(pid: int) -> bool:
    """True when a process with this pid runs (or exists under another user)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lock_dir(lake_root: Path) -> Path:
    path = lake_root / LOCK_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def partition_lock(lake_root: Path, table: str, key: PartitionKey) -> Iterator[None]:
    """Hold one partition's exclusive lock (writers of that partition wait)."""
    name = f"{table}.{key.venue}.{key.symbol}.{key.date.isoformat()}.lock"
    with open(_lock_dir(lake_root) / name, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            take_over(fh, f"{table}/{key.relpath()}")
            yield
        finally:
            release_owner(fh)
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def take_over(fh: IO[bytes], what: str) -> None:
    """With the flock held: record our pid; log when a dead owner's pid was still there."""
    fh.seek(0)
    owner = fh.read().strip()
    if owner.isdigit() and int(owner) != os.getpid():
        # Flock is released by the kernel at death; the pid is what the dead owner left.
        state = "still runs (lock file reused)" if pid_alive(int(owner)) else "died holding it"
        log.warning(
            "lake lock of %s: previous owner pid %s %s; taken over by pid %d",
            what,
            owner.decode(),
            state,
            os.getpid(),
        )
    fh.seek(0)
    fh.truncate(0)
    fh.write(str(os.getpid()).encode())
    fh.flush()


def release_owner(fh: IO[bytes]) -> None:
    """Before unlocking: clear our pid (a pid left behind means its owner died)."""
    fh.seek(0)
    fh.truncate(0)
    fh.flush()


@contextmanager
def publish_lock(lake_root: Path, *, shared: bool) -> Iterator[None]:
    """Hold the lake's publish lock: shared for a reader, exclusive for a commit.

    A reader of a lake it cannot write (read-only mount or permissions) goes without:
    nothing can commit to that lake either.
    """
    try:
        fh = open(_lock_dir(lake_root) / _PUBLISH, "a+b")  # noqa: SIM115 - closed below
    except OSError:
        if not shared:
            raise
        yield
        return
    with fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
