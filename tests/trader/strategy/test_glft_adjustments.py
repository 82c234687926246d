"""Each adjustment moves the quotes the way its reason says; limits and rounding hold."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest

from tests.trader.strategy.builders import MID, bare_params, live_params
from trader.strategy import compute_quotes, market_state_vector
from trader.strategy.glft import FAT_TAIL_MAX_FACTOR, fat_tail_factor


def _quote(params, **state):
    state.setdefault("mid", MID)
    return compute_quotes(params, market_state_vector(**state))


def test_adverse_selection_addon_is_added_to_each_side_at_its_quoted_depth():
    base = _quote(bare_params())  # both sides at 2.095 bps
    # The curve is 1 bps at depth 0 and 3 bps at depth 4: at 2.095 bps it reads
    # 1 + 2.095 / 2 = 2.0475.
    curve = bare_params(as_addon_depth_bps=(0.0, 4.0), as_addon_bps=(1.0, 3.0))
    with_addon = _quote(curve)
    addon = 1.0 + base.bid_depth_bps / 2.0
    assert addon == pytest.approx(2.0475, abs=1e-4)
    assert with_addon.bid_depth_bps == pytest.approx(base.bid_depth_bps + addon, rel=1e-12)
    assert with_addon.ask_depth_bps == pytest.approx(base.ask_depth_bps + addon, rel=1e-12)


def test_adverse_selection_curve_is_flat_beyond_its_ends():
    base = _quote(bare_params()).bid_depth_bps
    beyond = bare_params(as_addon_depth_bps=(0.5, 1.0), as_addon_bps=(7.0, 4.0))
    assert _quote(beyond).bid_depth_bps == pytest.approx(base + 4.0)
    before = bare_params(as_addon_depth_bps=(10.0, 20.0), as_addon_bps=(7.0, 4.0))
    assert _quote(before).bid_depth_bps == pytest.approx(base + 7.0)


def test_a_buy_burst_widens_the_ask_only_and_a_sell_burst_the_bid_only():
    params = bare_params(hawkes_widening_per_excess_ratio=0.5)
    calm = _quote(params)
    buy_burst = _quote(params, hawkes_buy_ratio=3.0)
    sell_burst = _quote(params, hawkes_sell_ratio=3.0)
    # 0.5 of the half-spread per unit above baseline: (3 - 1) * 0.5 = one more half-spread.
    assert buy_burst.ask_depth_bps == pytest.approx(2 * calm.ask_depth_bps)
    assert buy_burst.bid_depth_bps == calm.bid_depth_bps
    assert sell_burst.bid_depth_bps == pytest.approx(2 * calm.bid_depth_bps)
    assert sell_burst.ask_depth_bps == calm.ask_depth_bps


def test_a_calibrated_burst_toxicity_widens_by_its_bps_per_unit_excess():
    params = bare_params(hawkes_widening_per_excess_ratio=0.5, hawkes_toxicity_bps_per_excess=1.5)
    calm = _quote(params)
    sell_burst = _quote(params, hawkes_sell_ratio=3.0)
    # The calibrated value replaces the setting: 1.5 bps x (3 - 1), whatever the half-spread.
    assert sell_burst.bid_depth_bps == pytest.approx(calm.bid_depth_bps + 3.0)
    assert sell_burst.ask_depth_bps == calm.ask_depth_bps
    zero = _quote(bare_params(hawkes_toxicity_bps_per_excess=0.0), hawkes_sell_ratio=3.0)
    assert zero.bid_depth_bps == pytest.approx(_quote(bare_params()).bid_depth_bps)
    with pytest.raises(ValueError, match="toxicity"):
        bare_params(hawkes_toxicity_bps_per_excess=-1.0)


def test_intensity_below_baseline_or_unknown_never_narrows():
    params = bare_params(hawkes_widening_per_excess_ratio=0.5)
    calm = _quote(params)
    for ratio in (0.1, math.nan, -5.0):
        quiet = _quote(params, hawkes_buy_ratio=ratio, hawkes_sell_ratio=ratio)
        assert (quiet.bid_depth_bps, quiet.ask_depth_bps) == (
            calm.bid_depth_bps,
            calm.ask_depth_bps,
        )


def test_hawkes_floor_widens_both_sides_when_the_fit_failed():
    calm = _quote(bare_params(hawkes_widening_per_excess_ratio=0.5))
    floored = _quote(bare_params(hawkes_widening_per_excess_ratio=0.5, hawkes_min_ratio=2.0))
    assert floored.bid_depth_bps == pytest.approx(1.5 * calm.bid_depth_bps)
    assert floored.ask_depth_bps == pytest.approx(1.5 * calm.ask_depth_bps)


def test_jump_regime_multiplies_the_half_spread_and_keeps_the_skew():
    params = bare_params(jump_widening_multiplier=3.0)
    calm = _quote(params, inventory=2.0)
    jump = _quote(params, inventory=2.0, jump_regime=True)
    flat = _quote(params)
    half = flat.bid_depth_bps
    assert jump.bid_depth_bps == pytest.approx(calm.bid_depth_bps + 2 * half)
    assert jump.ask_depth_bps == pytest.approx(calm.ask_depth_bps + 2 * half)


def test_positive_funding_leans_short_and_negative_funding_leans_long():
    params = bare_params(carry_horizon_s=1800.0)
    neutral = _quote(params)
    # 2e-4 per hour over half an hour is 1e-4 of price: 1 bps.
    longs_pay = _quote(params, funding_per_hour=2e-4)
    shorts_pay = _quote(params, funding_per_hour=-2e-4)
    assert longs_pay.bid_depth_bps == pytest.approx(neutral.bid_depth_bps + 1.0)
    assert longs_pay.ask_depth_bps == pytest.approx(neutral.ask_depth_bps - 1.0)
    assert shorts_pay.bid_depth_bps == pytest.approx(neutral.bid_depth_bps - 1.0)
    assert shorts_pay.ask_depth_bps == pytest.approx(neutral.ask_depth_bps + 1.0)


def test_live_funding_overrides_the_calibrated_rate_and_nan_falls_back_to_it():
    params = bare_params(carry_horizon_s=3600.0, funding_rate_per_hour=1e-4)
    calibrated = _quote(params)
    assert calibrated.bid_depth_bps == pytest.approx(_quote(bare_params()).bid_depth_bps + 1.0)
    live = _quote(params, funding_per_hour=0.0)
    assert live.bid_depth_bps == pytest.approx(_quote(bare_params()).bid_depth_bps)


def test_unknown_funding_widens_both_sides_by_its_uncertainty():
    params = bare_params(carry_horizon_s=3600.0, funding_uncertainty_per_hour=1e-4)
    base = _quote(bare_params())
    unsure = _quote(params)
    assert unsure.bid_depth_bps == pytest.approx(base.bid_depth_bps + 1.0)
    assert unsure.ask_depth_bps == pytest.approx(base.ask_depth_bps + 1.0)


def test_fair_price_moves_the_centre_when_enabled_and_is_kept_inside_the_touch():
    params = bare_params(tick_size=0.0001, use_microprice=True)
    at_mid = _quote(params, best_bid=99.99, best_ask=100.01)
    above = _quote(params, best_bid=99.99, best_ask=100.01, fair_px=100.005)
    assert above.centre_px == 100.005
    assert above.bid_px > at_mid.bid_px and above.ask_px > at_mid.ask_px
    outside = _quote(params, best_bid=99.99, best_ask=100.01, fair_px=101.0)
    assert outside.centre_px == 100.01
    disabled = _quote(dataclasses.replace(params, use_microprice=False), fair_px=100.005)
    assert disabled.centre_px == MID
    unknown = _quote(params, fair_px=math.nan)
    assert unknown.centre_px == MID


def test_live_sigma_scale_widens_in_high_vol_and_tightens_in_calm():
    base = _quote(bare_params())
    hot = _quote(bare_params(), sigma_scale=2.0)
    calm = _quote(bare_params(), sigma_scale=0.5)
    assert hot.bid_depth_bps > base.bid_depth_bps > calm.bid_depth_bps
    assert hot.ask_depth_bps > base.ask_depth_bps > calm.ask_depth_bps


def test_fat_tails_widen_and_the_factor_is_capped():
    gaussian = _quote(bare_params())
    for df in (30.0, 5.0, 3.0, 2.0, 1.0):
        fat = _quote(bare_params(student_t_df=df))
        assert fat.bid_depth_bps > gaussian.bid_depth_bps
        assert fat.ask_depth_bps > gaussian.ask_depth_bps
    assert fat_tail_factor(4.0) == pytest.approx(math.sqrt(2.0))
    assert fat_tail_factor(math.inf) == 1.0
    assert fat_tail_factor(2.0) == fat_tail_factor(0.5) == FAT_TAIL_MAX_FACTOR
    factors = [fat_tail_factor(df) for df in np.linspace(2.01, 100.0, 200)]
    assert all(a >= b for a, b in itertools.pairwise(factors))


def test_depths_are_clamped_to_the_stated_bounds():
    tight = _quote(
        bare_params(
            gamma=0.0, kappa_bid_per_bps=50.0, kappa_ask_per_bps=50.0, min_half_spread_bps=0.5
        )
    )
    assert tight.bid_depth_bps == tight.ask_depth_bps == 0.5
    wide = _quote(bare_params(kappa_bid_per_bps=0.001, max_half_spread_bps=25.0))
    assert wide.bid_depth_bps == 25.0


def test_side_that_would_pass_max_position_is_cut_to_what_fits_then_switched_off():
    params = bare_params(order_size=1.0, max_position=5.0, lot_size=0.1)
    at_limit = _quote(params, inventory=5.0)
    assert not at_limit.bid_on and math.isnan(at_limit.bid_px)
    assert at_limit.ask_on and at_limit.ask_sz == 1.0
    near = _quote(params, inventory=4.35)
    assert near.bid_sz == pytest.approx(0.6)  # 0.65 fits, rounded down to the lot
    short_limit = _quote(params, inventory=-5.0)
    assert short_limit.bid_on and not short_limit.ask_on
    past = _quote(params, inventory=7.0)
    assert not past.bid_on and past.ask_on


def test_less_than_a_lot_of_room_switches_the_side_off():
    params = bare_params(order_size=1.0, max_position=5.0, lot_size=0.1)
    assert not _quote(params, inventory=4.95).bid_on


def test_rounding_never_narrows_and_lands_on_the_tick():
    rng = np.random.default_rng(3)
    for tick in (0.01, 0.1, 0.5, 7.0):
        params = live_params(tick_size=tick)
        for _ in range(200):
            mid = float(rng.uniform(10, 1000))
            quotes = _quote(params, mid=mid, inventory=float(rng.uniform(-8, 8)))
            raw_bid = quotes.centre_px - quotes.bid_depth_bps * 1e-4 * mid
            raw_ask = quotes.centre_px + quotes.ask_depth_bps * 1e-4 * mid
            slack = 1e-9 * tick + 1e-12 * mid
            if quotes.bid_on:
                assert quotes.bid_px <= raw_bid + slack
                assert abs(quotes.bid_px / tick - round(quotes.bid_px / tick)) < 1e-6
            if quotes.ask_on:
                assert quotes.ask_px >= raw_ask - slack
                assert abs(quotes.ask_px / tick - round(quotes.ask_px / tick)) < 1e-6
            if quotes.bid_on and quotes.ask_on:
                assert quotes.bid_px < quotes.ask_px


def test_a_price_already_on_the_tick_stays_there():
    # 0.3 / 0.1 is 2.9999999999999996 in floating point: floor alone would drop a tick.
    params = bare_params(
        tick_size=0.1, gamma=0.0, kappa_bid_per_bps=1 / 30.0, kappa_ask_per_bps=1 / 30.0
    )  # 30 bps of 100 = 0.3
    quotes = _quote(params, mid=100.0)
    assert quotes.bid_px == pytest.approx(99.7, abs=1e-9)
    assert quotes.ask_px == pytest.approx(100.3, abs=1e-9)
