"""Atomic, idempotent partition writes.

A partition is ``<lake>/<table>/venue=V/symbol=S/date=D/data.parquet``: exactly one
file, so replacing it with ``os.replace`` is the atomic step. The new file is written
in a staging directory on the same filesystem first; a crash before the rename leaves
the old partition untouched and the staging file outside every DuckDB glob.

Writes merge with what the partition already holds and deduplicate on the table's key,
so importing the same input twice, or two files that overlap, gives the same rows.

Two merge paths produce the same bytes for the same row set:

- :func:`write_partition` merges in memory with pyarrow (small writes, the synthetic
  generator, the importers' fast path);
- :func:`merge_partition_parts` merges staged Parquet parts and the existing partition
  out of core with DuckDB under a memory limit (large imports: memory does not grow
  with the input).

Both hand the final, sorted rows to :func:`_write_final`, which cuts row groups of
exactly ``ROW_GROUP_SIZE`` rows, so the file is a function of the row set alone.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from data_lake.schemas import TableSpec

__all__ = [
    "DAY_NS",
    "PARTITION_FILE",
    "ROW_GROUP_SIZE",
    "STAGING_DIR",
    "PartitionKey",
    "WriteResult",
    "clean_stale_staging",
    "day_window_ns",
    "merge_partition_parts",
    "new_staging_dir",
    "partition_dir",
    "partition_file",
    "partition_rows",
    "split_by_date",
    "write_part",
    "write_partition",
]

PARTITION_FILE = "data.parquet"
STAGING_DIR = ".staging"
ROW_GROUP_SIZE = 256 * 1024
DEFAULT_MEMORY_LIMIT = "512MB"
_SAFE = re.compile(r"^[A-Za-z0-9._\-]+$")
DAY_NS = 86_400 * 1_000_000_000  # one UTC calendar day, the partition unit


def day_window_ns(day: dt.date) -> tuple[int, int]:
    """``[start, end)`` of a UTC calendar day, int64 ns: the time span of a partition."""
    start = (day - dt.date(1970, 1, 1)).days * DAY_NS
    return start, start + DAY_NS


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


def partition_rows(path: Path) -> int:
    """Rows in a partition file (from its footer; 0 if the file does not exist)."""
    if not path.exists():
        return 0
    return int(pq.ParquetFile(path).metadata.num_rows)


def split_by_date(rows: pa.Table, ts_column: str = "ts") -> dict[dt.date, pa.Table]:
    """Split rows into UTC calendar days of their ``ts`` (int64 ns)."""
    if rows.num_rows == 0:
        return {}
    days = pc.divide(rows[ts_column], pa.scalar(DAY_NS, pa.int64()))
    lo, hi = pc.min_max(days).values()
    if lo.as_py() == hi.as_py():  # the common case: one day, no filtering
        return {dt.date(1970, 1, 1) + dt.timedelta(days=int(lo.as_py())): rows}
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


def new_staging_dir(lake_root: Path) -> Path:
    """A fresh staging directory, named after this process so a dead one can be swept."""
    path = lake_root / STAGING_DIR / f"{os.getpid()}-{uuid.uuid4().hex}"
    path.mkdir(parents=True)
    return path


def clean_stale_staging(lake_root: Path) -> int:
    """Remove staging directories left by processes that no longer run.

    A writer killed mid-write leaves its staging directory behind (outside every
    DuckDB glob, so invisible to readers); this sweeps them. Returns the count removed.
    """
    root = lake_root / STAGING_DIR
    if not root.is_dir():
        return 0
    removed = 0
    for entry in root.iterdir():
        pid_text, sep, _ = entry.name.partition("-")
        if not sep or not pid_text.isdigit() or not entry.is_dir():
            continue
        if _pid_alive(int(pid_text)):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed += 1
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _conform(spec: TableSpec, rows: pa.Table) -> pa.Table:
    """Select and cast the spec's columns, with an error that names what is missing."""
    missing = [f.name for f in spec.schema if f.name not in rows.column_names]
    if missing:
        raise ValueError(
            f"rows for table {spec.name!r} lack column(s) {missing}; expected {spec.schema.names}"
        )
    return rows.select(spec.schema.names).cast(spec.schema)


def _dedupe_sorted(spec: TableSpec, rows: pa.Table) -> pa.Table:
    """Keep one row per key (the last or the first, per ``spec.keep``), sorted.

    Later rows win by default so that a re-import replaces what an earlier import wrote.
    """
    if rows.num_rows == 0:
        return rows
    idx = pa.array(range(rows.num_rows), pa.int64())
    with_idx = rows.append_column("__row", idx)
    agg = "max" if spec.keep == "last" else "min"
    chosen = with_idx.group_by(list(spec.key), use_threads=False).aggregate([("__row", agg)])
    kept_rows = pc.sort_indices(chosen[f"__row_{agg}"])
    deduped = rows.take(pc.take(chosen[f"__row_{agg}"], kept_rows))
    order = pc.sort_indices(deduped, sort_keys=[(c, "ascending") for c in spec.sort])
    return deduped.take(order)


def _rechunk(
    spec: TableSpec, batches: Iterable[pa.RecordBatch | pa.Table], size: int
) -> Iterator[pa.Table]:
    """Re-cut a stream of batches into contiguous tables of exactly ``size`` rows."""
    pending: list[pa.Table] = []
    pending_rows = 0
    for batch in batches:
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        table = table.cast(spec.schema)
        while table.num_rows:
            take = min(size - pending_rows, table.num_rows)
            pending.append(table.slice(0, take))
            pending_rows += take
            table = table.slice(take)
            if pending_rows == size:
                yield pa.concat_tables(pending).combine_chunks()
                pending, pending_rows = [], 0
    if pending_rows:
        yield pa.concat_tables(pending).combine_chunks()


def _write_final(spec: TableSpec, batches: Iterable[pa.RecordBatch | pa.Table], path: Path) -> int:
    """Write sorted, deduplicated rows as the partition file; returns the row count.

    Deterministic bytes for identical rows: fixed row groups, no creation time.
    """
    n = 0
    with pq.ParquetWriter(
        path,
        spec.schema,
        compression="zstd",
        write_statistics=True,
        store_schema=True,
    ) as out:
        for group in _rechunk(spec, batches, ROW_GROUP_SIZE):
            out.write_table(group, row_group_size=ROW_GROUP_SIZE)
            n += group.num_rows
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())
    return n


def _publish(staged: Path, target: Path) -> None:
    """The atomic step: rename the finished file over the partition."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, target)
    _fsync_dir(target.parent)


def write_partition(
    lake_root: Path,
    spec: TableSpec,
    key: PartitionKey,
    rows: pa.Table,
    *,
    mode: str = "merge",
) -> WriteResult:
    """Write ``rows`` into one partition atomically, merging in memory.

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
        final = _dedupe_sorted(spec, new_rows)
        staging = new_staging_dir(lake_root)
        tmp_file = staging / PARTITION_FILE
        try:
            rows_after = _write_final(spec, [final], tmp_file)
            _publish(tmp_file, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return WriteResult(
        table=spec.name,
        key=key,
        path=target,
        rows_before=rows_before,
        rows_written=rows.num_rows,
        rows_after=rows_after,
    )


def write_part(spec: TableSpec, rows: pa.Table, path: Path) -> None:
    """Spill rows to a staging part (fast codec: parts live only until the merge)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(_conform(spec, rows), path, compression="lz4", store_schema=True)


def _sql_str(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _merge_sql(spec: TableSpec, existing: Path | None, parts: Sequence[Path]) -> str:
    cols = ", ".join(f'"{c}"' for c in spec.schema.names)
    sources = []
    if existing is not None:
        sources.append(
            f"SELECT {cols}, '' AS __f, file_row_number AS __rn "
            f"FROM read_parquet({_sql_str(existing)}, file_row_number = true)"
        )
    if parts:
        files = ", ".join(_sql_str(p) for p in parts)
        sources.append(
            f"SELECT {cols}, filename AS __f, file_row_number AS __rn "
            f"FROM read_parquet([{files}], filename = true, file_row_number = true)"
        )
    direction = "DESC" if spec.keep == "last" else "ASC"
    key = ", ".join(f'"{c}"' for c in spec.key)
    order = ", ".join(f'"{c}"' for c in spec.sort)
    return (
        f"SELECT {cols} FROM ({' UNION ALL '.join(sources)}) "
        f"QUALIFY row_number() OVER (PARTITION BY {key} "
        f"ORDER BY __f {direction}, __rn {direction}) = 1 "
        f"ORDER BY {order}"
    )


def merge_partition_parts(
    lake_root: Path,
    spec: TableSpec,
    key: PartitionKey,
    parts: Sequence[Path],
    *,
    rows_offered: int,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> WriteResult:
    """Merge staged parts into one partition, out of core, atomically.

    Parameters
    ----------
    lake_root : the lake directory.
    spec : the table's spec; ``parts`` were written with :func:`write_part`.
    key : the partition.
    parts : staged Parquet parts in write order (later parts win on equal keys,
        and every part wins over the existing partition, like :func:`write_partition`);
        their names must sort in write order.
    rows_offered : rows in the parts (for the result).
    memory_limit : DuckDB memory limit; beyond it DuckDB spills to the staging dir.
    """
    target = partition_file(lake_root, spec.name, key)
    with _partition_lock(lake_root, spec.name, key):
        existing = target if target.exists() else None
        rows_before = partition_rows(target)
        staging = new_staging_dir(lake_root)
        tmp_file = staging / PARTITION_FILE
        con = duckdb.connect(config={"memory_limit": memory_limit})
        try:
            con.execute(f"SET temp_directory = {_sql_str(staging / 'spill')}")
            reader = con.sql(_merge_sql(spec, existing, sorted(parts))).to_arrow_reader(
                ROW_GROUP_SIZE
            )
            rows_after = _write_final(spec, reader, tmp_file)
            _publish(tmp_file, target)
        finally:
            con.close()
            shutil.rmtree(staging, ignore_errors=True)
    return WriteResult(
        table=spec.name,
        key=key,
        path=target,
        rows_before=rows_before,
        rows_written=rows_offered,
        rows_after=rows_after,
    )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
