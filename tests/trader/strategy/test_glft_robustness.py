"""Garbage in, safe quotes out: finite, non-negative, uncrossed, or the side off."""

from __future__ import annotations

import math

import numpy as np

from tests.trader.strategy.builders import live_params
from trader.market_state import (
    OUT_ASK_PX,
    OUT_ASK_SZ,
    OUT_BID_PX,
    OUT_BID_SZ,
    S_INVENTORY,
    STATE_LEN,
    new_quote,
)
from trader.strategy import compute_quotes, glft_quote, market_state_vector
from trader.strategy.params import (
    P_GAMMA,
    P_KAPPA_ASK,
    P_KAPPA_BID,
    P_MAX_HALF_SPREAD_BPS,
    P_MAX_POSITION,
    P_SIGMA_BID,
    PARAMS_LEN,
)

GARBAGE = (math.nan, math.inf, -math.inf, 0.0, -1.0, -1e300, 1e300, 5e-324, 1e-300)


def _assert_safe(out, state, params):
    context = f"state={state.tolist()} params={params.tolist()} out={out.tolist()}"
    for px_slot, sz_slot in ((OUT_BID_PX, OUT_BID_SZ), (OUT_ASK_PX, OUT_ASK_SZ)):
        px, sz = out[px_slot], out[sz_slot]
        if sz == 0.0:
            assert math.isnan(px), context  # off: no stale price left behind
        else:
            assert math.isfinite(px) and px > 0.0, context
            assert math.isfinite(sz) and sz > 0.0, context
    if out[OUT_BID_SZ] > 0.0 and out[OUT_ASK_SZ] > 0.0:
        assert out[OUT_BID_PX] < out[OUT_ASK_PX], context
    inventory, max_position = state[S_INVENTORY], params[P_MAX_POSITION]
    if math.isfinite(inventory) and math.isfinite(max_position):
        assert inventory + out[OUT_BID_SZ] <= max(max_position, inventory) + 1e-9, context
        assert inventory - out[OUT_ASK_SZ] >= min(-max_position, inventory) - 1e-9, context


def test_random_garbage_in_state_and_params_never_gives_unsafe_quotes():
    rng = np.random.default_rng(20130101)
    good_params = live_params().to_array()
    out = new_quote()
    for _ in range(5000):
        state = market_state_vector(
            mid=float(rng.uniform(1, 1e5)),
            inventory=float(rng.uniform(-12, 12)),
            best_bid=float(rng.uniform(1, 1e5)),
            best_ask=float(rng.uniform(1, 1e5)),
            fair_px=float(rng.uniform(1, 1e5)),
            hawkes_buy_ratio=float(rng.uniform(0, 5)),
            hawkes_sell_ratio=float(rng.uniform(0, 5)),
            jump_regime=bool(rng.integers(2)),
            funding_per_hour=float(rng.normal(0, 1e-3)),
            sigma_scale=float(rng.uniform(0.1, 5)),
        )
        params = good_params.copy()
        for slot in rng.choice(STATE_LEN, size=rng.integers(0, 4), replace=False):
            state[slot] = rng.choice(GARBAGE)
        for slot in rng.choice(PARAMS_LEN, size=rng.integers(0, 4), replace=False):
            params[slot] = rng.choice(GARBAGE) if rng.random() < 0.7 else rng.normal(0, 100)
        glft_quote(state, params, out)
        _assert_safe(out, state, params)


def test_a_broken_model_parameter_widens_that_side_to_the_max_clamp():
    params = live_params(max_half_spread_bps=80.0)
    state = market_state_vector(mid=100.0)
    for value in (math.nan, math.inf, 0.0, -0.5):
        packed = params.to_array()
        packed[P_KAPPA_BID] = value
        quotes = compute_quotes(packed, state)
        assert quotes.bid_depth_bps == 80.0
        assert quotes.ask_depth_bps < 80.0  # the ask's own params are fine
        packed[P_KAPPA_ASK] = value
        packed[P_KAPPA_BID] = params.kappa_bid_per_bps
        packed[P_SIGMA_BID] = value
        quotes = compute_quotes(packed, state)
        assert quotes.bid_depth_bps == quotes.ask_depth_bps == 80.0


def test_a_broken_shared_parameter_or_live_input_widens_both_sides():
    params = live_params(max_half_spread_bps=80.0)
    packed = params.to_array()
    packed[P_GAMMA] = -0.1
    quotes = compute_quotes(packed, market_state_vector(mid=100.0))
    assert quotes.bid_depth_bps == quotes.ask_depth_bps == 80.0
    for state in (
        market_state_vector(mid=100.0, sigma_scale=math.nan),
        market_state_vector(mid=100.0, funding_per_hour=math.inf),
    ):
        quotes = compute_quotes(params, state)
        assert quotes.bid_depth_bps == quotes.ask_depth_bps == 80.0
    burst = compute_quotes(params, market_state_vector(mid=100.0, hawkes_buy_ratio=math.inf))
    assert burst.ask_depth_bps == 80.0 and burst.bid_depth_bps < 80.0


def test_an_unknown_jump_state_counts_as_a_jump():
    params = live_params()
    calm = compute_quotes(params, market_state_vector(mid=100.0))
    state = market_state_vector(mid=100.0)
    state[10] = math.nan
    unknown = compute_quotes(params, state)
    jump = compute_quotes(params, market_state_vector(mid=100.0, jump_regime=True))
    assert unknown.bid_depth_bps == jump.bid_depth_bps > calm.bid_depth_bps


def test_no_usable_mid_or_inventory_switches_both_sides_off():
    params = live_params()
    for state in (
        market_state_vector(mid=math.nan),
        market_state_vector(mid=-1.0, best_bid=100.0, best_ask=99.0),  # crossed book
        market_state_vector(mid=100.0, inventory=math.nan),
    ):
        quotes = compute_quotes(params, state)
        assert not quotes.bid_on and not quotes.ask_on
    rescued = compute_quotes(
        params, market_state_vector(mid=math.nan, best_bid=99.0, best_ask=101.0)
    )
    assert rescued.centre_px == 100.0 and rescued.bid_on and rescued.ask_on


def test_broken_clamps_switch_both_sides_off():
    packed = live_params().to_array()
    packed[P_MAX_HALF_SPREAD_BPS] = math.nan
    out = new_quote()
    glft_quote(market_state_vector(mid=100.0), packed, out)
    assert out[OUT_BID_SZ] == out[OUT_ASK_SZ] == 0.0
