"""The synthetic market reads like the real recordings: same tables, same columns, sweeps."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from data_lake.lake import Lake
from data_lake.sources.synthetic import generate_symbol_day, write_book
from data_lake.writer import PartitionKey

DAY = dt.date(2026, 1, 5)


def test_synthetic_tables_read_back_like_the_real_ones(real_lake: Lake, tmp_path: Path) -> None:
    day = generate_symbol_day("BTC", DAY, seed=3, duration_s=600.0)
    lake = Lake.at(tmp_path)
    key = PartitionKey("synthetic", "BTC", DAY)
    for name in ("trades", "bbo", "funding"):
        lake.write_day(name, key, day.tables[name], mode="replace", refresh=False)
    write_book(lake, key, day.book)
    for table in ("trades", "book", "bbo"):
        real = real_lake.frame(table, symbol="BTCUSDT")
        synthetic = lake.frame(table, symbol="BTC")
        assert len(real) > 0 and len(synthetic) > 0
        assert list(synthetic.columns) == list(real.columns), table
        assert synthetic.dtypes.astype(str).to_dict() == real.dtypes.astype(str).to_dict(), table
    # Both print several trades at one timestamp when an order sweeps levels.
    for frame in (real_lake.frame("trades", symbol="BTCUSDT"), lake.frame("trades", symbol="BTC")):
        prints = frame.groupby(["ts", "side"]).size()
        assert prints.max() > 3
        assert prints.mean() > 1.2
