"""The trailing window: checked partitions only, contiguous, listed in the document."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from assets.derived import derive_day, write_derived
from assets.history import HistoryError, load_history
from assets.param_building import build_document
from data_lake.lake import Lake
from data_lake.partitions import DAY_NS, PartitionKey, day_window_ns
from data_lake.quality import CheckOutcome
from data_lake.quality_store import save_quality
from tests.assets.test_param_building import _fits

FIT_DAY = dt.date(2026, 1, 12)
SYMBOL = "SOL"


def _ingest(lake: Lake, day: dt.date, *, checked: bool = True, passed: bool = True) -> None:
    """A small day of trades, its derived tables and (optionally) its quality record."""
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
    key = PartitionKey("synthetic", SYMBOL, day)
    lake.write_day("trades", key, trades, refresh=False)
    frame = trades.to_pandas()
    write_derived(lake.root, key, derive_day(day, frame, pd.DataFrame({"ts": ts, "mid": price})))
    if checked:
        outcome = CheckOutcome("no_crossed_books", passed, True, "best ask > best bid")
        save_quality(lake.paths, "synthetic", SYMBOL, day, [outcome])


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
    fits = _fits()
    for fit in fits.values():
        if fit.result is not None:
            fit.result.to_dict = dict  # the stand-in results have no JSON view of their own
    doc = build_document(
        symbol=SYMBOL,
        venue="synthetic",
        day=FIT_DAY,
        window_ns=history.window_ns,
        fits=fits,
        quality=history.quality[FIT_DAY],
        code_version="test",
        history_quality=history.quality,
    )
    assert doc["partitions"] == history.partitions
    assert doc["window"] == {"start_ns": history.window_ns[0], "end_ns": history.window_ns[1]}
    assert {q["partition"] for q in doc["quality"]} == set(history.partitions)
    assert all(q["passed"] for q in doc["quality"])


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
    with pytest.raises(HistoryError, match=f"{days[2]}.*{reason}"):
        load_history(lake, "synthetic", SYMBOL, FIT_DAY, 8)


def test_a_day_without_derived_tables_is_named(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    days = _days(3)
    for day in days:
        _ingest(lake, day)
    (lake.root / "rv_5m" / f"venue=synthetic/symbol={SYMBOL}/date={days[0]}/data.parquet").unlink()
    with pytest.raises(HistoryError, match=f"derived_day.*|{days[0]}"):
        load_history(lake, "synthetic", SYMBOL, FIT_DAY, 3)
