"""Reading a quoting block: schema 1, the coming fields, and fallbacks that only widen."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from data_lake.registry.document import QuotingParams
from tests.trader.strategy.builders import TRADER_SETTINGS, good_quoting
from trader.strategy import StrategyParams, compute_quotes, from_quoting, market_state_vector
from trader.strategy.glft import addon_at_depth_bps

MID = 50_000.0


def _depths(params: StrategyParams, inventory: float = 0.0) -> tuple[float, float]:
    quotes = compute_quotes(params, market_state_vector(mid=MID, inventory=inventory))
    return quotes.bid_depth_bps, quotes.ask_depth_bps


def test_a_valid_schema_1_block_maps_field_by_field_without_fallbacks():
    quoting = QuotingParams(**good_quoting()).model_dump(exclude_unset=True)
    params = from_quoting(quoting, **TRADER_SETTINGS)
    assert params.fallbacks == ()
    assert params.sigma_bid_bps_per_sqrt_s == params.sigma_ask_bps_per_sqrt_s == 1.0
    assert (params.kappa_bid_per_bps, params.kappa_ask_per_bps) == (0.5, 0.6)
    assert (params.A_bid_per_s, params.A_ask_per_s) == (1.5, 1.2)
    assert params.as_addon_depth_bps == (0.0,) and params.as_addon_bps == (0.8,)
    assert params.student_t_df == math.inf
    assert params.hawkes_min_ratio == 1.0
    assert params.funding_rate_per_hour == 5e-5 and params.funding_uncertainty_per_hour == 0.0
    assert params.use_microprice
    assert params.gamma == 0.05 and params.order_size == 0.01


def test_the_coming_schema_fields_are_read_when_present():
    quoting = good_quoting() | {
        "sigma_down_bps_per_sqrt_s": 1.4,
        "sigma_up_bps_per_sqrt_s": 0.9,
        "student_t_df": 4.0,
        "as_addon_curve_depth_bps": [0.0, 2.0, 6.0],
        "as_addon_curve_bps": [1.5, 0.7, 0.2],
        "hawkes_mu_per_s": [0.3, 0.4],
        "hawkes_branching_matrix": [[0.3, 0.1], [0.2, 0.3]],
        "microprice_coef_bps": [0.8, -0.1],
    }
    params = from_quoting(quoting, **TRADER_SETTINGS)
    assert params.fallbacks == ()
    assert params.sigma_bid_bps_per_sqrt_s == 1.4 and params.sigma_ask_bps_per_sqrt_s == 0.9
    assert params.student_t_df == 4.0
    assert params.as_addon_depth_bps == (0.0, 2.0, 6.0)
    assert params.as_addon_bps == (1.5, 0.7, 0.2)
    assert params.hawkes_min_ratio == 1.0 and params.use_microprice


def test_the_burst_toxicity_is_read_and_a_broken_one_falls_back_to_the_setting():
    params = from_quoting(good_quoting() | {"hawkes_toxicity_bps_per_excess": 1.25},
                          **TRADER_SETTINGS)
    assert params.hawkes_toxicity_bps_per_excess == 1.25 and params.fallbacks == ()
    assert math.isnan(from_quoting(good_quoting(), **TRADER_SETTINGS)
                      .hawkes_toxicity_bps_per_excess)
    for bad in (-1.0, math.nan, "wide"):
        broken = from_quoting(good_quoting() | {"hawkes_toxicity_bps_per_excess": bad},
                              **TRADER_SETTINGS)
        assert math.isnan(broken.hawkes_toxicity_bps_per_excess)
        assert any(n.startswith("hawkes_toxicity_bps_per_excess") for n in broken.fallbacks)


def test_a_long_addon_curve_is_resampled_to_eight_points_never_below_the_original():
    depths = list(np.linspace(0.0, 20.0, 41))
    addons = [2.0 + math.sin(d) for d in depths]
    quoting = good_quoting() | {"as_addon_curve_depth_bps": depths, "as_addon_curve_bps": addons}
    params = from_quoting(quoting, **TRADER_SETTINGS)
    assert len(params.as_addon_depth_bps) == 8
    assert any("resampled" in note for note in params.fallbacks)
    packed = params.to_array()
    for depth in np.linspace(-1.0, 25.0, 500):
        assert addon_at_depth_bps(packed, depth) >= np.interp(depth, depths, addons) - 1e-12


# (field, broken value); None deletes the field.
BROKEN_FIELDS = [
    (name, value)
    for name in (
        "sigma_bps_per_sqrt_s",
        "kappa_bid_per_bps",
        "kappa_ask_per_bps",
        "A_bid_per_s",
        "A_ask_per_s",
        "as_addon_bps",
        "hawkes_branching_ratio",
        "funding_rate_per_hour",
    )
    for value in (None, math.nan, math.inf, 0.0, -1.0, 1e9, "x")
    if not (value == 0.0 and name in ("as_addon_bps", "hawkes_branching_ratio"))
    if not (value == 0.0 and name == "funding_rate_per_hour")
] + [
    ("hawkes_decay_per_s", math.nan),
    ("hawkes_decay_per_s", -2.0),
    ("sigma_down_bps_per_sqrt_s", math.nan),
    ("sigma_up_bps_per_sqrt_s", 0.0),
    ("student_t_df", math.nan),
    ("student_t_df", -3.0),
    ("student_t_df", None),
    ("hawkes_branching_matrix", [[0.9, 0.5], [0.5, 0.9]]),
    ("hawkes_branching_matrix", [[0.1, 0.2]]),
    ("hawkes_mu_per_s", [0.3, -1.0]),
]


@pytest.mark.parametrize(("name", "value"), BROKEN_FIELDS)
def test_every_fallback_widens_the_quotes_and_is_recorded(name, value):
    good = from_quoting(good_quoting(), **TRADER_SETTINGS)
    broken_block = good_quoting()
    if value is None and name in broken_block:
        del broken_block[name]
    else:
        broken_block[name] = value
    broken = from_quoting(broken_block, **TRADER_SETTINGS)
    assert any(note.startswith(name) for note in broken.fallbacks), broken.fallbacks
    good_bid, good_ask = _depths(good)
    bid, ask = _depths(broken)
    assert bid >= good_bid - 1e-12 and ask >= good_ask - 1e-12
    # A broken per-side sigma falls back to the symmetric one the good block already uses.
    assert bid + ask > good_bid + good_ask or name.startswith(("sigma_up", "sigma_down"))
    # With inventory, the side that would add to it widens too; the side that reduces it
    # follows the closed form, whose skew grows with the (larger) risk it is told about.
    long_bid = _depths(broken, 0.03)[0]
    short_ask = _depths(broken, -0.03)[1]
    assert long_bid >= _depths(good, 0.03)[0] - 1e-12
    assert short_ask >= _depths(good, -0.03)[1] - 1e-12


def test_a_broken_per_side_sigma_takes_the_larger_usable_sigma():
    quoting = good_quoting() | {
        "sigma_down_bps_per_sqrt_s": math.nan,
        "sigma_up_bps_per_sqrt_s": 1.7,
    }
    params = from_quoting(quoting, **TRADER_SETTINGS)
    assert params.sigma_bid_bps_per_sqrt_s == 1.7
    assert params.sigma_ask_bps_per_sqrt_s == 1.7


def test_no_usable_sigma_at_all_takes_the_sanity_bound():
    quoting = good_quoting() | {"sigma_bps_per_sqrt_s": math.nan}
    params = from_quoting(quoting, **TRADER_SETTINGS)
    assert params.sigma_bid_bps_per_sqrt_s == params.sigma_ask_bps_per_sqrt_s == 50.0
    assert params.fallbacks == (
        "sigma_bps_per_sqrt_s: NaN -> 50.0 for the bid",
        "sigma_bps_per_sqrt_s: NaN -> 50.0 for the ask",
    )


def test_broken_addon_curve_points_take_the_maximum_addon():
    quoting = good_quoting() | {
        "as_addon_curve_depth_bps": [0.0, 2.0, 6.0],
        "as_addon_curve_bps": [1.5, math.nan, 0.2],
    }
    params = from_quoting(quoting, **TRADER_SETTINGS, max_half_spread_bps=40.0)
    assert params.as_addon_bps == (1.5, 40.0, 0.2)
    assert params.fallbacks == ("as_addon_curve_bps[1]: NaN -> 40.0 (max add-on)",)
    unsorted = good_quoting() | {
        "as_addon_curve_depth_bps": [0.0, 6.0, 2.0],
        "as_addon_curve_bps": [1.5, 0.7, 0.2],
    }
    params = from_quoting(unsorted, **TRADER_SETTINGS, max_half_spread_bps=40.0)
    assert params.as_addon_bps == (40.0,)
    assert _depths(params) == (40.0, 40.0)


def test_unusable_microprice_fit_centres_on_the_mid():
    for patch in (
        {"microprice_r2_oos": None},
        {"microprice_r2_oos": math.nan},
        {"microprice_fallback_to_mid": None},
        {"microprice_coef_bps": [0.3, math.inf]},
    ):
        params = from_quoting(good_quoting() | patch, **TRADER_SETTINGS)
        assert not params.use_microprice
        assert params.fallbacks, patch
        state = market_state_vector(mid=MID, fair_px=MID + 3.0)
        assert compute_quotes(params, state).centre_px == MID


def test_a_fit_that_chose_the_mid_or_scored_too_low_centres_on_the_mid_without_a_fallback():
    for patch in ({"microprice_fallback_to_mid": True}, {"microprice_r2_oos": -0.2}):
        params = from_quoting(good_quoting() | patch, **TRADER_SETTINGS)
        assert not params.use_microprice and params.fallbacks == ()


def test_invalid_trader_settings_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="order_size"):
        from_quoting(good_quoting(), **(TRADER_SETTINGS | {"order_size": 0.0}))
    with pytest.raises(ValueError, match="at least one lot"):
        from_quoting(good_quoting(), **(TRADER_SETTINGS | {"lot_size": 1.0}))
    with pytest.raises(ValueError, match="min_half_spread_bps"):
        from_quoting(good_quoting(), **TRADER_SETTINGS, min_half_spread_bps=60.0)
    with pytest.raises(ValueError, match="gamma"):
        from_quoting(good_quoting(), **(TRADER_SETTINGS | {"gamma": math.nan}))


def test_strategy_params_refuse_a_unit_slip_in_funding():
    good = from_quoting(good_quoting(), **TRADER_SETTINGS)
    with pytest.raises(ValueError, match="fraction per hour"):
        dataclasses.replace(good, funding_rate_per_hour=1.25)  # bps, not a fraction


def test_packed_array_has_the_curve_padded_with_nan():
    params = from_quoting(good_quoting(), **TRADER_SETTINGS)
    packed = params.to_array()
    from trader.strategy.params import AS_CURVE_POINTS, P_AS_ADDON_0, P_AS_DEPTH_0, PARAMS_LEN

    assert packed.shape == (PARAMS_LEN,) and packed.dtype == np.float64
    assert packed[P_AS_DEPTH_0] == 0.0 and packed[P_AS_ADDON_0] == 0.8
    assert np.isnan(packed[P_AS_DEPTH_0 + 1 : P_AS_DEPTH_0 + AS_CURVE_POINTS]).all()
    assert np.isnan(packed[P_AS_ADDON_0 + 1 : P_AS_ADDON_0 + AS_CURVE_POINTS]).all()
