"""The kernel against the GLFT closed form, worked by hand and by the plain-Python twin."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit

from tests.trader.strategy.builders import MID, bare_params
from trader.market_state import OUT_ASK_PX, OUT_BID_PX, new_quote
from trader.strategy import compute_quotes, glft_depths_reference, glft_quote, market_state_vector
from trader.strategy.glft import glft_core_bps


def _depths(params, inventory=0.0):
    quotes = compute_quotes(params, market_state_vector(mid=MID, inventory=inventory))
    return quotes.bid_depth_bps, quotes.ask_depth_bps


def test_closed_form_matches_hand_numbers_for_unit_intensity():
    # gamma 0.05, kappa 0.5, A 1, sigma 1, q 0:
    # c1 = ln(1.1) / 0.05 = 1.906204; c2 = sqrt(0.05 / 1 * 1.1 ** 11) = 0.377698
    # half-spread = c1 + c2 / 2 = 2.095053 on both sides
    c1 = math.log(1.1) / 0.05
    c2 = math.sqrt(0.05 / (2 * 1.0 * 0.5) * 1.1**11)
    assert c1 == pytest.approx(1.906204, abs=1e-6)
    assert c2 == pytest.approx(0.377698, abs=1e-6)
    bid, ask = _depths(bare_params())
    assert bid == pytest.approx(2.095053, abs=1e-6)
    assert ask == pytest.approx(2.095053, abs=1e-6)


def test_closed_form_matches_hand_numbers_with_long_inventory_and_per_side_params():
    # bid: gamma 0.1, kappa 0.2, A 2, sigma 3, q = 2 (inventory 0.5 / order 0.25)
    #   c1 = ln(1.5)/0.1 = 4.054651; c2 = sqrt(0.1/0.8 * 1.5**3) = 0.649519
    #   bid = c1 + (2*2 + 1)/2 * 3 * c2 = 4.054651 + 4.871393 = 8.926044
    # ask: kappa 0.4, A 0.5, sigma 2
    #   c1 = ln(1.25)/0.1 = 2.231436; c2 = sqrt(0.1/0.4 * 1.25**5) = 0.873464
    #   ask = c1 - (2*2 - 1)/2 * 2 * c2 = 2.231436 - 2.620392 = -0.388957 (an ask
    #   through the centre, before the min clamp)
    bid_c1, bid_c2 = math.log(1.5) / 0.1, math.sqrt(0.1 / (2 * 2.0 * 0.2) * 1.5**3)
    ask_c1, ask_c2 = math.log(1.25) / 0.1, math.sqrt(0.1 / (2 * 0.5 * 0.4) * 1.25**5)
    expected_bid = bid_c1 + 2.5 * 3.0 * bid_c2
    expected_ask = ask_c1 - 1.5 * 2.0 * ask_c2
    assert expected_bid == pytest.approx(8.926044, abs=1e-6)
    assert expected_ask == pytest.approx(-0.388957, abs=1e-6)
    params = bare_params(
        gamma=0.1,
        order_size=0.25,
        max_position=5.0,
        kappa_bid_per_bps=0.2,
        A_bid_per_s=2.0,
        sigma_bid_bps_per_sqrt_s=3.0,
        kappa_ask_per_bps=0.4,
        A_ask_per_s=0.5,
        sigma_ask_bps_per_sqrt_s=2.0,
        min_half_spread_bps=1e-6,
    )
    bid, ask = _depths(params, inventory=0.5)
    assert bid == pytest.approx(expected_bid, abs=1e-9)
    assert ask == pytest.approx(1e-6)  # clamped: never through the centre


def test_closed_form_matches_hand_numbers_with_short_inventory():
    # gamma 1, kappa 2, A 10, sigma 0.5, q = -3:
    # c1 = ln(1.5) = 0.405465; c2 = sqrt(1/40 * 1.5**3) = 0.290474
    # bid = c1 + (-5)/2 * 0.5 * c2 = 0.042373; ask = c1 + 7/2 * 0.5 * c2 = 0.913795
    c1, c2 = math.log(1.5), math.sqrt(1.0 / 40.0 * 1.5**3)
    params = bare_params(
        gamma=1.0,
        kappa_bid_per_bps=2.0,
        kappa_ask_per_bps=2.0,
        A_bid_per_s=10.0,
        A_ask_per_s=10.0,
        sigma_bid_bps_per_sqrt_s=0.5,
        sigma_ask_bps_per_sqrt_s=0.5,
    )
    bid, ask = _depths(params, inventory=-3.0)
    assert bid == pytest.approx(0.042373, abs=1e-6)
    assert ask == pytest.approx(0.913795, abs=1e-6)
    assert bid == pytest.approx(c1 - 2.5 * 0.5 * c2, abs=1e-12)
    assert ask == pytest.approx(c1 + 3.5 * 0.5 * c2, abs=1e-12)


def test_zero_gamma_gives_the_risk_neutral_limit_one_over_kappa_and_no_skew():
    params = bare_params(gamma=0.0, kappa_bid_per_bps=0.25, kappa_ask_per_bps=0.5)
    assert _depths(params, inventory=3.0) == pytest.approx((4.0, 2.0), abs=1e-12)


def test_tiny_gamma_approaches_the_limit_continuously():
    for gamma in (1e-8, 1e-13, 1e-300):
        c1, c2 = glft_core_bps(gamma, 0.5, 1.0)
        assert c1 == pytest.approx(2.0, rel=1e-6)
        assert c2 == pytest.approx(math.sqrt(gamma * math.e), rel=1e-6)
        assert math.isfinite(c1) and math.isfinite(c2)


def test_symmetric_params_quote_symmetrically_around_the_mid_when_flat():
    quotes = compute_quotes(bare_params(tick_size=0.01), market_state_vector(mid=MID))
    assert quotes.bid_depth_bps == quotes.ask_depth_bps
    assert MID - quotes.bid_px == pytest.approx(quotes.ask_px - MID, abs=1e-12)


@pytest.mark.parametrize("inventory", [1.0, 4.0])
def test_long_inventory_skews_both_quotes_down_and_short_skews_them_up(inventory):
    flat = _depths(bare_params())
    long_bid, long_ask = _depths(bare_params(), inventory=inventory)
    short_bid, short_ask = _depths(bare_params(), inventory=-inventory)
    assert long_bid > flat[0] and long_ask < flat[1]
    assert short_bid < flat[0] and short_ask > flat[1]
    assert long_bid == pytest.approx(short_ask) and long_ask == pytest.approx(short_bid)


def test_jitted_kernel_equals_the_plain_python_reference_on_random_params():
    rng = np.random.default_rng(12)
    for _ in range(300):
        gamma = float(10 ** rng.uniform(-4, 1))
        kappa_b, kappa_a = 10 ** rng.uniform(-2, 1, size=2)
        a_b, a_a = 10 ** rng.uniform(-2, 2, size=2)
        sigma_b, sigma_a = 10 ** rng.uniform(-1, 1, size=2)
        inventory = float(rng.uniform(-10, 10))
        params = bare_params(
            gamma=gamma,
            kappa_bid_per_bps=float(kappa_b),
            kappa_ask_per_bps=float(kappa_a),
            A_bid_per_s=float(a_b),
            A_ask_per_s=float(a_a),
            sigma_bid_bps_per_sqrt_s=float(sigma_b),
            sigma_ask_bps_per_sqrt_s=float(sigma_a),
            min_half_spread_bps=1e-9,
            max_half_spread_bps=5000.0,
        )
        bid, ask = _depths(params, inventory=inventory)
        ref_bid, _ = glft_depths_reference(inventory, gamma, kappa_b, a_b, sigma_b)
        _, ref_ask = glft_depths_reference(inventory, gamma, kappa_a, a_a, sigma_a)
        assert bid == pytest.approx(min(max(ref_bid, 1e-9), 5000.0), rel=1e-10, abs=1e-12)
        assert ask == pytest.approx(min(max(ref_ask, 1e-9), 5000.0), rel=1e-10, abs=1e-12)


def test_jitted_kernel_equals_its_interpreted_python_on_the_same_inputs():
    from tests.trader.strategy.builders import live_params

    rng = np.random.default_rng(7)
    packed = live_params().to_array()
    for _ in range(200):
        state = market_state_vector(
            mid=float(rng.uniform(50, 150)),
            inventory=float(rng.uniform(-12, 12)),
            hawkes_buy_ratio=float(rng.uniform(0, 4)),
            hawkes_sell_ratio=float(rng.uniform(0, 4)),
            jump_regime=bool(rng.integers(2)),
            funding_per_hour=float(rng.choice([np.nan, rng.normal(0, 1e-3)])),
            sigma_scale=float(rng.uniform(0.2, 3)),
        )
        jitted, interpreted = new_quote(), new_quote()
        glft_quote(state, packed, jitted)
        glft_quote.py_func(state, packed, interpreted)
        np.testing.assert_allclose(jitted, interpreted, rtol=1e-12, equal_nan=True)


@njit(cache=True)
def _requote_many(state, params, out, n):
    total = 0.0
    for i in range(n):
        state[1] = 100.0 + 0.01 * (i % 7)
        glft_quote(state, params, out)
        total += out[OUT_ASK_PX] - out[OUT_BID_PX]
    return total


def test_kernel_is_callable_from_a_jitted_backtest_loop():
    packed = bare_params(tick_size=0.01).to_array()
    state = market_state_vector(mid=MID)
    total = _requote_many(state, packed, new_quote(), 1000)
    assert math.isfinite(total) and total > 0.0
