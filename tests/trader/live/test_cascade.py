"""Liquidation-cascade detection: bursts trip it, an ordinary day does not."""

from __future__ import annotations

import numpy as np
import pytest

from tests.trader.live.conftest import head, make_engine
from trader.market_state import S_HAWKES_SELL_RATIO
from trader.risk import CascadeDetector, CascadeSettings
from trader.sim import EventStream
from trader.sim.events import KIND_TRADE

S = 1_000_000_000


def warmed(settings: CascadeSettings | None = None, seconds: int = 700) -> CascadeDetector:
    """A detector that has learnt ~10 trades a second of size ~1 on each side."""
    det = CascadeDetector(settings or CascadeSettings())
    rng = np.random.default_rng(0)
    for k in range(seconds * 10):
        size = float(rng.lognormal(0.0, 0.5))
        assert det.on_trade(k * S // 10, 1 if k % 2 else -1, size) is None
    return det


def test_a_one_sided_volume_surge_trips():
    # Normal: ~10 trades/s of ~1.1 -> ~23 per 2 s; a sweep of 40 x 500 in 1 s is ~870x.
    det = warmed()
    t0 = 701 * S
    reasons = [det.on_trade(t0 + k * S // 40, -1, 500.0) for k in range(40)]
    tripped = [w for w in reasons if w]
    assert tripped and "aggressive sell volume" in tripped[0]
    assert reasons.index(tripped[0]) > 10  # not on the first large print
    assert det.surge(-1) > 500


def test_balanced_or_slow_volume_does_not_trip():
    det = warmed()
    t0 = 701 * S
    # Ten times the volume, but spread over a minute: 10x, not a cascade.
    for k in range(600):
        assert det.on_trade(t0 + k * S // 10, -1, 10.0) is None


def test_nothing_trips_before_the_long_run_rate_is_learnt():
    det = CascadeDetector(CascadeSettings(long_run_s=60.0))
    det.on_trade(0, 1, 1.0)
    for k in range(200):  # 2 s in, long before the 60 s the rate needs
        assert det.on_trade(S + k * S // 100, -1, 100.0) is None


def test_an_intensity_spike_trips_at_the_threshold():
    det = CascadeDetector(CascadeSettings(intensity_ratio=8.0))
    assert det.on_intensity(7.9, 1.0) is None
    why = det.on_intensity(1.0, 8.0)
    assert why is not None and "sell intensity" in why


def test_settings_are_checked():
    for bad in ({"intensity_ratio": 1.0}, {"surge_factor": 0.5}, {"burst_window_s": 0.0},
                {"long_run_s": 1.0}):
        with pytest.raises(ValueError):
            CascadeSettings(**bad)


def test_an_ordinary_synthetic_day_never_trips_the_volume_rule(day_events: EventStream):
    trades = np.flatnonzero(day_events.kind == KIND_TRADE)
    det = CascadeDetector()
    trips = [det.on_trade(int(day_events.ts_ns[i]), int(day_events.side[i]),
                          float(day_events.size[i])) for i in trades]
    assert len(trades) > 10_000
    assert not any(trips)


def test_the_engine_trips_cancels_everything_and_stops_quoting(day_events: EventStream):
    events = head(day_events, 6000)
    engine = make_engine(events)
    for i in range(5000):
        engine.on_event(i, i)
    assert not engine.kill.active and engine.resting() > 0
    # A sell cascade as the Hawkes state would see it.
    engine.state[S_HAWKES_SELL_RATIO] = 150.0  # past the default 100x
    engine._check_cascade(int(events.ts_ns[4999]), -1, float(events.size[0]))
    assert engine.kill.active
    assert [r.trigger for r in engine.kill.reasons] == ["liquidation_cascade"]
    orders_before = engine.counters()["orders"]
    for i in range(5000, 6000):
        engine.on_event(i, i)
    engine.drain()
    assert engine.resting() == 0
    assert engine.counters()["orders"] == orders_before


@pytest.mark.parametrize(("venue", "symbol"), [("binance", "BTCUSDT"), ("binance", "ETHUSDT"),
                                               ("hyperliquid", "BTC"), ("lobster", "GOOG")])
def test_no_real_sample_trips_the_volume_rule(real_lake, venue: str, symbol: str):
    trades = real_lake.read("trades", venue=venue, symbol=symbol).sort_by("ts")
    det = CascadeDetector()
    ts = trades.column("ts").to_numpy()
    side = trades.column("side").to_numpy()
    size = trades.column("size").to_numpy()
    trips = [det.on_trade(int(t), int(s), float(z)) for t, s, z in zip(ts, side, size, strict=True)]
    assert len(trips) > 50
    assert not any(trips), next(w for w in trips if w)
