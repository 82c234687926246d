"""Volume profile, borrowing and VPIN: recovery on simulated trades and input checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from calibration.clock.volume_clock import (
    HOURS_PER_WEEK,
    VolumeProfile,
    borrow_profile,
    hour_of_week,
    volume_profile,
    vpin,
)
from calibration.errors import CalibrationError

NS_PER_HOUR = 3_600_000_000_000
MONDAY_2024_01_01_NS = 1_704_067_200 * 1_000_000_000


def planted_trades_per_hour(hour_of_day: np.ndarray) -> np.ndarray:
    """Trades per hour by UTC hour of day: busy around 14:00, quiet around 02:00."""
    return 200.0 * (1.0 + 0.8 * np.cos(2 * np.pi * (hour_of_day - 14) / 24))


def simulate_trades(
    seed: int, days: int, start_ns: int = MONDAY_2024_01_01_NS, weekend_factor: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson trades with the planted hour-of-day rate and Exp(1) sizes."""
    rng = np.random.default_rng(seed)
    hours = np.arange(days * 24)
    hour_start = start_ns + hours * NS_PER_HOUR
    rate = planted_trades_per_hour(hours % 24)
    weekend = hour_of_week(hour_start) >= 120
    rate = np.where(weekend, rate * weekend_factor, rate)
    counts = rng.poisson(rate)
    ts = np.repeat(hour_start, counts) + rng.integers(0, NS_PER_HOUR, counts.sum())
    ts.sort()
    return ts.astype(np.int64), rng.exponential(1.0, ts.size)


def assert_recovers_hour_of_day(seed: int, days: int) -> None:
    ts, size = simulate_trades(seed, days)
    profile = volume_profile(
        ts,
        size,
        start_ns=MONDAY_2024_01_01_NS,
        end_ns=MONDAY_2024_01_01_NS + days * 24 * NS_PER_HOUR,
    )
    planted_rate = planted_trades_per_hour(np.arange(24))  # Exp(1) sizes: volume rate = count rate
    planted_share = planted_rate / planted_rate.sum()
    # Compound Poisson: var of a day-hour's volume = rate * E[size^2] = 2 * rate.
    share_se = np.sqrt(2.0 * planted_rate * days) / days / planted_rate.sum()
    z = (profile.hour_of_day_shares - planted_share) / share_se
    assert np.max(np.abs(z)) < 4.5, z
    assert np.all(np.array(profile.source) == "week")


def test_hour_of_week_is_zero_at_monday_midnight_utc_and_167_on_sunday_night() -> None:
    assert hour_of_week(MONDAY_2024_01_01_NS) == 0
    assert hour_of_week(MONDAY_2024_01_01_NS - 1) == 167
    assert hour_of_week(MONDAY_2024_01_01_NS + 25 * NS_PER_HOUR) == 25


def test_recovers_planted_hour_of_day_profile_within_sampling_error() -> None:
    assert_recovers_hour_of_day(seed=1, days=28)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 3, 4, 5])
def test_recovers_planted_hour_of_day_profile_over_seeds(seed: int) -> None:
    assert_recovers_hour_of_day(seed=seed, days=28)


def test_hour_of_week_profile_sees_a_quiet_weekend() -> None:
    ts, size = simulate_trades(seed=6, days=14, weekend_factor=0.25)
    profile = volume_profile(
        ts, size, start_ns=MONDAY_2024_01_01_NS, end_ns=MONDAY_2024_01_01_NS + 14 * 24 * NS_PER_HOUR
    )
    rates = profile.rate_per_hour
    ratio = rates[120:].sum() / rates[:48].sum()  # Sat+Sun against Mon+Tue
    assert ratio == pytest.approx(0.25, abs=0.03)
    assert profile.shares.sum() == pytest.approx(1.0)
    assert profile.total_exposure_hours == pytest.approx(14 * 24)


def test_quiet_hours_inside_the_window_count_as_exposure() -> None:
    ts = np.array([MONDAY_2024_01_01_NS + 10], dtype=np.int64)
    profile = volume_profile(
        ts, [5.0], start_ns=MONDAY_2024_01_01_NS, end_ns=MONDAY_2024_01_01_NS + 2 * NS_PER_HOUR
    )
    assert profile.exposure_hours[0] == pytest.approx(1.0)
    assert profile.exposure_hours[1] == pytest.approx(1.0)
    assert profile.rate_per_hour[0] == pytest.approx(5.0)
    assert profile.rate_per_hour[1] == pytest.approx(0.0)


def test_unseen_bins_fall_back_to_hour_of_day_then_overall_mean() -> None:
    # Monday 00:00 to Wednesday 12:00: Thursday-Sunday bins borrow their hour of day;
    # no hour of day is unseen, so nothing falls back to the overall mean.
    ts, size = simulate_trades(seed=7, days=3)
    end = MONDAY_2024_01_01_NS + 60 * NS_PER_HOUR
    keep = ts < end
    profile = volume_profile(ts[keep], size[keep], start_ns=MONDAY_2024_01_01_NS, end_ns=end)
    source = np.array(profile.source)
    assert np.all(source[:60] == "week")
    assert np.all(source[72:] == "day")
    assert profile.rate_per_hour[72 + 14] == pytest.approx(
        (profile.volume[14] + profile.volume[24 + 14]) / 2  # Wednesday 14:00 is past the end
    )
    # Six hours only: the other 18 hours of the day use the overall mean.
    short = volume_profile(
        ts[ts < MONDAY_2024_01_01_NS + 6 * NS_PER_HOUR],
        size[ts < MONDAY_2024_01_01_NS + 6 * NS_PER_HOUR],
        start_ns=MONDAY_2024_01_01_NS,
        end_ns=MONDAY_2024_01_01_NS + 6 * NS_PER_HOUR,
    )
    assert short.source[10] == "all"
    assert short.rate_per_hour[10] == pytest.approx(sum(short.volume) / 6.0)


def test_warm_start_merge_equals_fitting_all_days_at_once() -> None:
    ts, size = simulate_trades(seed=8, days=10)
    split = MONDAY_2024_01_01_NS + 7 * 24 * NS_PER_HOUR
    end = MONDAY_2024_01_01_NS + 10 * 24 * NS_PER_HOUR
    old = ts < split
    prior = volume_profile(ts[old], size[old], start_ns=MONDAY_2024_01_01_NS, end_ns=split)
    updated = volume_profile(ts[~old], size[~old], start_ns=split, end_ns=end, prior=prior)
    whole = volume_profile(ts, size, start_ns=MONDAY_2024_01_01_NS, end_ns=end)
    np.testing.assert_allclose(updated.volume, whole.volume, rtol=1e-12)
    np.testing.assert_allclose(updated.exposure_hours, whole.exposure_hours, rtol=1e-12)
    assert updated.n_obs == whole.n_obs == ts.size


def test_prior_weight_below_one_forgets_old_history() -> None:
    ts, size = simulate_trades(seed=9, days=1)
    day = volume_profile(
        ts, size, start_ns=MONDAY_2024_01_01_NS, end_ns=MONDAY_2024_01_01_NS + 24 * NS_PER_HOUR
    )
    doubled = day.scaled(2.0)
    forgotten = day.merged(doubled, prior_weight=0.0)
    np.testing.assert_allclose(forgotten.rate_per_hour, doubled.rate_per_hour)
    half = day.merged(doubled, prior_weight=0.5)
    np.testing.assert_allclose(half.rate_per_hour, day.rate_per_hour * 2.5 / 1.5)
    with pytest.raises(CalibrationError, match="prior_weight"):
        day.merged(doubled, prior_weight=1.5)


def test_bucket_size_is_a_fraction_of_the_next_hours_expected_volume() -> None:
    ts, size = simulate_trades(seed=10, days=7)
    profile = volume_profile(
        ts, size, start_ns=MONDAY_2024_01_01_NS, end_ns=MONDAY_2024_01_01_NS + 7 * 24 * NS_PER_HOUR
    )
    rates = profile.rate_per_hour
    busy = MONDAY_2024_01_01_NS + 14 * NS_PER_HOUR
    quiet = MONDAY_2024_01_01_NS + 2 * NS_PER_HOUR
    assert profile.bucket_volume(busy, frac=0.1) == pytest.approx(0.1 * rates[14])
    assert profile.bucket_volume(busy) > 5 * profile.bucket_volume(quiet)
    half_past = busy + NS_PER_HOUR // 2
    assert profile.expected_volume(half_past, 3600.0) == pytest.approx(
        0.5 * rates[14] + 0.5 * rates[15]
    )
    with pytest.raises(CalibrationError, match="horizon_s"):
        profile.expected_volume(busy, 0.0)
    sunday_2330 = MONDAY_2024_01_01_NS + 7 * 24 * NS_PER_HOUR - NS_PER_HOUR // 2
    assert profile.expected_volume(sunday_2330, 3600.0) == pytest.approx(
        0.5 * rates[167] + 0.5 * rates[0]
    )
    assert profile.expected_volume(busy, 7 * 24 * 3600.0) == pytest.approx(rates.sum())
    assert profile.expected_volume(busy + 52 * 7 * 24 * NS_PER_HOUR, 3600.0) == pytest.approx(
        rates[14]
    )


def _flat_profile(rate: float, hours: float) -> VolumeProfile:
    exposure = np.full(HOURS_PER_WEEK, hours / HOURS_PER_WEEK)
    return VolumeProfile(
        volume=tuple(rate * exposure),
        exposure_hours=tuple(exposure),
        n_trades=tuple(rate * exposure),
    )


def test_borrow_uses_the_most_correlated_liquid_symbol_scaled_to_own_level() -> None:
    ts, size = simulate_trades(seed=11, days=14)
    liquid = volume_profile(
        ts, size, start_ns=MONDAY_2024_01_01_NS, end_ns=MONDAY_2024_01_01_NS + 14 * 24 * NS_PER_HOUR
    )
    sparse_end = MONDAY_2024_01_01_NS + 24 * NS_PER_HOUR
    keep = ts < sparse_end
    own = volume_profile(
        ts[keep], 0.01 * size[keep], start_ns=MONDAY_2024_01_01_NS, end_ns=sparse_end
    )
    candidates = {"BTC": liquid, "ETH": liquid.scaled(3.0), "THIN": _flat_profile(10.0, 20.0)}
    chosen = borrow_profile(own, candidates, {"BTC": 0.6, "ETH": 0.9, "THIN": 0.99})
    assert chosen.source_symbol == "ETH"  # THIN is more correlated but has too little history
    assert chosen.correlation == pytest.approx(0.9)
    assert chosen.sufficient
    # Own volume is 1% of the liquid symbol's on the same trades: scale ~ 0.01 / 3.
    assert chosen.scale * 3.0 == pytest.approx(0.01, rel=0.05)
    np.testing.assert_allclose(chosen.profile.shares, liquid.shares)
    assert "ETH" in chosen.reason
    json.dumps(chosen.to_dict(), allow_nan=False)


def test_borrow_keeps_own_profile_when_history_suffices_or_no_donor_qualifies() -> None:
    own_long = _flat_profile(5.0, 200.0)
    donor = _flat_profile(50.0, 400.0)
    kept = borrow_profile(own_long, {"BTC": donor}, {"BTC": 0.95})
    assert kept.source_symbol is None and kept.sufficient and kept.scale == 1.0
    own_short = _flat_profile(5.0, 10.0)
    weak = borrow_profile(own_short, {"BTC": donor}, {"BTC": 0.2})
    assert weak.source_symbol is None and not weak.sufficient
    missing = borrow_profile(own_short, {"BTC": donor}, {})
    assert missing.source_symbol is None
    empty_own = VolumeProfile(
        (0.0,) * HOURS_PER_WEEK, (0.1,) * HOURS_PER_WEEK, (0.0,) * HOURS_PER_WEEK
    )
    with pytest.raises(CalibrationError, match="cannot scale"):
        borrow_profile(empty_own, {"BTC": donor}, {"BTC": 0.9})


def _flow(
    seed: int, n: int, buy_prob: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = MONDAY_2024_01_01_NS + np.cumsum(rng.integers(1, 10**8, n))
    side = np.where(rng.random(n) < buy_prob, 1, -1)
    price = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-4, n)))
    return ts.astype(np.int64), price, rng.exponential(1.0, n), side


def test_vpin_is_near_zero_for_balanced_flow() -> None:
    ts, price, size, side = _flow(seed=12, n=200_000, buy_prob=0.5)
    result = vpin(ts, price, size, side, bucket_volume=1000.0, window=50)
    # |B - S| of a 1000-lot bucket of Exp(1) trades: E ~ sqrt(2/pi) * sqrt(2 * 1000) / 1000.
    assert result.latest < 0.07
    assert np.mean(result.vpin) == pytest.approx(np.sqrt(2 / np.pi) * np.sqrt(2000) / 1000, rel=0.2)
    assert result.classification == "side"
    assert result.n_buckets == int(size.sum() // 1000.0)
    assert len(result.vpin) == result.n_buckets - 50 + 1
    assert 0.0 < result.latest_percentile <= 1.0


def test_vpin_is_high_for_one_sided_flow() -> None:
    ts, price, size, side = _flow(seed=13, n=100_000, buy_prob=0.9)
    result = vpin(ts, price, size, side, bucket_volume=500.0, window=50)
    assert result.latest == pytest.approx(0.8, abs=0.06)  # |2p - 1|
    json.dumps(result.to_dict(), allow_nan=False)


def test_bulk_volume_classification_flags_a_trending_price_as_toxic() -> None:
    rng = np.random.default_rng(14)
    n = 50_000
    ts = (MONDAY_2024_01_01_NS + np.cumsum(rng.integers(10**7, 10**8, n))).astype(np.int64)
    size = rng.exponential(1.0, n)
    bar_index = (ts - ts[0]) // 10**9
    drift_bars = 1e-4 * bar_index + 2e-5 * rng.standard_normal(n).cumsum() / np.sqrt(n)
    trending = vpin(ts, 100.0 * np.exp(drift_bars), size, bucket_volume=200.0, window=20)
    walk = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-4, n)))
    balanced = vpin(ts, walk, size, bucket_volume=200.0, window=20)
    assert trending.classification == "bvc"
    assert trending.latest > 0.6
    assert np.mean(balanced.vpin) < 0.5 * np.mean(trending.vpin)


def test_profile_sized_buckets_fill_faster_in_the_busy_session() -> None:
    ts, size = simulate_trades(seed=15, days=7)
    end = MONDAY_2024_01_01_NS + 7 * 24 * NS_PER_HOUR
    profile = volume_profile(ts, size, start_ns=MONDAY_2024_01_01_NS, end_ns=end)
    day = ts < MONDAY_2024_01_01_NS + 24 * NS_PER_HOUR
    side = np.where(np.random.default_rng(15).random(day.sum()) < 0.5, 1, -1)
    result = vpin(
        ts[day],
        np.full(day.sum(), 100.0),
        size[day],
        side,
        bucket_volume=profile,
        window=10,
        bucket_frac=0.1,
    )
    # About ten buckets per hour in every session, so ~240 in a day.
    assert 200 <= result.n_buckets <= 260
    busy = np.asarray(result.bucket_volumes) > 0.1 * profile.rate_per_hour.mean()
    assert busy.any() and (~busy).any()


def test_vpin_refuses_too_few_buckets_and_bad_sides() -> None:
    ts, price, size, side = _flow(seed=16, n=1000, buy_prob=0.5)
    with pytest.raises(CalibrationError, match="full volume buckets"):
        vpin(ts, price, size, side, bucket_volume=100.0, window=50)
    with pytest.raises(CalibrationError, match="side"):
        vpin(ts, price, size, np.zeros(ts.size), bucket_volume=10.0, window=5)
    with pytest.raises(CalibrationError, match="bucket_volume"):
        vpin(ts, price, size, side, bucket_volume=0.0)
    with pytest.raises(CalibrationError, match="price"):
        vpin(ts, -price, size, side, bucket_volume=10.0)


@pytest.mark.parametrize(
    ("ts", "size", "match"),
    [
        (
            np.array([3, 2, 5], dtype=np.int64),
            [1.0, 1.0, 1.0],
            "sorted; first violation at index 1",
        ),
        (np.array([1, 2, 3], dtype=np.int64), [1.0, -1.0, 1.0], "size must be finite"),
        (np.array([1, 2, 3], dtype=np.int64), [1.0, np.nan, 1.0], "size must be finite"),
        (np.array([1, 2, 3], dtype=np.int64), [1.0, 1.0], "shape"),
        (np.array([1.0, 2.0, 3.0]), [1.0, 1.0, 1.0], "integer nanoseconds"),
        (np.array([], dtype=np.int64), [], "nothing to profile"),
        (np.array([5, 5], dtype=np.int64), [1.0, 1.0], "window is empty"),
    ],
)
def test_volume_profile_rejects_malformed_input(
    ts: np.ndarray, size: list[float], match: str
) -> None:
    with pytest.raises(CalibrationError, match=match):
        volume_profile(ts, size)


def test_volume_profile_rejects_trades_outside_the_window_and_bad_statistics() -> None:
    with pytest.raises(CalibrationError, match="outside the observation window"):
        volume_profile(np.array([10, 20], dtype=np.int64), [1.0, 1.0], start_ns=15, end_ns=100)
    with pytest.raises(CalibrationError, match="168 bins"):
        VolumeProfile((1.0,) * 24, (1.0,) * 24, (1.0,) * 24)
    with pytest.raises(CalibrationError, match="exposure is zero"):
        VolumeProfile((0.0,) * 168, (0.0,) * 168, (0.0,) * 168)


def test_profile_to_dict_is_plain_json() -> None:
    ts, size = simulate_trades(seed=17, days=2)
    profile = volume_profile(ts, size)
    payload = profile.to_dict()
    json.dumps(payload, allow_nan=False)
    assert len(payload["shares"]) == HOURS_PER_WEEK
    assert payload["n_obs"] == ts.size
    assert payload["seasonality_pvalue"] is not None and payload["seasonality_pvalue"] < 1e-6
