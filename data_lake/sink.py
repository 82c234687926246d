"""Staged, bounded-memory writes of many partitions, committed at the end of an import.

Importers hand finished Arrow batches to a :class:`LakeSink`. It keeps recent batches
in memory up to a byte budget and spills the largest to Parquet parts under
``lake/.staging/<pid>-<uuid>/``; at commit it merges each touched partition into a
staged file (in memory with pyarrow when the partition never spilled and fits the
budget together with what it already holds, out of core with DuckDB under a memory
limit otherwise) and publishes them all at once (:mod:`data_lake.commit`).
Both merges give the same bytes for the same rows, so memory does not grow with the
input and the output does not depend on the budget.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from data_lake.commit import PartitionCommit, locked_partition, recover_commits
from data_lake.partitions import PartitionKey, partition_file, partition_rows, split_by_date
from data_lake.schemas import spec
from data_lake.writer import (
    WriteResult,
    clean_stale_staging,
    new_staging_dir,
    stage_partition,
    stage_partition_parts,
    write_part,
)

if TYPE_CHECKING:
    from data_lake.lake import Lake

__all__ = ["LakeSink"]

log = logging.getLogger(__name__)


class LakeSink:
    """Staged, bounded-memory writes of many partitions, committed at the end.

    Parameters
    ----------
    lake : the lake to write.
    memory_bytes : Arrow bytes kept in memory across partitions before spilling the
        largest to staging parts.
    memory_limit : DuckDB's memory limit for out-of-core merges.
    """

    def __init__(
        self, lake: Lake, *, memory_bytes: int = 128 << 20, memory_limit: str = "512MB"
    ) -> None:
        self.lake = lake
        self.memory_bytes = memory_bytes
        self.memory_limit = memory_limit
        recover_commits(lake.root)  # an import killed mid-publish is finished first
        clean_stale_staging(lake.root)
        self._staging: Path | None = None
        self._pending: dict[tuple[str, PartitionKey], list[pa.Table]] = {}
        self._pending_bytes: dict[tuple[str, PartitionKey], int] = {}
        self._parts: dict[tuple[str, PartitionKey], list[Path]] = {}
        self._offered: Counter[tuple[str, PartitionKey]] = Counter()
        self.rows_offered: Counter[str] = Counter()
        self.spills = 0

    def add(
        self, table: str, venue: str, symbol: str, rows: pa.Table, *, day: dt.date | None = None
    ) -> None:
        """Queue rows of one venue/symbol; split by UTC day of ``ts`` unless ``day``."""
        if rows.num_rows == 0:
            return
        days = {day: rows} if day is not None else split_by_date(rows)
        for d, part in days.items():
            tk = (table, PartitionKey(venue, symbol, d))
            self._pending.setdefault(tk, []).append(part)
            self._pending_bytes[tk] = self._pending_bytes.get(tk, 0) + part.nbytes
            self._offered[tk] += part.num_rows
            self.rows_offered[table] += part.num_rows
        while sum(self._pending_bytes.values()) > self.memory_bytes:
            largest = max(self._pending_bytes, key=lambda k: self._pending_bytes[k])
            self._spill(largest)

    def _spill(self, tk: tuple[str, PartitionKey]) -> None:
        tables = self._pending.pop(tk, [])
        self._pending_bytes.pop(tk, None)
        if not tables:
            return
        if self._staging is None:
            self._staging = new_staging_dir(self.lake.root)
        parts = self._parts.setdefault(tk, [])
        table, key = tk
        path = self._staging / table / key.relpath() / f"part-{len(parts):06d}.parquet"
        write_part(spec(table), pa.concat_tables(tables), path)
        parts.append(path)
        self.spills += 1

    def commit(self) -> list[WriteResult]:
        """Merge everything into the lake, all partitions at once; refresh the views.

        Every touched partition's lock is taken (sorted, so two imports never deadlock)
        and held until the end; each merged file is staged, then all are renamed into
        place together (:class:`data_lake.commit.PartitionCommit`): a crash at any point
        leaves the lake as before the import or, after recovery, as after it.

        A partition that never spilled and fits the memory budget together with what it
        already holds merges in memory; the others merge out of core. Both give the same
        bytes for the same rows.
        """
        results: list[WriteResult] = []
        keys = sorted(set(self._pending) | set(self._parts), key=_sort_key)
        root = self.lake.root
        try:
            if keys:
                with ExitStack() as locks, PartitionCommit(root) as staged:
                    for table, key in keys:
                        locks.enter_context(locked_partition(root, table, key))
                    for tk in keys:
                        results.append(self._stage(tk, staged))
                    staged.publish()
        finally:
            self.abort()
        if results:
            try:
                self.lake.refresh()
            except (OSError, duckdb.Error) as exc:
                # The partitions are committed; the next reader rebuilds the views.
                log.warning("import committed, but the catalog refresh failed (%s); it is "
                            "rebuilt on the next query", exc)
        return results

    def _stage(self, tk: tuple[str, PartitionKey], staged: PartitionCommit) -> WriteResult:
        """Merge one partition's rows with what it holds into a file of the commit."""
        table, key = tk
        table_spec = spec(table)
        pending = self._pending.pop(tk, [])
        est = self._pending_bytes.pop(tk, 0)
        rows = sum(t.num_rows for t in pending)
        existing = _rows_or_zero(partition_file(self.lake.root, table, key))
        fits = est + (est // max(rows, 1)) * existing <= self.memory_bytes
        out = staged.staged_path()
        if tk not in self._parts and fits:
            merged = pa.concat_tables(pending)
            result = stage_partition(self.lake.root, table_spec, key, merged, out)
        else:
            self._pending[tk] = pending
            self._pending_bytes[tk] = est
            self._spill(tk)
            assert self._staging is not None  # _spill made it
            result = stage_partition_parts(
                self.lake.root,
                table_spec,
                key,
                self._parts[tk],
                out,
                rows_offered=self._offered[tk],
                memory_limit=self.memory_limit,
                spill=self._staging,
            )
        staged.add(table, key, out)
        return result

    def abort(self) -> None:
        """Drop staged parts (the lake is untouched by what was not committed)."""
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        self._pending.clear()
        self._pending_bytes.clear()
        self._parts.clear()


def _sort_key(tk: tuple[str, PartitionKey]) -> tuple[str, str, str, dt.date]:
    return (tk[0], tk[1].venue, tk[1].symbol, tk[1].date)


def _rows_or_zero(path: Path) -> int:
    """Rows in a partition file from its footer; 0 when absent or unreadable (corrupt)."""
    try:
        return partition_rows(path)
    except (OSError, pa.ArrowException):
        return 0
