"""Live VPIN on the published volume clock, and the sigma blend it re-weights."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from calibration.clock.vpin import vpin
from calibration.clock.week_profile import HOURS_PER_WEEK, VolumeProfile
from calibration.volatility.sigma import sigma_effective
from tests.trader.strategy.builders import live_params
from trader.market_state import (
    OUT_ASK_PX,
    OUT_BID_PX,
    S_BEST_ASK,
    S_BEST_BID,
    S_MID,
    S_VP_HEAD,
    S_VPIN,
    S_VPIN_SCALE_ASK,
    S_VPIN_SCALE_BID,
    new_quote,
    new_state,
)
from trader.strategy import glft_quote
from trader.strategy.params import P_VPIN_0
from trader.strategy.vpin_live import VpinLive, vpin_live_from, vpin_observe_trade

T0 = 1_717_200_000.0  # 2024-06-01 00:00 UTC (a Saturday), seconds
CLEAN, TOTAL, UP, DOWN = 1.0, 1.2, 1.15, 1.3  # bps per sqrt(s); jump share 0.31


def published(tox: float) -> dict[str, float]:
    blend = sigma_effective(CLEAN, TOTAL, sigma_up_bps=UP, sigma_down_bps=DOWN, toxicity=tox)
    return {
        "sigma_diffusion_bps_per_sqrt_s": blend.sigma_clean_bps,
        "sigma_total_bps_per_sqrt_s": blend.sigma_total_bps,
        "sigma_bid_bps_per_sqrt_s": blend.sigma_bid_bps,
        "sigma_ask_bps_per_sqrt_s": blend.sigma_ask_bps,
        "vpin_toxicity": tox,
        "volume_bucket_size": 10.0,
    }


def packed(v: VpinLive) -> np.ndarray:
    return replace(live_params(), vpin=v).to_array()


def trades(seed: int, n: int, mean_size: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times (s), sides and sizes with toxic one-sided stretches between balanced flow."""
    rng = np.random.default_rng(seed)
    t = T0 + np.cumsum(rng.exponential(2.0, n))
    p_buy = np.where((np.arange(n) // 400) % 3 == 1, 0.9, 0.5)
    side = np.where(rng.uniform(size=n) < p_buy, 1, -1)
    size = rng.lognormal(math.log(mean_size), 0.8, n)
    return t, side, size


def replay(params: np.ndarray, t, side, size) -> tuple[list[int], list[float], np.ndarray]:
    """Feed the trades; after each, the count of closed buckets and the live VPIN."""
    state = new_state()
    closed, values = [], []
    n_closed = 0
    head = math.nan
    window = int(params[P_VPIN_0 + 1])
    for ts, sd, sz in zip(t, side, size, strict=True):
        vpin_observe_trade(state, params, P_VPIN_0, ts, int(sd), sz)
        if state[S_VP_HEAD] != head:
            if head == head:
                n_closed += int((state[S_VP_HEAD] - head) % window)
            head = state[S_VP_HEAD]
        closed.append(n_closed)
        values.append(state[S_VPIN])
    return closed, values, state


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_live_vpin_equals_the_calibrations_on_fixed_buckets(seed):
    t, side, size = trades(seed, 6000, 0.2)
    bucket, window = 6.0, 20
    fit = vpin((t * 1e9).astype(np.int64), np.full(t.size, 100.0), size, side,
               bucket_volume=bucket, window=window)
    live = replace(vpin_live_from(published(0.3), {"vpin": {"window": window}}, None),
                   bucket_volume=bucket)
    assert live.on and live.rate_per_hour == ()
    closed, values, _ = replay(packed(live), t, side, size)
    # Sizes are a few % of a bucket: each trade closes at most one, so every close is seen.
    checked = 0
    for k, v in zip(closed, values, strict=True):
        if k >= window and k - window < len(fit.vpin):
            assert v == pytest.approx(fit.vpin[k - window], abs=1e-9)
            checked += 1
    assert closed[-1] == fit.n_buckets
    assert checked > 1000


@pytest.mark.parametrize("seed", [4, 5])
def test_live_buckets_follow_the_published_hour_of_week_profile(seed):
    rng = np.random.default_rng(seed)
    rates = rng.uniform(20.0, 400.0, HOURS_PER_WEEK)
    profile = VolumeProfile(volume=tuple(rates), exposure_hours=(1.0,) * HOURS_PER_WEEK,
                            n_trades=(100.0,) * HOURS_PER_WEEK)
    t, side, size = trades(seed, 8000, 0.3)
    frac, window = 0.02, 20
    fit = vpin((t * 1e9).astype(np.int64), np.full(t.size, 100.0), size, side,
               bucket_volume=profile, window=window, bucket_frac=frac)
    live = replace(
        vpin_live_from(published(0.3), {"vpin": {"window": window}}, None),
        rate_per_hour=tuple(float(r) for r in profile.rate_per_hour), profile_frac=frac,
    )
    closed, values, _ = replay(packed(live), t, side, size)
    assert closed[-1] == fit.n_buckets
    for k, v in zip(closed, values, strict=True):
        if k >= window and k - window < len(fit.vpin):
            # The fit reads ns times, the live clock float seconds: 1e-7 of an hour apart.
            assert v == pytest.approx(fit.vpin[k - window], abs=1e-7)
    # The clock speeds up with the profile: more buckets per hour in the busy hours.
    assert np.ptp(fit.bucket_volumes) > 0.5 * np.mean(fit.bucket_volumes)


def test_the_profile_is_scaled_to_the_published_bucket_at_the_days_average_rate():
    rates = [100.0] * HOURS_PER_WEEK
    rates[10] = 400.0  # Monday 10:00-11:00 UTC
    end_ns = int((T0 + 2 * 86400) * 1e9)  # Monday 00:00: the day before is Sunday
    live = vpin_live_from(published(0.3), {"volume_profile": {"rate_per_hour": rates}}, end_ns)
    # Sunday's expected volume is 2,400: a 10-unit bucket is 10/100 of an average hour.
    assert live.profile_frac == pytest.approx(10.0 * 24 / 2400.0)
    state = new_state()
    params = packed(live)
    monday_10 = T0 + 2 * 86400 + 10 * 3600
    vpin_observe_trade(state, params, P_VPIN_0, monday_10, 1, 1e-6)
    from trader.market_state import S_VP_TARGET

    assert state[S_VP_TARGET] == pytest.approx(0.1 * 400.0)


@pytest.mark.parametrize("tox_pub", [0.0, 0.3, 0.7])
def test_the_blend_follows_sigma_effective_at_the_live_vpin(tox_pub):
    live = vpin_live_from(published(tox_pub), {"vpin": {"window": 5}}, None,
                          floor=1e-3, cap=1e3)
    params = packed(live)
    # The seed: the published blend exactly.
    state = new_state()
    vpin_observe_trade(state, params, P_VPIN_0, T0, 1, 1e-9)
    assert state[S_VPIN] == pytest.approx(tox_pub)
    assert state[S_VPIN_SCALE_BID] == pytest.approx(1.0)
    assert state[S_VPIN_SCALE_ASK] == pytest.approx(1.0)
    pub = sigma_effective(CLEAN, TOTAL, sigma_up_bps=UP, sigma_down_bps=DOWN, toxicity=tox_pub)
    for flow, expect in (("one-sided", 1.0), ("balanced", 0.0)):
        state = new_state()
        for i in range(5 * 20):
            side = 1 if flow == "one-sided" or i % 2 == 0 else -1
            vpin_observe_trade(state, params, P_VPIN_0, T0 + i, side, 5.0)
        assert state[S_VPIN] == pytest.approx(expect, abs=1e-12)
        now = sigma_effective(CLEAN, TOTAL, sigma_up_bps=UP, sigma_down_bps=DOWN,
                              toxicity=expect)
        assert state[S_VPIN_SCALE_BID] == pytest.approx(now.sigma_bid_bps / pub.sigma_bid_bps)
        assert state[S_VPIN_SCALE_ASK] == pytest.approx(now.sigma_ask_bps / pub.sigma_ask_bps)


def test_calm_flow_never_narrows_and_toxic_flow_widens_the_quotes():
    live = vpin_live_from(published(0.4), {"vpin": {"window": 5}}, None)  # floor 1, cap 3
    params = replace(live_params(), tick_size=1e-6, vpin=live).to_array()
    depths = {}
    for flow in ("seed", "balanced", "one-sided"):
        state = new_state()
        n = 1 if flow == "seed" else 100
        for i in range(n):
            side = 1 if flow != "balanced" or i % 2 == 0 else -1
            vpin_observe_trade(state, params, P_VPIN_0, T0 + i, side, 5.0)
        state[S_BEST_BID], state[S_BEST_ASK] = 99.99, 100.01
        state[S_MID] = 100.0
        out = new_quote()
        glft_quote(state, params, out)
        depths[flow] = (100.0 - out[OUT_BID_PX], out[OUT_ASK_PX] - 100.0)
    assert depths["balanced"] == depths["seed"]
    assert depths["one-sided"][0] > depths["seed"][0]
    assert depths["one-sided"][1] > depths["seed"][1]


def test_a_huge_print_spanning_many_buckets_stays_bounded_and_one_sided():
    live = vpin_live_from(published(0.3), {"vpin": {"window": 10}}, None)
    params = packed(live)
    state = new_state()
    vpin_observe_trade(state, params, P_VPIN_0, T0, 1, 1e9)  # 10^8 buckets in one print
    assert state[S_VPIN] == 1.0
    vpin_observe_trade(state, params, P_VPIN_0, T0 + 1, -1, float("nan"))  # ignored
    assert state[S_VPIN] == 1.0


@pytest.mark.parametrize(
    "patch, reason",
    [
        ({"volume_bucket_size": None}, "no volume_bucket_size"),
        ({"vpin_toxicity": 1.5}, "vpin_toxicity"),
        ({"sigma_total_bps_per_sqrt_s": None}, "total"),
    ],
)
def test_missing_pieces_switch_it_off_and_leave_the_published_blend(patch, reason):
    live = vpin_live_from(published(0.3) | patch, {}, None)
    assert not live.on and reason in (live.off_reason or "")
    params = packed(live)
    state = new_state()
    vpin_observe_trade(state, params, P_VPIN_0, T0, 1, 50.0)
    assert state[S_VPIN_SCALE_BID] == 1.0 and state[S_VPIN_SCALE_ASK] == 1.0
    assert math.isnan(state[S_VPIN])
