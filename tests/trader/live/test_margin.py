"""Margin-aware sizing: liquidation arithmetic, the cap the quoter obeys, margin triggers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.trader.live.conftest import make_engine
from trader.risk import MarginConfig, RiskLimits
from trader.risk.margin import liquidation_price, margin_max_position, margin_utilisation
from trader.sim import EventStream


def test_at_50x_a_two_percent_move_takes_the_whole_margin() -> None:
    mark, q = 100.0, 1.0
    collateral = q * mark / 50.0
    p_liq = liquidation_price(q, mark, collateral, maintenance_rate=0.005)
    assert (mark - p_liq) / mark == pytest.approx(1.0 - 0.98 / 0.995, rel=1e-12)
    assert (mark - p_liq) / mark < 0.02
    short = liquidation_price(-q, mark, collateral, maintenance_rate=0.005)
    assert (short - mark) / mark == pytest.approx(1.02 / 1.005 - 1.0, rel=1e-12)
    # At the liquidation price the equity left is exactly the maintenance margin.
    equity_at_liq = collateral + q * (p_liq - mark)
    assert equity_at_liq == pytest.approx(0.005 * q * p_liq, rel=1e-12)
    assert margin_utilisation(q, p_liq, equity_at_liq, 0.005) == pytest.approx(1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_cap_puts_liquidation_exactly_the_buffer_away(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(50):
        config = MarginConfig(collateral=float(rng.uniform(10, 1e5)),
                              leverage=float(rng.uniform(20, 200)),
                              maintenance_rate=float(rng.uniform(0, 0.05)),
                              buffer=float(rng.uniform(0.005, 0.3)))
        mark = float(rng.uniform(0.1, 1e5))
        cap = margin_max_position(config, mark, max_position=math.inf)
        assert cap <= config.leverage * config.collateral / mark * (1 + 1e-12)
        distances = [abs(liquidation_price(side * cap, mark, config.collateral,
                                           config.maintenance_rate) - mark) / mark
                     for side in (1.0, -1.0)]
        # The binding side sits exactly at the buffer (unless leverage binds first), and
        # neither side is closer.
        assert min(distances) >= config.buffer * (1 - 1e-9)
        leverage_binds = cap < min(
            config.collateral / (mark * (1 - (1 - config.maintenance_rate) * (1 - config.buffer))),
            config.collateral / (mark * ((1 + config.maintenance_rate) * (1 + config.buffer) - 1)),
        )
        if not leverage_binds:
            assert min(distances) == pytest.approx(config.buffer, rel=1e-9)


def test_the_quoter_never_holds_more_than_the_margin_allows(day_events: EventStream) -> None:
    # SOL near 150: 200 of collateral at a 5 % buffer and 0.5 % maintenance allows about
    # 200 / (150 x 0.0549) = 24 SOL, below the settings' 50.
    margin = MarginConfig(collateral=200.0, leverage=20.0, maintenance_rate=0.005, buffer=0.05)
    engine = make_engine(day_events, limits=RiskLimits(max_margin_utilisation=1.0,
                                                       min_liquidation_distance=0.001),
                         margin=margin)
    largest = largest_cap = 0.0
    for i in range(150_000):
        engine.on_event(i, i)
        largest = max(largest, abs(float(engine.acct[1])))
        if not math.isnan(engine.margin_mark):  # the cap follows a known mark
            largest_cap = max(largest_cap, engine.position_cap)
    assert not engine.kill.active
    assert engine.position_cap < engine.settings.max_position
    expected = margin_max_position(margin, float(engine.acct[2]), engine.settings.max_position)
    assert engine.position_cap == pytest.approx(expected, rel=2e-3)
    # The cap follows the mark: a position taken under a higher cap (lower mark) is kept,
    # never added to past the cap of the moment.
    assert largest <= largest_cap + 1e-9
    assert largest >= largest_cap - 2 * engine.settings.order_size  # it did get there


def _resumed_long(day_events: EventStream, position: float, margin: MarginConfig,
                  limits: RiskLimits) -> tuple[object, int]:
    engine = make_engine(day_events, limits=limits, margin=margin)
    engine.restore({"position": position, "cash": -position * 150.0, "mid": None, "fills": 0,
                    "accumulators": {"spread": 0.0, "carry": 0.0, "fees": 0.0,
                                     "funding": 0.0, "filled_qty": 0.0, "quoted_qty": 0.0,
                                     "adverse": 0.0, "peak_equity": None}})
    for i in range(2_000):
        engine.on_event(i, i)
        if engine.kill.active:
            return engine, i + 1
    raise AssertionError("no margin trip")


def test_liquidation_too_close_trips(day_events: EventStream) -> None:
    # 20 SOL (~3,000 notional) on 100 of collateral: liquidation ~2.8 % away, limit 5 %.
    margin = MarginConfig(collateral=100.0, leverage=50.0)
    engine, _ = _resumed_long(day_events, 20.0, margin,
                              RiskLimits(max_margin_utilisation=1.0,
                                         min_liquidation_distance=0.05))
    assert [r.trigger for r in engine.kill.reasons] == ["liquidation_distance"]  # type: ignore[attr-defined]
    assert engine.counters()["orders"] == 0  # type: ignore[attr-defined]


def test_margin_utilisation_trips(day_events: EventStream) -> None:
    # Maintenance 0.5 % of ~3,000 = 15 on 100 of collateral: 15 % utilisation, limit 10 %.
    margin = MarginConfig(collateral=100.0, leverage=50.0)
    engine, _ = _resumed_long(day_events, 20.0, margin,
                              RiskLimits(max_margin_utilisation=0.10,
                                         min_liquidation_distance=0.001))
    assert [r.trigger for r in engine.kill.reasons] == ["margin_utilisation"]  # type: ignore[attr-defined]
