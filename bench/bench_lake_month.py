"""Benchmark: the lake with a month of partitions (catalog refresh, `lake stats`, pruning).

Builds (once, cached under ``$MMCAL_HOME/bench_lake_month`` or ``--home``) 31 days x 3
symbols x 2 venues of trades and bbo (``--rows`` rows per partition, random walks), then
prints the wall time of: a catalog rebuild (views recreated), a refresh with nothing new
(the stamp check), ``lake stats trades`` (the CLI command, in-process), one symbol-day
read through ``Lake.read``, the same day through the catalog's view, and the files each
day query read (DuckDB's EXPLAIN ANALYZE: "Total Files Read").

Run: .venv/bin/python bench/bench_lake_month.py [--rows 20000] [--home DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from data_lake.catalog import connect
from data_lake.lake import Lake
from data_lake.partitions import PartitionKey, day_window_ns, partition_file
from data_lake.paths import mmcal_home
from data_lake.schemas import BBO, TRADES

VENUES = ("alpha", "beta")
SYMBOLS = ("AAA", "BBB", "CCC")
DAYS = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(31)]
DAY = dt.date(2026, 1, 15)


def _day_tables(day: dt.date, rows: int, rng: np.random.Generator) -> dict[str, pa.Table]:
    start, _ = day_window_ns(day)
    ts = start + np.sort(rng.integers(0, 86_400_000_000_000, rows)).astype(np.int64)
    ts = np.maximum.accumulate(ts + np.arange(rows))  # strictly increasing
    mid = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-4, rows)))
    trades = pa.table(
        {
            "ts": ts,
            "price": mid,
            "size": rng.exponential(1.0, rows),
            "side": pa.array(rng.choice([-1, 1], rows).astype(np.int8), pa.int8()),
            "trade_id": [f"{day:%Y%m%d}-{i:08d}" for i in range(rows)],
            "recv_ts": ts + 5_000_000,
        },
        schema=TRADES.schema,
    )
    bbo = pa.table(
        {
            "ts": ts,
            "seq": np.zeros(rows, np.int64),
            "bid_px": mid - 0.01,
            "bid_sz": rng.exponential(1.0, rows),
            "ask_px": mid + 0.01,
            "ask_sz": rng.exponential(1.0, rows),
            "recv_ts": ts + 5_000_000,
        },
        schema=BBO.schema,
    )
    return {"trades": trades, "bbo": bbo}


def build(lake: Lake, rows: int) -> None:
    rng = np.random.default_rng(0)
    for venue in VENUES:
        for symbol in SYMBOLS:
            for day in DAYS:
                key = PartitionKey(venue, symbol, day)
                if partition_file(lake.root, "bbo", key).exists():
                    continue
                for table, data in _day_tables(day, rows, rng).items():
                    lake.write_day(table, key, data, mode="replace", refresh=False)


def _timed(label: str, fn: object, repeat: int = 1) -> object:
    out = None
    t0 = time.perf_counter()
    for _ in range(repeat):
        out = fn()  # type: ignore[operator]
    print(f"  {label:<44}{(time.perf_counter() - t0) / repeat * 1e3:10.1f} ms")
    return out


def _files_read(plan: str) -> str:
    found = re.search(r"Scanning Files:\s*(\d+/\d+)", plan) or re.search(
        r"Total Files Read:\s*(\d+)", plan
    )
    return found.group(1) if found else "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows per partition")
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args()
    home = args.home or mmcal_home() / "bench_lake_month"
    lake = Lake.at(home)
    t0 = time.perf_counter()
    build(lake, args.rows)
    n_files = len(list(lake.root.glob("*/venue=*/symbol=*/date=*/data.parquet")))
    print(
        f"lake with a month of partitions: {home} ({n_files} files, {args.rows:,} rows "
        f"each; ready in {time.perf_counter() - t0:.1f} s)"
    )

    def rebuild() -> None:
        (home / ".lake.duckdb.views").unlink(missing_ok=True)
        lake.refresh()

    _timed("catalog rebuild (every view recreated)", rebuild)
    _timed("catalog refresh, nothing new (x20)", lake.refresh, repeat=20)

    from typer.testing import CliRunner

    from data_lake.cli import app

    os.environ["MMCAL_HOME"] = str(home)
    runner = CliRunner()
    result = _timed(
        "lake stats trades (CLI, in-process)", lambda: runner.invoke(app, ["stats", "trades"])
    )
    if result.exit_code != 0:  # type: ignore[attr-defined]
        print(result.output)  # type: ignore[attr-defined]
        return 1

    start, end = day_window_ns(DAY)
    _timed(
        "Lake.read one symbol-day of trades (x10)",
        lambda: lake.read("trades", venue="beta", symbol="BBB", start_ns=start, end_ns=end),
        repeat=10,
    )
    view_sql = (
        f"SELECT * FROM trades WHERE venue = 'beta' AND symbol = 'BBB' AND date = DATE '{DAY}'"
    )
    con = connect(lake.paths)
    try:
        _timed(
            "catalog view, one symbol-day (x10)",
            lambda: con.sql(view_sql).to_arrow_table(),
            repeat=10,
        )
        view_plan = con.execute(f"EXPLAIN ANALYZE {view_sql}").fetchall()[0][1]
    finally:
        con.close()
    print(f"  files read by the view's day query           {_files_read(view_plan)}")
    if hasattr(lake, "read_query"):  # older code: no way to see Lake.read's plan
        query = lake.read_query("trades", venue="beta", symbol="BBB", start_ns=start, end_ns=end)
        assert query is not None
        raw = duckdb.connect()
        read_plan = raw.execute(f"EXPLAIN ANALYZE {query[0]}", query[1]).fetchall()[0][1]
        raw.close()
        print(f"  files read by Lake.read of the day           {_files_read(read_plan)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
