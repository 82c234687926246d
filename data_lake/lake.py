"""The lake as one object: write partitions, read symbols over time ranges, run SQL."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from data_lake.catalog import connect, parquet_glob, refresh_catalog
from data_lake.commit import consistent_read
from data_lake.integrity import CorruptFile, verify_lake
from data_lake.partitions import PartitionKey, day_of_ns, partition_file, split_by_date
from data_lake.paths import LakePaths
from data_lake.read_only import ReadOnlyQueryError, require_read_only
from data_lake.schemas import TableSpec, spec
from data_lake.writer import WriteResult, write_partition

__all__ = ["Lake", "ReadOnlyQueryError"]

#: A read spanning more days than this globs the table instead of naming each day's file.
_MAX_NAMED_DAYS = 3660


@dataclass(frozen=True)
class Lake:
    """Handle on ``$MMCAL_HOME``: the Parquet lake, its catalog and its readers."""

    paths: LakePaths

    @classmethod
    def default(cls) -> Lake:
        return cls(LakePaths.default())

    @classmethod
    def at(cls, home: str | os.PathLike[str]) -> Lake:
        return cls(LakePaths.at(home))

    @property
    def root(self) -> Path:
        return self.paths.lake

    # -- writing ---------------------------------------------------------------------

    def write(
        self,
        table: str | TableSpec,
        venue: str,
        symbol: str,
        rows: pa.Table,
        *,
        mode: str = "merge",
        refresh: bool = True,
    ) -> list[WriteResult]:
        """Write rows of one venue/symbol, split into daily partitions by ``ts``."""
        table_spec = spec(table) if isinstance(table, str) else table
        results = [
            write_partition(
                self.root, table_spec, PartitionKey(venue, symbol, day), part, mode=mode
            )
            for day, part in sorted(split_by_date(rows).items())
        ]
        if refresh:
            self.refresh()
        return results

    def write_day(
        self,
        table: str | TableSpec,
        key: PartitionKey,
        rows: pa.Table,
        *,
        mode: str = "merge",
        refresh: bool = True,
    ) -> WriteResult:
        """Write rows into one named partition (no split; the caller vouches for the day)."""
        table_spec = spec(table) if isinstance(table, str) else table
        result = write_partition(self.root, table_spec, key, rows, mode=mode)
        if refresh:
            self.refresh()
        return result

    def refresh(self) -> Path:
        """Rebuild the DuckDB views so they reflect every partition on disk."""
        return refresh_catalog(self.paths)

    def verify(self, *, quarantine: bool = True) -> list[CorruptFile]:
        """Check every partition file (footer, page checksums); move corrupt ones aside."""
        return verify_lake(self.root, quarantine=quarantine)

    # -- reading ---------------------------------------------------------------------

    def read(
        self,
        table: str,
        *,
        symbol: str | None = None,
        venue: str | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        columns: Sequence[str] | None = None,
    ) -> pa.Table:
        """Rows of ``table`` for a symbol and ``[start_ns, end_ns)``, sorted by ts.

        Reads the Parquet files directly (not through the catalog file), so readers
        never wait for a writer's catalog lock. With venue, symbol and both bounds the
        partition files of those days are named outright (no glob over the lake; one
        day reads one file, which is already in sort order); otherwise the hive keys
        prune the glob.
        """
        table_spec = spec(table)
        # The files are named and read under one shared lock: a read sees each
        # multi-partition commit whole or not at all (data_lake.commit).
        with consistent_read(self.root):
            query = self.read_query(
                table, symbol=symbol, venue=venue, start_ns=start_ns, end_ns=end_ns,
                columns=columns,
            )
            if query is None:
                return _empty_with_partitions(table_spec, columns)
            sql, params = query
            con = duckdb.connect()
            try:
                return con.sql(sql, params=params).to_arrow_table()
            except duckdb.IOException as exc:
                if "No files found" in str(exc):
                    return _empty_with_partitions(table_spec, columns)
                raise
            finally:
                con.close()

    def read_query(
        self,
        table: str,
        *,
        symbol: str | None = None,
        venue: str | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        columns: Sequence[str] | None = None,
    ) -> tuple[str, list[object]] | None:
        """The DuckDB SQL and parameters :meth:`read` runs (None: no partition can match).

        ``EXPLAIN ANALYZE`` it to see the files read. Cost: O(days in the range) file
        checks when venue, symbol and both bounds are given, else one glob of the table.
        """
        table_spec = spec(table)
        select = ", ".join(_quote(c) for c in columns) if columns else "*"
        where: list[str] = []
        params: list[object] = []
        if symbol is not None:
            where.append("symbol = ?")
            params.append(symbol)
        if venue is not None:
            where.append("venue = ?")
            params.append(venue)
        if start_ns is not None:
            where.append("ts >= ?")
            params.append(start_ns)
            where.append("date >= ?")
            params.append(day_of_ns(start_ns))
        if end_ns is not None:
            where.append("ts < ?")
            params.append(end_ns)
            where.append("date <= ?")
            params.append(day_of_ns(end_ns - 1))  # the end is exclusive: midnight is the next day
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        files = self._day_files(table_spec.name, venue, symbol, start_ns, end_ns)
        if files is None:
            source = f"'{parquet_glob(self.paths, table_spec.name)}'"
        elif not files:
            return None
        else:
            source = "[" + ", ".join(_literal(str(f)) for f in files) + "]"
        # One file is one day already in sort order; only a multi-file read needs a sort.
        order = ", ".join(_quote(c) for c in ["venue", "symbol", *table_spec.sort])
        order_by = "" if files is not None and len(files) == 1 else f" ORDER BY {order}"
        sql = (
            f"SELECT {select} FROM read_parquet({source}, hive_partitioning = true, "
            "hive_types = {'venue': VARCHAR, 'symbol': VARCHAR, 'date': DATE})"
            f"{clause}{order_by}"
        )
        return sql, params

    def _day_files(
        self,
        table: str,
        venue: str | None,
        symbol: str | None,
        start_ns: int | None,
        end_ns: int | None,
    ) -> list[Path] | None:
        """The existing partition files of ``venue/symbol`` on the days ``[start, end)``
        touches, oldest first; None when the read is not that narrow (glob instead)."""
        if venue is None or symbol is None or start_ns is None or end_ns is None:
            return None
        if end_ns <= start_ns:
            return []
        first, last = day_of_ns(start_ns), day_of_ns(end_ns - 1)
        n_days = (last - first).days + 1
        if n_days > _MAX_NAMED_DAYS:
            return None
        try:
            keys = [
                PartitionKey(venue, symbol, first + dt.timedelta(days=d)) for d in range(n_days)
            ]
        except ValueError:  # a name no partition directory can have: nothing to read
            return []
        files = [partition_file(self.root, table, k) for k in keys]
        return [f for f in files if f.exists()]

    def frame(self, table: str, **kwargs: object) -> pd.DataFrame:
        """Like :meth:`read`, as a pandas DataFrame."""
        return self.read(table, **kwargs).to_pandas()  # type: ignore[arg-type]

    def sql(self, query: str) -> pd.DataFrame:
        """Run one read-only query (SELECT, EXPLAIN...) on a read-only catalog connection.

        Statements that could change anything (DDL, DML, COPY, ATTACH, SET, INSTALL...)
        are refused with :class:`ReadOnlyQueryError` before they run. A query sees
        each multi-partition commit whole or not at all (:mod:`data_lake.commit`).
        """
        require_read_only(query)
        with consistent_read(self.root):
            con = connect(self.paths, read_only=True)
            try:
                return con.execute(query).fetchdf()
            except duckdb.CatalogException:
                # A view missing from a catalog left stale: rebuild once and retry.
                con.close()
                refresh_catalog(self.paths, force=True)
                con = connect(self.paths, read_only=True)
                return con.execute(query).fetchdf()
            finally:
                con.close()


def _literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _quote(identifier: str) -> str:
    """A SQL identifier, quoted (the quarantine table has a column named ``table``)."""
    return '"' + identifier.replace('"', '""') + '"'


def _empty_with_partitions(table_spec: TableSpec, columns: Sequence[str] | None) -> pa.Table:
    schema = table_spec.schema
    for name, typ in (("venue", pa.string()), ("symbol", pa.string()), ("date", pa.date32())):
        schema = schema.append(pa.field(name, typ))
    empty = schema.empty_table()
    return empty.select(list(columns)) if columns else empty
