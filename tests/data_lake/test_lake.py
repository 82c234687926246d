from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from data_lake.lake import Lake

DAY_NS = int(dt.datetime(2024, 8, 8, tzinfo=dt.UTC).timestamp()) * 1_000_000_000
HOUR_NS = 3_600_000_000_000


def trades(ts: np.ndarray, prefix: str) -> pa.Table:
    n = len(ts)
    return pa.table(
        {
            "ts": ts.astype(np.int64),
            "price": np.full(n, 100.0),
            "size": np.full(n, 1.0),
            "side": np.ones(n, np.int8),
            "trade_id": [f"{prefix}{i}" for i in range(n)],
            "recv_ts": ts.astype(np.int64),
        }
    )


def test_views_reflect_every_write(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    assert lake.sql("select count(*) as n from trades")["n"].iloc[0] == 0
    lake.write("trades", "binance", "BTCUSDT", trades(DAY_NS + np.arange(10), "a"))
    assert lake.sql("select count(*) as n from trades")["n"].iloc[0] == 10
    lake.write("trades", "binance", "ETHUSDT", trades(DAY_NS + np.arange(3), "b"))
    counts = lake.sql("select symbol, count(*) as n from trades group by 1 order by 1")
    assert counts.to_dict("list") == {"symbol": ["BTCUSDT", "ETHUSDT"], "n": [10, 3]}


def test_rows_spanning_midnight_land_in_two_daily_partitions(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    ts = DAY_NS + 23 * HOUR_NS + np.arange(0, 2 * HOUR_NS, HOUR_NS // 2)
    results = lake.write("trades", "binance", "BTCUSDT", trades(ts, "m"))
    assert [r.key.date.isoformat() for r in results] == ["2024-08-08", "2024-08-09"]
    assert [r.rows_after for r in results] == [2, 2]


def test_readers_select_by_symbol_venue_and_half_open_time_range(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    ts = DAY_NS + np.arange(48) * HOUR_NS  # two days, hourly
    lake.write("trades", "binance", "BTCUSDT", trades(ts, "x"))
    lake.write("trades", "hyperliquid", "BTC", trades(ts, "y"))
    start, end = DAY_NS + 20 * HOUR_NS, DAY_NS + 30 * HOUR_NS
    got = lake.read("trades", symbol="BTCUSDT", start_ns=start, end_ns=end)
    assert got["ts"].to_pylist() == list(range(start, end, HOUR_NS))
    assert set(got["symbol"].to_pylist()) == {"BTCUSDT"}
    frame = lake.frame("trades", venue="hyperliquid", columns=["ts", "trade_id"])
    assert list(frame.columns) == ["ts", "trade_id"] and len(frame) == 48
    assert lake.read("trades", symbol="NOPE").num_rows == 0
    assert lake.read("book").num_rows == 0  # a table with no files reads empty


def test_catalog_works_from_another_working_directory(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path / "home")
    lake.write("trades", "binance", "BTCUSDT", trades(DAY_NS + np.arange(7), "c"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(con.execute('select count(*) from trades').fetchone()[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(lake.paths.catalog)],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "7"


def test_unknown_table_and_unsafe_symbol_are_refused(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    with pytest.raises(ValueError, match="unknown lake table"):
        lake.read("nope")
    with pytest.raises(ValueError, match="cannot name a partition"):
        lake.write("trades", "binance", "BTC/USDT", trades(DAY_NS + np.arange(2), "d"))
