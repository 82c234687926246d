"""Atomic, idempotent partition writes.

A partition is ``<lake>/<table>/venue=V/symbol=S/date=D/data.parquet``: exactly one
file, so replacing it with ``os.replace`` is the atomic step. The new file is written
in a staging directory on the same filesystem first; a crash before the rename leaves
the old partition untouched and the staging file outside every DuckDB glob.

Writes merge with what the partition already holds and deduplicate on the table's key,
so importing the same input twice, or two files that overlap, gives the same rows.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from data_lake.schemas import TableSpec

__all__ = [
    "PartitionKey",
    "WriteResult",
    "partition_dir",
    "partition_file",
    "split_by_date",
    "write_partition",
]

PARTITION_FILE = "data.parquet"
STAGING_DIR = ".staging"
ROW_GROUP_SIZE = 256 * 1024
_SAFE = re.compile(r"^[A-Za-z0-9._\-]+$")


@dataclass(frozen=True)
class PartitionKey:
    """(venue, symbol, date) of one partition; ``date`` is the UTC calendar day."""

    venue: str
    symbol: str
    date: dt.date

    def __post_init__(self) -> None:
        for name in ("venue", "symbol"):
            value = getattr(self, name)
            if not _SAFE.match(value):
                raise ValueError(
                    f"{name} {value!r} cannot name a partition directory: use letters, "
                    "digits, '.', '_' or '-'"
                )

    def relpath(self) -> str:
        return f"venue={self.venue}/symbol={self.symbol}/date={self.date.isoformat()}"


@dataclass(frozen=True)
class WriteResult:
    table: str
    key: PartitionKey
    path: Path
    rows_before: int
    rows_written: int  # rows offered by this write
    rows_after: int


def partition_dir(lake_root: Path, table: str, key: PartitionKey) -> Path:
    return lake_root / table / key.relpath()


def partition_file(lake_root: Path, table: str, key: PartitionKey) -> Path:
    return partition_dir(lake_root, table, key) / PARTITION_FILE


def split_by_date(rows: pa.Table, ts_column: str = "ts") -> dict[dt.date, pa.Table]:
    """Split rows into UTC calendar days of their ``ts`` (int64 ns)."""
    if rows.num_rows == 0:
        return {}
    day_ns = 86_400 * 1_000_000_000
    days = pc.divide(rows[ts_column], pa.scalar(day_ns, pa.int64()))
    out: dict[dt.date, pa.Table] = {}
    for day in pc.unique(days).to_pylist():
        mask = pc.equal(days, pa.scalar(day, pa.int64()))
        out[dt.date(1970, 1, 1) + dt.timedelta(days=int(day))] = rows.filter(mask)
    return out


@contextmanager
def _partition_lock(lake_root: Path, table: str, key: PartitionKey) -> Iterator[None]:
    """Serialise writers of one partition across processes (merge = read-modify-write)."""
    lock_dir = lake_root / STAGING_DIR / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    lock_path = lock_dir / f"{table}.{key.venue}.{key.symbol}.{key.date.isoformat()}.lock"
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _conform(spec: TableSpec, rows: pa.Table) -> pa.Table:
    """Select and cast the spec's columns, with an error that names what is missing."""
    missing = [f.name for f in spec.schema if f.name not in rows.column_names]
    if missing:
        raise ValueError(
            f"rows for table {spec.name!r} lack column(s) {missing}; "
            f"expected {spec.schema.names}"
        )
    return rows.select(spec.schema.names).cast(spec.schema)


def _dedupe_sorted(spec: TableSpec, rows: pa.Table) -> pa.Table:
    """Keep the last occurrence of each key, then sort by the spec's order.

    Later rows win so that a re-import replaces what an earlier import wrote.
    """
    if rows.num_rows == 0:
        return rows
    idx = pa.array(range(rows.num_rows), pa.int64())
    with_idx = rows.append_column("__row", idx)
    last = with_idx.group_by(list(spec.key), use_threads=False).aggregate([("__row", "max")])
    keep = pc.sort_indices(last["__row_max"])
    kept_rows = pc.take(last["__row_max"], keep)
    deduped = rows.take(kept_rows)
    order = pc.sort_indices(deduped, sort_keys=[(c, "ascending") for c in spec.sort])
    return deduped.take(order)


def write_partition(
    lake_root: Path,
    spec: TableSpec,
    key: PartitionKey,
    rows: pa.Table,
    *,
    mode: str = "merge",
) -> WriteResult:
    """Write ``rows`` into one partition atomically.

    Parameters
    ----------
    lake_root : the lake directory (``$MMCAL_HOME/lake``).
    spec : the table's spec; rows are cast to its schema.
    key : the partition; every row must belong to it (the caller splits by date).
    rows : the rows to write.
    mode : ``"merge"`` unions with the existing partition and deduplicates on the
        table key (idempotent re-imports); ``"replace"`` discards what was there.
    """
    if mode not in ("merge", "replace"):
        raise ValueError(f"mode must be 'merge' or 'replace', not {mode!r}")
    new_rows = _conform(spec, rows)
    target = partition_file(lake_root, spec.name, key)
    with _partition_lock(lake_root, spec.name, key):
        rows_before = 0
        if target.exists():
            old = pq.read_table(target, schema=spec.schema)
            rows_before = old.num_rows
            if mode == "merge":
                new_rows = pa.concat_tables([old, new_rows])
        final = _dedupe_sorted(spec, new_rows).combine_chunks()
        staging = lake_root / STAGING_DIR / uuid.uuid4().hex
        staging.mkdir(parents=True)
        tmp_file = staging / PARTITION_FILE
        try:
            pq.write_table(
                final,
                tmp_file,
                compression="zstd",
                row_group_size=ROW_GROUP_SIZE,
                write_statistics=True,
                # Deterministic bytes for identical rows: no creation time in metadata.
                store_schema=True,
            )
            with open(tmp_file, "rb") as fh:
                os.fsync(fh.fileno())
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_file, target)
            _fsync_dir(target.parent)
        finally:
            if tmp_file.exists():
                tmp_file.unlink()
            staging.rmdir()
    return WriteResult(
        table=spec.name,
        key=key,
        path=target,
        rows_before=rows_before,
        rows_written=rows.num_rows,
        rows_after=final.num_rows,
    )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
