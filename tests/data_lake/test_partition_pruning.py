"""Partition pruning on a month-long lake: a query filtered on venue, symbol and date reads
that day's file only (DuckDB's EXPLAIN ANALYZE counts the files read)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from data_lake.catalog import connect
from data_lake.lake import Lake
from data_lake.partitions import PartitionKey, day_window_ns, partition_file
from data_lake.schemas import TRADES

VENUES = ("alpha", "beta")
SYMBOLS = ("AAA", "BBB")
DAYS = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(31)]
ROWS_PER_DAY = 5
DAY = dt.date(2026, 1, 15)


def _trades(day: dt.date) -> pa.Table:
    start, _ = day_window_ns(day)
    ts = start + np.arange(ROWS_PER_DAY, dtype=np.int64) * 1_000_000_000
    return pa.table(
        {
            "ts": pa.array(ts, pa.int64()),
            "price": pa.array(np.full(ROWS_PER_DAY, 100.0)),
            "size": pa.array(np.ones(ROWS_PER_DAY)),
            "side": pa.array(np.ones(ROWS_PER_DAY, np.int8), pa.int8()),
            "trade_id": pa.array([f"{day}-{i}" for i in range(ROWS_PER_DAY)]),
            "recv_ts": pa.array(ts + 5, pa.int64()),
        },
        schema=TRADES.schema,
    )


@pytest.fixture(scope="module")
def month_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """31 days x 2 venues x 2 symbols of trades: 124 small partitions."""
    lake = Lake.at(tmp_path_factory.mktemp("month_lake"))
    for venue in VENUES:
        for symbol in SYMBOLS:
            for day in DAYS:
                lake.write_day(
                    "trades", PartitionKey(venue, symbol, day), _trades(day), refresh=False
                )
    lake.refresh()
    return lake


def _files_read(plan: str) -> tuple[int, list[str]]:
    """(files read, their paths) from an EXPLAIN ANALYZE of one Parquet scan."""
    found = re.search(r"Total Files Read:\s*(\d+)", plan)
    assert found, f"no file count in the plan:\n{plan}"
    return int(found.group(1)), re.findall(r"/[^\s│,]*data\.parquet", plan)


def test_catalog_view_reads_only_the_days_file(month_lake: Lake) -> None:
    con = connect(month_lake.paths)
    try:
        assert con.execute("SELECT count(*) FROM trades").fetchone() == (124 * ROWS_PER_DAY,)
        plan = con.execute(
            "EXPLAIN ANALYZE SELECT count(*), min(ts) FROM trades "
            f"WHERE venue = 'alpha' AND symbol = 'AAA' AND date = DATE '{DAY}'"
        ).fetchall()[0][1]
    finally:
        con.close()
    n_files, paths = _files_read(plan)
    assert n_files == 1
    assert "Scanning Files: 1/124" in plan
    expected = partition_file(month_lake.root, "trades", PartitionKey("alpha", "AAA", DAY))
    assert paths == [str(expected)]


def test_lake_read_of_one_day_names_that_days_file_only(month_lake: Lake) -> None:
    start, end = day_window_ns(DAY)
    query = month_lake.read_query("trades", venue="beta", symbol="BBB", start_ns=start, end_ns=end)
    assert query is not None
    sql, params = query
    con = duckdb.connect()
    try:
        plan = con.execute(f"EXPLAIN ANALYZE {sql}", params).fetchall()[0][1]
    finally:
        con.close()
    n_files, paths = _files_read(plan)
    assert n_files == 1  # midnight, the exclusive end, does not pull in the next day
    assert paths == [
        str(partition_file(month_lake.root, "trades", PartitionKey("beta", "BBB", DAY)))
    ]
    rows = month_lake.read("trades", venue="beta", symbol="BBB", start_ns=start, end_ns=end)
    assert rows.num_rows == ROWS_PER_DAY
    assert set(rows.column("date").to_pylist()) == {DAY}
    assert rows.column("ts").to_pylist() == sorted(rows.column("ts").to_pylist())


def test_lake_read_over_days_is_sorted_and_reads_those_days(month_lake: Lake) -> None:
    start, _ = day_window_ns(DAY)
    _, end = day_window_ns(DAY + dt.timedelta(days=2))
    rows = month_lake.read("trades", venue="alpha", symbol="BBB", start_ns=start + 1, end_ns=end)
    assert rows.num_rows == 3 * ROWS_PER_DAY - 1
    ts = rows.column("ts").to_pylist()
    assert ts == sorted(ts)
    # Same rows as the catalog's view over the whole month, filtered.
    via_view = month_lake.sql(
        f"SELECT ts FROM trades WHERE venue = 'alpha' AND symbol = 'BBB' AND ts >= {start + 1} "
        f"AND ts < {end} ORDER BY ts"
    )
    assert via_view["ts"].tolist() == ts


def test_lake_read_of_absent_days_or_unsafe_names_is_empty(
    month_lake: Lake, tmp_path: Path
) -> None:
    start, end = day_window_ns(dt.date(2027, 1, 1))
    assert (
        month_lake.read_query("trades", venue="alpha", symbol="AAA", start_ns=start, end_ns=end)
        is None
    )
    empty = month_lake.read("trades", venue="alpha", symbol="AAA", start_ns=start, end_ns=end)
    assert empty.num_rows == 0 and "date" in empty.column_names
    odd = month_lake.read("trades", venue="alpha", symbol="A'A/*", start_ns=start, end_ns=end)
    assert odd.num_rows == 0


def test_lake_stats_over_the_month_counts_from_the_footers(
    month_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from data_lake.cli import app

    monkeypatch.setenv("MMCAL_HOME", str(month_lake.paths.home))
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["stats", "trades"])
    assert result.exit_code == 0, result.output
    per_symbol = [line for line in result.output.splitlines() if "AAA" in line or "BBB" in line]
    assert len(per_symbol) == len(VENUES) * len(SYMBOLS)
    rows = f"{len(DAYS) * ROWS_PER_DAY:,}"
    assert all(rows in line for line in per_symbol), per_symbol
    assert all("2026-01-01 00:00:00.000" in line for line in per_symbol)
    assert all("2026-01-31 00:00:04.000" in line for line in per_symbol)
    assert "price" in result.output and "100" in result.output
