"""Derived per-partition tables: their content, and atomic, idempotent writes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import data_lake.writer as writer
from assets.derived import derive_day, mid_grid, write_derived
from calibration.volatility.rv_series import realized_variance_series, rv_bars, series_from_bars
from data_lake.partitions import DAY_NS, PartitionKey, day_window_ns, partition_file

DAY = dt.date(2026, 1, 5)
KEY = PartitionKey("synthetic", "BTC", DAY)


def _day(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A random-walk mid quoted every ~0.5 s and trades every ~2 s over one UTC day."""
    rng = np.random.default_rng(seed)
    start, _ = day_window_ns(DAY)
    q_ts = np.sort(start + rng.integers(0, DAY_NS, 170_000))
    mid = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 2e-5, q_ts.size)))
    t_ts = np.sort(start + rng.integers(0, DAY_NS, 40_000))
    quotes = pd.DataFrame({"ts": q_ts, "mid": mid})
    trades = pd.DataFrame({"ts": t_ts, "size": rng.exponential(0.3, t_ts.size)})
    return trades, quotes


def test_tables_summarise_the_day() -> None:
    trades, quotes = _day(1)
    tables = derive_day(DAY, trades, quotes)
    start, _ = day_window_ns(DAY)
    mids = tables["mid_1s"].to_pandas()
    assert len(mids) == 86_400 and mids["ts"].iloc[0] == start
    # Previous tick: the mid at second k is the last quote at or before it.
    k = 43_210
    ts_k = start + k * 1_000_000_000
    last = quotes["mid"].to_numpy()[np.searchsorted(quotes["ts"], ts_k, side="right") - 1]
    assert mids["mid"].iloc[k] == last
    rv = tables["rv_5m"].to_pandas()
    assert len(rv) == 288 and (rv["n_returns"] == 300).all()
    _, grid_mid = mid_grid(DAY, quotes["ts"].to_numpy(), quotes["mid"].to_numpy())
    r = np.diff(np.log(grid_mid))
    assert rv["rv"].sum() == pytest.approx(float(np.sum(r**2)), rel=1e-12)
    assert rv["ret"].sum() == pytest.approx(float(np.log(grid_mid[-1] / grid_mid[0])), abs=1e-12)
    hours = tables["volume_1h"].to_pandas()
    assert len(hours) == 24 and hours["n_trades"].sum() == len(trades)
    assert hours["volume"].sum() == pytest.approx(trades["size"].sum(), rel=1e-12)


def test_stored_bars_give_the_tick_series_of_the_same_day() -> None:
    """Without noise correction the series from bars is the one from the prices."""
    _, quotes = _day(2)
    grid_ts, grid_mid = mid_grid(DAY, quotes["ts"].to_numpy(), quotes["mid"].to_numpy())
    direct = realized_variance_series(grid_ts, grid_mid, noise_correction="none")
    stored = series_from_bars(
        rv_bars(np.log(grid_mid), 300), interval_s=300, sample_interval_s=1, noise_correction="none"
    )
    np.testing.assert_allclose(stored.variance_annualised, direct.variance_annualised, rtol=1e-10)
    np.testing.assert_allclose(stored.returns, direct.returns, rtol=1e-10, atol=1e-15)


def test_rederiving_a_day_rewrites_the_same_bytes(tmp_path: Path) -> None:
    trades, quotes = _day(3)
    write_derived(tmp_path, KEY, derive_day(DAY, trades, quotes))
    first = {t: partition_file(tmp_path, t, KEY).read_bytes() for t in ("mid_1s", "rv_5m")}
    rows = write_derived(tmp_path, KEY, derive_day(DAY, trades, quotes))
    assert rows == {"mid_1s": 86_400, "rv_5m": 288, "volume_1h": 24}
    for table, data in first.items():
        assert partition_file(tmp_path, table, KEY).read_bytes() == data


def test_a_write_that_dies_leaves_the_previous_partition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trades, quotes = _day(4)
    write_derived(tmp_path, KEY, derive_day(DAY, trades, quotes))
    target = partition_file(tmp_path, "rv_5m", KEY)
    before = target.read_bytes()

    def dying_rename(staged: Path, target: Path) -> None:
        assert staged.stat().st_size > 0  # the new file is complete in staging...
        raise OSError("disk gone")  # ...but the write dies before the rename

    monkeypatch.setattr(writer, "_publish", dying_rename)
    other_trades, other_quotes = _day(5)
    with pytest.raises(OSError, match="disk gone"):
        write_derived(
            tmp_path, KEY, {"rv_5m": derive_day(DAY, other_trades, other_quotes)["rv_5m"]}
        )
    assert target.read_bytes() == before
    assert pq.read_table(target).num_rows == 288
    assert list((tmp_path / "rv_5m").rglob("*.parquet")) == [target]
