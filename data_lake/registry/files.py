"""Crash-safe file primitives for the param registry: create-once, replace, append, lock.

Readers must never see half a file: new files are written under a temporary name,
fsynced, then linked (create-once) or renamed (replace) into place, and the directory is
fsynced so the name survives a power cut. Temporary names start with :data:`TMP_PREFIX`
and never end in ``.json``, so globs over documents do not see them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from data_lake.durable import fsync_dir
from data_lake.faults import crash_point
from data_lake.locks import release_owner, take_over

__all__ = [
    "TMP_PREFIX",
    "FileExistsImmutableError",
    "append_line",
    "create_once",
    "fsync_dir",
    "locked_directory",
    "replace_atomically",
]

TMP_PREFIX = ".tmp-"
_LOCK = ".lock"
# errno values meaning "this filesystem cannot hard-link", not "something went wrong".
_NO_HARDLINKS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV})


class FileExistsImmutableError(FileExistsError):
    """Refusal to overwrite a file that is immutable once written."""


def _tmp_for(final: Path) -> Path:
    return final.with_name(f"{TMP_PREFIX}{final.name}-{uuid.uuid4().hex}")


def _write_fsynced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def create_once(final: Path, data: bytes, *, read_only: bool = True) -> None:
    """Create ``final`` with ``data`` atomically, refusing if it already exists.

    Raises
    ------
    FileExistsImmutableError
        ``final`` exists; it is left untouched.
    """
    tmp = _tmp_for(final)
    try:
        _write_fsynced(tmp, data)
        if read_only:
            os.chmod(tmp, 0o444)
        crash_point("registry.create.written")
        try:
            os.link(tmp, final)  # atomic, and fails instead of overwriting
        except FileExistsError as exc:
            raise FileExistsImmutableError(f"{final} already exists and is immutable") from exc
        except OSError as exc:
            if exc.errno not in _NO_HARDLINKS:
                raise
            # No hard links here: callers hold the directory lock, so check-then-rename
            # cannot race another registry writer.
            if final.exists():
                raise FileExistsImmutableError(f"{final} already exists and is immutable") from None
            os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(final.parent)
    crash_point("registry.create.linked")


def replace_atomically(final: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``final``, replacing it in one step (readers see old or new).

    ``mode``: the file's permission bits exactly, whatever the umask (set before the
    rename, so the name never points at a file with wider ones).
    """
    tmp = _tmp_for(final)
    try:
        _write_fsynced(tmp, data)
        if mode is not None:
            os.chmod(tmp, mode)
        crash_point("registry.replace.written")
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(final.parent)
    crash_point("registry.replace.renamed")


def append_line(path: Path, line: bytes) -> None:
    """Append one record (a newline is added) and fsync.

    A crash mid-append leaves a torn last line; the next record starts on its own line so
    only the torn one is unreadable.
    """
    crash_point("registry.append.before")
    with open(path, "ab+") as fh:
        if fh.seek(0, os.SEEK_END) > 0:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                line = b"\n" + line
        half = len(line) // 2
        fh.write(line[:half])
        fh.flush()
        crash_point("registry.append.torn")  # a kill here leaves a torn last line
        fh.write(line[half:] + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    crash_point("registry.append.done")


@contextlib.contextmanager
def locked_directory(directory: Path, *, sweep: tuple[str, ...] = (".",)) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``directory/.lock`` (released if the process dies).

    While held, temp files in ``directory`` (and the ``sweep`` sub-directories) can only
    belong to writers that died mid-write, since every writer holds this lock; they are
    removed on entry.
    """
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / _LOCK, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            take_over(fh, f"registry {directory.name}")  # logs a writer that died holding it
            for sub in sweep:
                for stale in (directory / sub).glob(f"{TMP_PREFIX}*"):
                    stale.unlink(missing_ok=True)
            yield
        finally:
            release_owner(fh)
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
