"""The one write path of the lake: atomic, idempotent partition writes.

A partition is one file (:mod:`data_lake.partitions`), so replacing it with
``os.replace`` is the atomic step. Every write takes the partition's lock (writers in
other processes wait), writes the new file in a staging directory on the same
filesystem, fsyncs it and renames it over the partition; a crash before the rename
leaves the old partition untouched and the staging file outside every DuckDB glob.

Three ways in, one final stage:

- :func:`write_partition` merges rows with the partition in memory with pyarrow and
  deduplicates on the table's key (small writes, the importers' fast path), so
  importing the same input twice, or two files that overlap, gives the same rows;
- :func:`merge_partition_parts` merges staged Parquet parts and the partition out of
  core with DuckDB under a memory limit (large imports: memory does not grow with the
  input);
- :func:`write_partition_stream` replaces the partition with a stream of chunks (a
  synthetic day's book, never held as one table).

Each hands the final, sorted, deduplicated rows to the same final stage, which cuts row
groups of exactly ``ROW_GROUP_SIZE`` rows with fixed settings, so the file is a function
of the row set alone: the three give the same bytes for the same rows.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from data_lake.commit import locked_partition
from data_lake.durable import fsync_dir
from data_lake.faults import crash_point
from data_lake.integrity import quarantine_partition_file, verify_partition
from data_lake.locks import pid_alive
from data_lake.partitions import (
    DAY_NS,
    PARTITION_FILE,
    PartitionKey,
    day_window_ns,
    partition_dir,
    partition_file,
    partition_rows,
    split_by_date,
)
from data_lake.schemas import TableSpec

# The partition addressing is re-exported: whoever writes a partition names it too.
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
    "stage_partition",
    "stage_partition_parts",
    "write_part",
    "write_partition",
    "write_partition_stream",
]

STAGING_DIR = ".staging"
ROW_GROUP_SIZE = 256 * 1024
DEFAULT_MEMORY_LIMIT = "512MB"

Chunk: TypeAlias = "pa.Table | pa.RecordBatch"  # one piece of a stream of rows


@dataclass(frozen=True)
class WriteResult:
    table: str
    key: PartitionKey
    path: Path
    rows_before: int
    rows_written: int  # rows offered by this write
    rows_after: int


# -- staging and the partition lock ----------------------------------------------------


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
        if pid_alive(int(pid_text)):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed += 1
    return removed


@contextmanager
def _locked_staging(lake_root: Path, table: str, key: PartitionKey) -> Iterator[Path]:
    """Hold the partition's lock and a fresh staging directory, removed on the way out."""
    with locked_partition(lake_root, table, key):
        staging = new_staging_dir(lake_root)
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)


# -- the final stage -------------------------------------------------------------------


def _rechunk(spec: TableSpec, batches: Iterable[Chunk], size: int) -> Iterator[pa.Table]:
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


def _write_final(spec: TableSpec, batches: Iterable[Chunk], path: Path) -> int:
    """Write sorted, deduplicated rows as a partition file; returns the row count.

    Deterministic bytes for identical rows: fixed row groups, no creation time.
    """
    n = 0
    with pq.ParquetWriter(
        path,
        spec.schema,
        compression="zstd",
        write_statistics=True,
        store_schema=True,
        write_page_checksum=True,  # a CRC per page: a damaged file is found on read
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
    crash_point("writer.before_rename")
    os.replace(staged, target)
    fsync_dir(target.parent)
    crash_point("writer.renamed")


def _finish(spec: TableSpec, batches: Iterable[Chunk], staging: Path, target: Path) -> int:
    """The final stage of every write: the file in ``staging``, then the rename.

    The caller holds the partition's lock and feeds sorted, deduplicated rows; if
    ``batches`` raises, nothing is renamed and the partition keeps its old content.
    Returns the rows written.
    """
    staged = staging / PARTITION_FILE
    rows = _write_final(spec, batches, staged)
    _publish(staged, target)
    return rows


# -- merging in memory -----------------------------------------------------------------


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
    target = partition_file(lake_root, spec.name, key)
    with _locked_staging(lake_root, spec.name, key) as staging:
        staged = staging / PARTITION_FILE
        result = stage_partition(lake_root, spec, key, rows, staged, mode=mode)
        _publish(staged, target)
    return result


def _existing(lake_root: Path, spec: TableSpec, target: Path) -> Path | None:
    """The partition file to merge with, or None when absent or corrupt (quarantined).

    The caller holds the partition's lock. A corrupt file (bad footer, failed page
    checksum, undecodable page) is moved aside and reported, never merged silently.
    """
    if not target.exists():
        return None
    problem = verify_partition(target)  # the merge itself reads with the spec's schema
    if problem is None:
        return target
    quarantine_partition_file(lake_root, target, problem)
    return None


def stage_partition(
    lake_root: Path,
    spec: TableSpec,
    key: PartitionKey,
    rows: pa.Table,
    out: Path,
    *,
    mode: str = "merge",
) -> WriteResult:
    """Merge ``rows`` with the partition in memory and write the result to ``out``.

    Nothing is renamed: the caller holds the partition's lock
    (:func:`data_lake.commit.locked_partition`) and publishes ``out`` itself
    (:class:`data_lake.commit.PartitionCommit`). Parameters as :func:`write_partition`.
    """
    if mode not in ("merge", "replace"):
        raise ValueError(f"mode must be 'merge' or 'replace', not {mode!r}")
    new_rows = _conform(spec, rows)
    target = partition_file(lake_root, spec.name, key)
    existing = _existing(lake_root, spec, target)
    rows_before = 0
    if existing is not None:
        old = pq.read_table(existing, schema=spec.schema, page_checksum_verification=True)
        rows_before = old.num_rows
        if mode == "merge":
            new_rows = pa.concat_tables([old, new_rows])
    rows_after = _write_final(spec, [_dedupe_sorted(spec, new_rows)], out)
    return WriteResult(spec.name, key, target, rows_before, rows.num_rows, rows_after)


# -- merging out of core ---------------------------------------------------------------


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


def _merge_to(
    spec: TableSpec,
    existing: Path | None,
    parts: Sequence[Path],
    out: Path,
    spill: Path,
    memory_limit: str,
) -> int:
    """Merge ``existing`` and the parts with DuckDB (spilling to ``spill``) into ``out``."""
    if existing is None and not parts:
        return _write_final(spec, [], out)
    con = duckdb.connect(config={"memory_limit": memory_limit})
    try:
        con.execute(f"SET temp_directory = {_sql_str(spill / 'spill')}")
        reader = con.sql(_merge_sql(spec, existing, sorted(parts))).to_arrow_reader(
            ROW_GROUP_SIZE
        )
        return _write_final(spec, reader, out)
    finally:
        con.close()


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
    with _locked_staging(lake_root, spec.name, key) as staging:
        staged = staging / PARTITION_FILE
        result = stage_partition_parts(
            lake_root, spec, key, parts, staged, rows_offered=rows_offered,
            memory_limit=memory_limit, spill=staging,
        )
        _publish(staged, target)
    return result


def stage_partition_parts(
    lake_root: Path,
    spec: TableSpec,
    key: PartitionKey,
    parts: Sequence[Path],
    out: Path,
    *,
    rows_offered: int,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    spill: Path,
) -> WriteResult:
    """Merge staged parts with the partition out of core and write the result to ``out``.

    Nothing is renamed (see :func:`stage_partition`); ``spill`` is a staging directory
    for DuckDB's temporary files. Parameters as :func:`merge_partition_parts`.
    """
    target = partition_file(lake_root, spec.name, key)
    existing = _existing(lake_root, spec, target)
    rows_before = partition_rows(existing) if existing is not None else 0
    rows_after = _merge_to(spec, existing, parts, out, spill, memory_limit)
    return WriteResult(spec.name, key, target, rows_before, rows_offered, rows_after)


# -- streaming -------------------------------------------------------------------------


def write_partition_stream(
    lake_root: Path,
    spec: TableSpec,
    key: PartitionKey,
    chunks: Iterable[Chunk],
    *,
    sorted_unique: bool,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> WriteResult:
    """Replace one partition with the rows of a stream of chunks, atomically.

    The chunks are consumed one at a time under the partition's lock, so the whole
    partition is never one table in memory. If the iterator raises, the exception
    propagates and the partition keeps its old content. The file has the bytes
    :func:`write_partition` (``mode="replace"``) gives for the same rows.

    Parameters
    ----------
    lake_root : the lake directory.
    spec : the table's spec; chunks are cast to its schema.
    key : the partition; every row must belong to it.
    chunks : Arrow tables or record batches with the spec's columns.
    sorted_unique : True when the rows come in ``spec.sort`` order with unique keys:
        they go straight to the file, and a row not strictly after the one before it
        aborts the write with a ValueError (this also proves the keys unique when the
        key is the whole sort order, as for every table but trades). False: the
        chunks are spilled to staging parts and sorted and deduplicated out of core
        with DuckDB (later chunks win on equal keys, as in :func:`write_partition`).
    memory_limit : DuckDB memory limit when ``sorted_unique`` is False.
    """
    target = partition_file(lake_root, spec.name, key)
    offered = _Counted(spec, chunks)
    with _locked_staging(lake_root, spec.name, key) as staging:
        existing = _existing(lake_root, spec, target)
        rows_before = partition_rows(existing) if existing is not None else 0
        if sorted_unique:
            rows_after = _finish(spec, _in_sort_order(spec, offered), staging, target)
        else:
            parts = []
            for i, chunk in enumerate(offered):
                parts.append(staging / "parts" / f"part-{i:06d}.parquet")
                write_part(spec, chunk, parts[-1])
            staged = staging / PARTITION_FILE
            rows_after = _merge_to(spec, None, parts, staged, staging, memory_limit)
            _publish(staged, target)
    return WriteResult(spec.name, key, target, rows_before, offered.rows, rows_after)


class _Counted:
    """The chunks of a stream conformed to the spec's schema, counting the rows."""

    def __init__(self, spec: TableSpec, chunks: Iterable[Chunk]) -> None:
        self.spec = spec
        self.chunks = chunks
        self.rows = 0

    def __iter__(self) -> Iterator[pa.Table]:
        for chunk in self.chunks:
            table = chunk if isinstance(chunk, pa.Table) else pa.Table.from_batches([chunk])
            table = _conform(self.spec, table)
            self.rows += table.num_rows
            yield table


def _in_sort_order(spec: TableSpec, chunks: Iterable[pa.Table]) -> Iterator[pa.Table]:
    """Pass the chunks through, checking each row is strictly after the one before it."""
    sort = list(spec.sort)
    before: pa.Table | None = None  # the last row so far, sort columns only
    offset = 0
    for chunk in chunks:
        if chunk.num_rows == 0:
            continue
        keys = chunk.select(sort)
        window = keys if before is None else pa.concat_tables([before, keys])
        bad = _first_not_after(sort, window)
        if bad is not None:
            row = offset + bad - (0 if before is None else 1)
            raise ValueError(
                f"write_partition_stream(sorted_unique=True) for {spec.name!r}: row {row} "
                f"of the stream is not after the row before it in the order {spec.sort} "
                f"({window.slice(bad - 1, 2).to_pylist()}); pass sorted_unique=False to "
                "sort and deduplicate"
            )
        before = keys.slice(keys.num_rows - 1)
        offset += chunk.num_rows
        yield chunk


def _first_not_after(sort: list[str], keys: pa.Table) -> int | None:
    """Index of the first row not strictly after its predecessor (lexicographic), or None."""
    if keys.num_rows < 2:
        return None
    prev, cur = keys.slice(0, keys.num_rows - 1), keys.slice(1)
    after: pa.ChunkedArray | None = None
    for col in reversed(sort):
        greater = pc.greater(cur[col], prev[col])
        if after is None:
            after = greater
        else:
            after = pc.or_(greater, pc.and_(pc.equal(cur[col], prev[col]), after))
    assert after is not None
    not_after = pc.invert(pc.fill_null(after, False))
    if not pc.any(not_after).as_py():
        return None
    return int(pc.index(not_after, True).as_py()) + 1
