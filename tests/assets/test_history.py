"""The trailing window: gated source partitions only, contiguous, derived after checks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from assets.derived import derive_day, write_derived
from assets.history import HistoryError, load_history
from data_lake.lake import Lake
from data_lake.partitions import DAY_NS, PartitionKey, day_window_ns
from data_lake.quality import CheckOutcome
from data_lake.quality_store import QualityGateError, fingerprints, save_quality

FIT_DAY = dt.date(2026, 1, 12)
SYMBOL = "SOL"


def _ingest(
    lake: Lake, day: dt.date, *, checked: bool = True, passed: bool = True, symbol: str = SYMBOL
) -> None:
    """A small day of trades and bbo, its quality record (optional), then its derived tables."""
    rng = np.random.default_rng(day.toordinal())
    start, _ = day_window_ns(day)
    ts = np.sort(start + rng.integers(0, DAY_NS, 2_000))
    price = 150.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-4, ts.size)))
    trades = pa.table(
        {
            "ts": ts,
            "price": price,
            "size": rng.exponential(1.0, ts.size),
            "side": rng.choice(np.array([-1, 1], np.int8), ts.size),
            "trade_id": [f"{day}-{i}" for i in range(ts.size)],
            "recv_ts": ts,
        }
    )
    bbo = pa.table(
        {
            "ts": ts,
            "seq": np.arange(ts.size),
            "bid_px": price - 0.01,
            "bid_sz": np.ones(ts.size),
            "ask_px": price + 0.01,
            "ask_sz": np.ones(ts.size),
            "recv_ts": ts,
        }
    )
    key = PartitionKey("synthetic", symbol, day)
    lake.write_day("trades", key, trades, refresh=False)
    lake.write_day("bbo", key, bbo, refresh=False)
    if checked:
        files = fingerprints(lake.paths, "synthetic", symbol, day, ("trades", "bbo"))
        outcomes = [
            CheckOutcome("positive_trade_prices", passed, True, "price > 0", table="trades"),
            CheckOutcome("bbo_not_crossed", True, True, "ask > bid", table="bbo"),
        ]
        save_quality(lake.paths, "synthetic", symbol, day, outcomes, files=files)
    frame = trades.to_pandas()
    quotes = pd.DataFrame({"ts": ts, "mid": price})
    write_derived(lake.root, key, derive_day(day, frame, quotes))


def _days(n: int) -> list[dt.date]:
    return [FIT_DAY - dt.timedelta(days=k) for k in range(n)][::-1]


def test_window_lists_every_checked_day_and_spans_them(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    for day in _days(8):
        _ingest(lake, day)
    history = load_history(lake, "synthetic", SYMBOL, FIT_DAY, 8)
    assert history.days == tuple(_days(8))
    assert history.partitions[0] == f"synthetic/{SYMBOL}/{_days(8)[0]}"
    assert history.window_ns == (day_window_ns(_days(8)[0])[0], day_window_ns(FIT_DAY)[1])
    assert len(history.rv_5m) == 8 * 288 and len(history.volume_1h) == 8 * 24
    assert {r.partition for r in history.inputs.records} == set(history.partitions)
    assert {r.table for r in history.inputs.records} == {"trades", "bbo"}


def test_window_stops_at_a_day_never_ingested(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    days = _days(8)
    for day in days:
        if day != days[3]:
            _ingest(lake, day)
    history = load_history(lake, "synthetic", SYMBOL, FIT_DAY, 8)
    assert history.days == tuple(days[4:])


@pytest.mark.parametrize(
    ("checked", "passed", "reason"),
    [(False, True, "never checked"), (True, False, "failed blocking")],
)
def test_an_unchecked_or_failed_day_in_the_window_stops_the_fit(
    tmp_path: Path, checked: bool, passed: bool, reason: str
) -> None:
    lake = Lake.at(tmp_path)
    days = _days(8)
    for day in days:
        _ingest(lake, day, checked=checked or day != days[2], passed=passed or day != days[2])
    with pytest.raises(QualityGateError, match=f"{days[2]}.*{reason}"):
        load_history(lake, "synthetic", SYMBOL, FIT_DAY, 8)


def test_a_day_without_derived_tables_is_named(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    days = _days(3)
    for day in days:
        _ingest(lake, day)
    (lake.root / "rv_5m" / f"venue=synthetic/symbol={SYMBOL}/date={days[0]}/data.parquet").unlink()
    with pytest.raises(HistoryError, match=f"{days[0]}.*derived_day"):
        load_history(lake, "synthetic", SYMBOL, FIT_DAY, 3)


def test_a_day_checked_again_after_its_derivation_must_be_derived_again(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    days = _days(2)
    for day in days:
        _ingest(lake, day)
    files = fingerprints(lake.paths, "synthetic", SYMBOL, days[1], ("trades", "bbo"))
    outcomes = [
        CheckOutcome("positive_trade_prices", True, True, "price > 0", table="trades"),
        CheckOutcome("bbo_not_crossed", True, True, "ask > bid", table="bbo"),
    ]
    save_quality(lake.paths, "synthetic", SYMBOL, days[1], outcomes, files=files)
    with pytest.raises(HistoryError, match=f"{days[1]}.*derived_day"):
        load_history(lake, "synthetic", SYMBOL, FIT_DAY, 2)
