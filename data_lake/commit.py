"""All-or-nothing commits of many partitions, and their recovery after a crash.

A multi-table import (:class:`data_lake.sink.LakeSink`) must become visible all at once
or not at all. :class:`PartitionCommit` does it in two phases:

1. stage: every partition's new file is written and fsynced into
   ``lake/.staging/commits/<pid>-<uuid>/`` (outside every DuckDB glob) while the
   committer holds each partition's lock;
2. publish: a manifest naming each staged file and its partition is written
   atomically (temporary file, fsync, rename), then, under the lake's exclusive publish
   lock (:func:`data_lake.locks.publish_lock`), each staged file is renamed over its
   partition and the manifest directory removed.

A crash before the manifest exists leaves the partitions untouched: the directory is
swept. A crash after it is rolled forward, because every staged file is complete: a
writer that takes one of the partition locks first finishes that partition
(:func:`locked_partition`), and a reader finishes the whole commit before it reads
(:func:`consistent_read`). Readers hold the publish lock shared, so a query sees a
commit's partitions all or none, and never a half-recovered one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from data_lake.durable import fsync_dir
from data_lake.faults import crash_point
from data_lake.locks import partition_lock, pid_alive, publish_lock
from data_lake.partitions import PartitionKey, partition_file

__all__ = [
    "COMMITS_DIR",
    "PartitionCommit",
    "consistent_read",
    "locked_partition",
    "recover_commits",
]

log = logging.getLogger(__name__)

COMMITS_DIR = ".staging/commits"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class _Entry:
    table: str
    key: PartitionKey
    staged: str  # file name inside the commit directory

    def to_dict(self) -> dict[str, str]:
        return {
            "table": self.table,
            "venue": self.key.venue,
            "symbol": self.key.symbol,
            "date": self.key.date.isoformat(),
            "staged": self.staged,
        }

    @classmethod
    def from_dict(cls, d: dict[str, str]) -> _Entry:
        key = PartitionKey(d["venue"], d["symbol"], dt.date.fromisoformat(d["date"]))
        return cls(d["table"], key, d["staged"])


class PartitionCommit:
    """Stage new partition files, then publish them together (see the module doc).

    The caller holds the lock of every partition it adds, from staging to publish.
    Leaving the ``with`` block without :meth:`publish` discards what was staged.
    """

    def __init__(self, lake_root: Path) -> None:
        self.lake_root = lake_root
        self.dir = lake_root / COMMITS_DIR / f"{os.getpid()}-{uuid.uuid4().hex}"
        self.entries: list[_Entry] = []

    def __enter__(self) -> PartitionCommit:
        self.dir.mkdir(parents=True)
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def staged_path(self) -> Path:
        """Where to write the next partition's new file (then :meth:`add` it)."""
        return self.dir / f"{len(self.entries):06d}.parquet"

    def add(self, table: str, key: PartitionKey, staged: Path) -> None:
        """Record a staged, fsynced file as the new content of ``table`` at ``key``."""
        if staged.parent != self.dir:
            raise ValueError(f"{staged} is not in this commit's directory {self.dir}")
        self.entries.append(_Entry(table, key, staged.name))
        crash_point("commit.staged")

    def publish(self) -> None:
        """Write the manifest, then rename every staged file over its partition."""
        fsync_dir(self.dir)
        body = json.dumps({"pid": os.getpid(), "entries": [e.to_dict() for e in self.entries]})
        tmp = self.dir / f"{MANIFEST}.tmp"
        with open(tmp, "w") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        crash_point("commit.manifest_written")
        os.replace(tmp, self.dir / MANIFEST)
        fsync_dir(self.dir)
        crash_point("commit.manifest_renamed")
        with publish_lock(self.lake_root, shared=False):
            for entry in self.entries:
                _roll_forward(self.lake_root, self.dir, entry)
        shutil.rmtree(self.dir, ignore_errors=True)
        crash_point("commit.done")


def _roll_forward(lake_root: Path, directory: Path, entry: _Entry) -> bool:
    """Rename one staged file over its partition; False when it was already moved."""
    staged = directory / entry.staged
    if not staged.exists():
        return False
    target = partition_file(lake_root, entry.table, entry.key)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, target)
    fsync_dir(target.parent)
    crash_point("commit.renamed")
    return True


# -- recovery -------------------------------------------------------------------------


def _dead_commits(lake_root: Path, *, with_manifest: bool) -> list[Path]:
    """Commit directories whose process is gone (optionally: only those to roll forward)."""
    root = lake_root / COMMITS_DIR
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return []
    dead = []
    for name in sorted(names):
        pid, sep, _ = name.partition("-")
        if not sep or not pid.isdigit() or pid_alive(int(pid)):
            continue
        if with_manifest and not (root / name / MANIFEST).exists():
            continue
        dead.append(root / name)
    return dead


def _entries(directory: Path) -> list[_Entry] | None:
    try:
        raw = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError:
        return None
    return [_Entry.from_dict(e) for e in raw["entries"]]


def recover_commits(lake_root: Path) -> int:
    """Finish or discard every commit a dead process left; returns the partitions moved.

    With a manifest: take every partition lock of the commit (sorted, as committers
    do), then the exclusive publish lock, and rename what is still staged. Without one:
    the commit never started publishing, so its directory is removed.
    """
    moved = 0
    for directory in _dead_commits(lake_root, with_manifest=False):
        entries = _entries(directory)
        if entries is None:
            shutil.rmtree(directory, ignore_errors=True)
            log.warning(
                "lake: removed %s, staged by a process that died before publishing", directory.name
            )
            continue
        with ExitStack() as stack:
            for entry in sorted(
                entries, key=lambda e: (e.table, e.key.venue, e.key.symbol, e.key.date)
            ):
                stack.enter_context(partition_lock(lake_root, entry.table, entry.key))
            stack.enter_context(publish_lock(lake_root, shared=False))
            n = sum(_roll_forward(lake_root, directory, e) for e in entries)
        shutil.rmtree(directory, ignore_errors=True)
        moved += n
        log.warning(
            "lake: rolled forward %d partition(s) of a commit left by dead process %s",
            n,
            directory.name.split("-")[0],
        )
    return moved


def _recover_partition(lake_root: Path, table: str, key: PartitionKey) -> None:
    """With ``table``/``key``'s lock held: finish that partition of any dead commit."""
    for directory in _dead_commits(lake_root, with_manifest=True):
        for entry in _entries(directory) or []:
            if entry.table == table and entry.key == key:
                with publish_lock(lake_root, shared=False):
                    if _roll_forward(lake_root, directory, entry):
                        log.warning(
                            "lake: rolled forward %s/%s left by dead process %s",
                            table,
                            key.relpath(),
                            directory.name.split("-")[0],
                        )


@contextmanager
def locked_partition(lake_root: Path, table: str, key: PartitionKey) -> Iterator[None]:
    """Hold a partition's lock, having first finished any dead commit's file for it.

    Every writer goes through this, so no write builds on a partition that a dead
    commit's manifest still has to replace.
    """
    with partition_lock(lake_root, table, key):
        _recover_partition(lake_root, table, key)
        yield


@contextmanager
def consistent_read(lake_root: Path) -> Iterator[None]:
    """Hold the shared publish lock with no dead commit pending (recovering first)."""
    while True:
        if _dead_commits(lake_root, with_manifest=True):
            try:
                recover_commits(lake_root)
            except OSError as exc:  # a read-only lake: read what is there
                log.warning("lake: cannot recover an interrupted commit (%s)", exc)
                yield
                return
        with publish_lock(lake_root, shared=True):
            if not _dead_commits(lake_root, with_manifest=True):
                yield
                return
