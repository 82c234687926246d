"""A symbol with less than a week of history publishes a gated, correlated donor's profile."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from assets.history import load_history
from assets.model_fits import hourly_profile
from assets.profile_borrowing import choose_profile, donor_correlations
from calibration.clock.volume_clock import VolumeProfile
from data_lake.lake import Lake
from tests.assets.test_history import FIT_DAY, SYMBOL, _ingest


def _days(n: int) -> list[dt.date]:
    return [FIT_DAY - dt.timedelta(days=k) for k in range(n)][::-1]


def _own(lake: Lake, n_days: int) -> VolumeProfile:
    history = load_history(lake, "synthetic", SYMBOL, FIT_DAY, n_days)
    profile = hourly_profile(history.volume_1h)
    assert profile is not None
    return profile


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    lake = Lake.at(tmp_path)
    for day in _days(9):
        _ingest(lake, day, symbol="BTC")
    return lake


def test_a_short_symbol_borrows_the_correlated_donor_scaled_to_its_volume(lake: Lake) -> None:
    _ingest(lake, FIT_DAY)
    own = _own(lake, 1)
    choice = choose_profile(lake, "synthetic", SYMBOL, FIT_DAY, own, {"BTC": 0.8})
    b = choice.borrowed
    assert b.source_symbol == "BTC" and b.sufficient and b.correlation == 0.8
    # Scaled so that over the hours SOL was seen the donor predicts SOL's own volume.
    seen = np.asarray(own.exposure_hours)
    assert float(np.dot(b.profile.rate_per_hour, seen)) == pytest.approx(sum(own.volume))
    assert b.profile.total_exposure_hours >= 168.0
    # Every donor day read is a gated input of the document.
    assert choice.inputs.partitions() == [f"synthetic/BTC/{d}" for d in _days(9)]
    assert not choice.skipped


def test_a_week_of_own_history_reads_no_donor(lake: Lake) -> None:
    for day in _days(8):
        _ingest(lake, day)
    choice = choose_profile(lake, "synthetic", SYMBOL, FIT_DAY, _own(lake, 8), {"BTC": 0.8})
    assert choice.borrowed.source_symbol is None and choice.borrowed.sufficient
    assert choice.inputs.partitions() == []


def test_an_uncorrelated_or_unchecked_donor_is_not_used(lake: Lake) -> None:
    _ingest(lake, FIT_DAY)
    own = _own(lake, 1)
    weak = choose_profile(lake, "synthetic", SYMBOL, FIT_DAY, own, {"BTC": 0.2})
    assert weak.borrowed.source_symbol is None and not weak.borrowed.sufficient
    assert weak.inputs.partitions() == []
    _ingest(lake, FIT_DAY, symbol="ETH", passed=False)  # its only day failed a blocking check
    gated = choose_profile(lake, "synthetic", SYMBOL, FIT_DAY, own, {"ETH": 0.9})
    assert gated.borrowed.source_symbol is None
    assert "ETH" in gated.skipped and "positive_trade_prices" in gated.skipped["ETH"]


def test_donor_correlations_read_the_slowest_half_life() -> None:
    fast = SimpleNamespace(half_life_s=60.0, correlation=((1.0, 0.1), (0.1, 1.0)))
    slow = SimpleNamespace(half_life_s=3600.0, correlation=((1.0, 0.7), (0.7, 1.0)))
    fit = SimpleNamespace(symbols=("BTC", "SOL"), estimates=(fast, slow))
    assert donor_correlations(fit, "SOL") == {"BTC": 0.7}  # type: ignore[arg-type]
    assert donor_correlations(None, "SOL") == {}
