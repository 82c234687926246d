"""Rates per second divide by the recorded span, not the calendar day."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from assets.features import DayFeatures
from data_lake.partitions import day_window_ns

DAY = dt.date(2024, 8, 8)


def _features(trade_ts: np.ndarray, quote_ts: np.ndarray) -> DayFeatures:
    empty = pd.DataFrame()
    return DayFeatures(
        venue="binance",
        symbol="BTCUSDT",
        day=DAY,
        trades=pd.DataFrame({"ts": trade_ts}) if trade_ts.size else empty,
        quotes=pd.DataFrame({"ts": quote_ts}) if quote_ts.size else empty,
        book_levels={},
        funding=empty,
        bars_1m=empty,
        volume_bars=empty,
    )


def test_a_partial_recording_spans_its_first_to_last_event() -> None:
    start, _ = day_window_ns(DAY)
    t0 = start + 13 * 3_600_000_000_000  # 13:00 UTC
    quotes = t0 + np.arange(0, 345_000_000_000, 100_000_000)  # 345 s of quotes
    trades = t0 + np.array([5_000_000_000, 346_000_000_000])  # a print just after them
    first, last = _features(trades, quotes).observed_ns
    assert first == t0 and last == t0 + 346_000_000_000


def test_a_day_without_events_falls_back_to_the_calendar_day() -> None:
    none = np.array([], dtype=np.int64)
    assert _features(none, none).observed_ns == day_window_ns(DAY)
