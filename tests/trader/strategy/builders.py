"""Param and state builders shared by the strategy tests."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from trader.strategy import StrategyParams

MID = 100.0


def bare_params(**overrides: Any) -> StrategyParams:
    """The closed form alone: every adjustment neutral, clamps and grids out of the way."""
    base = StrategyParams(
        gamma=0.05,
        order_size=1.0,
        max_position=10.0,
        tick_size=1e-9,
        lot_size=1e-6,
        kappa_bid_per_bps=0.5,
        kappa_ask_per_bps=0.5,
        A_bid_per_s=1.0,
        A_ask_per_s=1.0,
        sigma_bid_bps_per_sqrt_s=1.0,
        sigma_ask_bps_per_sqrt_s=1.0,
        student_t_df=math.inf,
        as_addon_depth_bps=(0.0,),
        as_addon_bps=(0.0,),
        hawkes_widening_per_excess_ratio=0.0,
        jump_widening_multiplier=1.0,
        funding_rate_per_hour=0.0,
        carry_horizon_s=0.0,
        min_half_spread_bps=1e-6,
        max_half_spread_bps=5000.0,
    )
    return dataclasses.replace(base, **overrides)


def live_params(**overrides: Any) -> StrategyParams:
    """A realistic set with every adjustment active, for direction tests."""
    base = bare_params(
        tick_size=0.01,
        lot_size=0.001,
        as_addon_depth_bps=(0.0, 5.0),
        as_addon_bps=(1.0, 0.5),
        hawkes_widening_per_excess_ratio=0.5,
        jump_widening_multiplier=2.0,
        funding_rate_per_hour=1e-4,
        carry_horizon_s=3600.0,
        min_half_spread_bps=0.1,
        max_half_spread_bps=200.0,
    )
    return dataclasses.replace(base, **overrides)


def good_quoting() -> dict[str, Any]:
    """A schema 1 quoting block with every field usable."""
    return {
        "sigma_bps_per_sqrt_s": 1.0,
        "kappa_bid_per_bps": 0.5,
        "kappa_ask_per_bps": 0.6,
        "A_bid_per_s": 1.5,
        "A_ask_per_s": 1.2,
        "as_addon_bps": 0.8,
        "hawkes_branching_ratio": 0.6,
        "hawkes_decay_per_s": 2.0,
        "funding_rate_per_hour": 5e-5,
        "microprice_fallback_to_mid": False,
        "microprice_r2_oos": 0.05,
    }


TRADER_SETTINGS: dict[str, float] = {
    "gamma": 0.05,
    "order_size": 0.01,
    "max_position": 0.1,
    "tick_size": 0.1,
    "lot_size": 0.001,
}
