"""Portfolio limits across symbols: the risk measure by hand, the side that adds risk pulled
while the hedging side quotes, and the hard breach killing (all orders cancelled, none
placed after)."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry
from typer.testing import CliRunner

from data_lake.paths import LakePaths
from data_lake.registry import ParamSet
from tests.trader.live.conftest import DAY, FIT_DAY, SYMBOL, head, new_home
from tests.trader.test_cli_backtest import synthetic_document
from trader.cli import app
from trader.live.engine import SymbolEngine
from trader.live.feed import ReplayFeed
from trader.live.latency import LatencyRecorder
from trader.live.metrics import TraderCollector
from trader.live.params import build_params
from trader.live.runner import RunConfig, Trader
from trader.market_state import new_state
from trader.risk import KillReason, KillSwitch, RiskLimits
from trader.risk.portfolio import HORIZON_S, PortfolioModel, model_of_sets, portfolio_model
from trader.risk.portfolio_guard import PortfolioGuard
from trader.settings import default_settings
from trader.sim import EventStream
from trader.sim.events import KIND_BOOK
from trader.sim.exchange import O_SIDE, O_STATE

_HOUR = math.sqrt(HORIZON_S) * 1e-4  # bps per sqrt(s) -> 1-hour return std (fraction)


def _correlation_block(symbols: list[str], slow_rho: float | None, *, hedge: str | None = "BTC",
                       ratios: dict[str, list[float]] | None = None) -> dict[str, Any]:
    """A ``models.correlation`` block as calibration.correlation writes it: a fast (60 s,
    rho 0.1) and a slow (3600 s, ``slow_rho``) estimate; the slow one is nearest 1 hour."""
    def matrix(rho: float | None) -> list[list[float | None]]:
        return [[1.0 if i == j else rho for j in range(len(symbols))]
                for i in range(len(symbols))]

    return {
        "symbols": symbols,
        "estimates": [{"half_life_s": 60.0, "correlation": matrix(0.1)},
                      {"half_life_s": 3600.0, "correlation": matrix(slow_rho)}],
        "hedge_symbol": hedge,
        "hedge_ratios": ratios if ratios is not None else {},
    }


# -- the measure, by hand --------------------------------------------------------------------


def test_risk_and_beta_net_against_a_hand_computation() -> None:
    block = _correlation_block(["ETH", "BTC"], 0.6,
                               ratios={"ETH": [9.0, 1.3], "BTC": [1.0, 1.0]})
    model = portfolio_model({"BTC": 1.0, "ETH": 2.0}, {"BTC": block, "ETH": block})
    assert model.symbols == ("BTC", "ETH") and model.notes == ()
    assert model.sigma_horizon == pytest.approx((0.006, 0.012))  # 1 and 2 bps/sqrt(s) x 60
    # Long 10 000 of BTC, short 5 000 of ETH: each 60 of 1-hour std, correlated 0.6.
    x = [10_000.0, -5_000.0]
    assert model.variance(x) == pytest.approx(60.0**2 + 60.0**2 - 2 * 0.6 * 60.0 * 60.0)
    assert model.risk(x) == pytest.approx(math.sqrt(2880.0))
    assert model.beta_net(x) == pytest.approx(10_000.0 - 1.3 * 5_000.0)  # the 1 h ratio
    assert model.risk([0.0, 0.0]) == 0.0
    assert model.risk([10_000.0, 5_000.0]) == pytest.approx(math.sqrt(3600 * 2 * 1.6))


def test_moving_one_leg_updates_the_variance_as_a_full_recomputation() -> None:
    rng = np.random.default_rng(3)
    # BTC-ETH known (0.7), SOL unknown with both: signs matter there.
    blocks = {"BTC": _correlation_block(["BTC", "ETH"], 0.7)}
    model = portfolio_model({"BTC": 1.0, "ETH": 1.8, "SOL": 2.5}, blocks)
    assert model.correlation[0][2] is None and model.correlation[1][2] is None
    for _ in range(200):
        x = list(rng.normal(0.0, 1e4, 3) * (rng.random(3) < 0.8))
        i = int(rng.integers(3))
        new = float(rng.normal(0.0, 1e4))
        moved = list(x)
        moved[i] = new
        assert model.variance_moved(x, model.variance(x), i, new) == pytest.approx(
            model.variance(moved), rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("bad", [None, math.nan, 1.7, "0.5"])
def test_unknown_correlation_gives_no_hedge_credit_and_is_noted(bad: Any) -> None:
    blocks = {"BTC": _correlation_block(["BTC", "ETH"], bad, ratios={"BTC": [1.0, 1.0]})}
    model = portfolio_model({"BTC": 1.0, "ETH": 2.0}, blocks)
    assert model.correlation[0][1] is None
    assert any("no valid published correlation of BTC and ETH" in n for n in model.notes)
    # Same-sign exposures: correlation 1; opposite ones: their risks still add.
    assert model.risk([10_000.0, 5_000.0]) == pytest.approx(120.0)
    assert model.risk([10_000.0, -5_000.0]) == pytest.approx(120.0)
    # No hedge ratio for ETH: the beta at correlation 1, its sigma over the hedge's.
    assert model.beta[1] == pytest.approx(2.0)
    assert any("no valid published hedge ratio of ETH on BTC" in n for n in model.notes)


def test_a_set_without_a_correlation_block_or_sigma() -> None:
    model = portfolio_model({"SOL": 1.5}, {})
    assert model.beta == (1.0,) and model.hedge_symbol is None
    assert model.risk([-1_000.0]) == pytest.approx(1_000.0 * 1.5 * _HOUR)
    with pytest.raises(ValueError, match=r"SOL: quoting\.sigma_bps_per_sqrt_s must be finite"):
        portfolio_model({"SOL": math.nan}, {})


# -- enforcement on two live engines ---------------------------------------------------------

BTC, ETH = "BTC", "ETH"
_ORDER_SIZE = 5.0  # the synthetic SOL settings' order size (max position 50)


def _document(correlation: dict[str, Any]) -> ParamSet:
    doc = synthetic_document(SYMBOL, FIT_DAY)
    doc["models"]["correlation"] = correlation
    return ParamSet.model_validate(doc)


def _legs(events: EventStream, limits: RiskLimits, positions: tuple[float, float],
          rho: float = 0.8) -> tuple[list[SymbolEngine], PortfolioGuard, KillSwitch]:
    """Two engines, named BTC and ETH, both quoting the SOL test set on the SOL day, resumed
    with ``positions``, sharing one kill switch (which halts both) and one guard."""
    kill = KillSwitch()
    block = _correlation_block([BTC, ETH], rho, ratios={ETH: [1.0, 0.9], BTC: [1.0, 1.0]})
    engines = []
    for name, position in zip((BTC, ETH), positions, strict=True):
        settings = dataclasses.replace(default_settings("synthetic", SYMBOL), symbol=name)
        assert settings.order_size == _ORDER_SIZE
        loaded = build_params(_document(block), settings, new_state())
        engine = SymbolEngine(settings, loaded, ReplayFeed(events, DAY, speed=0), limits, kill,
                              LatencyRecorder())
        engine.restore({"position": position, "cash": 0.0, "mid": None, "fills": 0,
                        "accumulators": {"spread": 0.0, "carry": 0.0, "fees": 0.0,
                                         "funding": 0.0, "filled_qty": 0.0,
                                         "quoted_qty": 0.0, "adverse": 0.0,
                                         "peak_equity": None}})
        engines.append(engine)

    def halt(_reason: KillReason) -> None:
        for engine in engines:
            engine.halt(flatten_position=False)

    kill.on_trip = halt
    model = model_of_sets({e.symbol: e.params.document for e in engines})
    guard = PortfolioGuard(model, engines, limits, kill)
    for engine in engines:
        engine.portfolio = guard
    return engines, guard, kill


def _risk_at_first_mid(events: EventStream, positions: tuple[float, float]) -> float:
    """The model's 1-hour risk of ``positions`` at the day's first mid (both legs)."""
    row = int(events.level_row[int(np.flatnonzero(events.kind == KIND_BOOK)[0])])
    mid = 0.5 * (float(events.bid_px[row, 0]) + float(events.ask_px[row, 0]))
    block = _correlation_block([BTC, ETH], 0.8)
    sigma = _document(block).quoting.sigma_bps_per_sqrt_s
    model = portfolio_model({BTC: sigma, ETH: sigma}, {BTC: block})
    return model.risk([positions[0] * mid, positions[1] * mid])


def _quote_until_a_fill(
    engines: list[SymbolEngine], guard: PortfolioGuard, n: int = 20_000
) -> tuple[dict[str, set[float]], tuple[tuple[bool, bool], ...]]:
    """Step both engines row by row until the first fill; returns the sides seen resting
    per symbol before it (1 bid, -1 ask) and the guard's closed sides just before it."""
    seen: dict[str, set[float]] = {e.symbol: set() for e in engines}
    closed = guard.state.closed
    for i in range(n):
        for engine in engines:
            engine.on_event(i, i)
        if any(e.fills_total for e in engines):
            return seen, closed
        closed = guard.state.closed
        for engine in engines:
            live = engine.orders[:, O_STATE] == 1.0
            seen[engine.symbol] |= set(engine.orders[live, O_SIDE].tolist())
    raise AssertionError(f"no fill in {n} rows")


def test_long_btc_and_long_eth_at_the_limit_pull_the_bids_and_keep_the_asks(
    day_events: EventStream,
) -> None:
    positions = (4 * _ORDER_SIZE, 4 * _ORDER_SIZE)
    at_start = _risk_at_first_mid(day_events, positions)
    # 5 % of room: one more bid fill (+25 % on one leg) would cross it, an ask fill not.
    engines, guard, kill = _legs(day_events, RiskLimits(portfolio_risk=1.05 * at_start),
                                 positions)
    seen, closed = _quote_until_a_fill(engines, guard)
    # Buying adds risk past the limit: no bid ever rested; selling reduces it: asks quote.
    assert seen == {BTC: {-1.0}, ETH: {-1.0}}
    assert closed == ((True, False), (True, False))
    assert not kill.active
    filled = next(e for e in engines if e.fills_total)
    assert filled.acct[1] < positions[0]  # the fill was an ask: the book got less risky
    # With one order sold, buying it back stays within the limit: the bid reopens.
    guard.on_event()
    assert guard.state.risk < at_start
    assert filled.summary()["sides_open"] == {"bid": True, "ask": True}


def test_the_hedging_side_of_a_long_short_book_keeps_quoting(day_events: EventStream) -> None:
    # Long 20 BTC, short 10 ETH, correlation 0.8, same volatility (units of order size q):
    # risk^2 ~ 4^2 + 2^2 - 2 x 0.8 x 4 x 2 = 7.2. A BTC bid -> 13, a BTC ask -> 3.4,
    # an ETH bid (buying the hedge back) -> 10.6, an ETH ask (more hedge) -> 5.8.
    positions = (4 * _ORDER_SIZE, -2 * _ORDER_SIZE)
    at_start = _risk_at_first_mid(day_events, positions)
    engines, guard, kill = _legs(day_events, RiskLimits(portfolio_risk=0.9 * at_start),
                                 positions)
    seen, closed = _quote_until_a_fill(engines, guard)
    assert seen == {BTC: {-1.0}, ETH: {-1.0}}  # sell BTC, sell more ETH: both reduce
    assert closed == ((True, False), (True, False))
    assert not kill.active


def test_a_hard_breach_kills_cancels_everything_and_places_nothing_after(
    day_events: EventStream,
) -> None:
    positions = (4 * _ORDER_SIZE, 4 * _ORDER_SIZE)
    at_start = _risk_at_first_mid(day_events, positions)
    limits = RiskLimits(portfolio_risk=1.2 * at_start)
    engines, guard, kill = _legs(day_events, limits, positions)
    for i in range(3_000):
        for engine in engines:
            engine.on_event(i, i)
    assert not kill.active and all(e.resting() > 0 for e in engines)
    # New sets are published with a volatility that puts the same book at 2 x the kill
    # level (1.5 x the limit).
    assert 0 < guard.state.risk <= limits.portfolio_risk
    scale = 2 * 1.5 * limits.portfolio_risk / guard.state.risk
    old = guard.model
    guard.swap_model(PortfolioModel(old.symbols, tuple(scale * s for s in old.sigma_horizon),
                                    old.correlation, old.beta, old.hedge_symbol))
    engines[0].on_event(3_000, 3_000)  # the guard runs before this quote cycle
    (reason,) = kill.reasons
    assert reason.trigger == "portfolio_limit" and "1.5 x limit" in reason.detail
    counters = [e.counters() for e in engines]
    engines[1].on_event(3_000, 3_000)
    for i in range(3_001, 8_000):
        for engine in engines:
            engine.on_event(i, i)
    for engine, before in zip(engines, counters, strict=True):
        assert engine.resting() == 0
        after = engine.counters()
        assert (after["orders"], after["modifies"], after["requotes"]) == (
            before["orders"], before["modifies"], before["requotes"])
    assert [r.trigger for r in kill.reasons] == ["portfolio_limit"]  # recorded once


def test_the_runner_wires_the_guard_and_reports_it(
    day_events: EventStream, tmp_path: Path, live_home: Path
) -> None:
    home = new_home(tmp_path, live_home)
    config = RunConfig(paths=LakePaths.at(home), symbols=(SYMBOL,), speed=0,
                       limits=RiskLimits(portfolio_risk=1.0), save_every_s=60.0)
    trader = Trader(config, feed_factory=lambda _v, _s: ReplayFeed(head(day_events, 20_000),
                                                                   DAY, speed=0))
    async def main() -> dict[str, Any]:
        trader.setup()
        return await trader.run()

    summary = asyncio.run(main())
    (engine,) = trader.engines
    assert engine.portfolio is trader.portfolio is not None
    portfolio = summary["portfolio"]
    assert portfolio["limits"] == {"risk_1h": 1.0, "beta_net_notional": None,
                                   "kill_factor": 1.5}
    assert portfolio["model"]["symbols"] == [SYMBOL]
    assert any("hedge symbol" in n for n in portfolio["model"]["notes"])
    # Flat with a 1.0 limit: every order adds risk above it, so nothing ever quotes.
    assert engine.counters()["orders"] == 0 and portfolio["pulled"] == {SYMBOL: ["bid", "ask"]}
    state = trader.files.load_state()
    assert state is not None and state["portfolio"]["risk_1h"] == 0.0


def test_the_metrics_export_the_measure_the_limits_and_the_pulled_sides(
    day_events: EventStream,
) -> None:
    positions = (4 * _ORDER_SIZE, 4 * _ORDER_SIZE)
    limit = 1.05 * _risk_at_first_mid(day_events, positions)
    engines, guard, kill = _legs(day_events, RiskLimits(portfolio_risk=limit), positions)
    for i in range(5_000):  # until both quote with their bids pulled
        for engine in engines:
            engine.on_event(i, i)
        if guard.state.closed == ((True, False), (True, False)) and all(
                e.counters()["requotes"] for e in engines):
            break
    assert guard.state.closed == ((True, False), (True, False))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TraderCollector(lambda: engines, kill, LatencyRecorder(), lambda _e: 0.0))
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(generate_latest(registry).decode())
               for s in f.samples}
    assert samples[("mmcal_trader_portfolio_risk", ())] == pytest.approx(guard.state.risk)
    assert samples[("mmcal_trader_portfolio_beta_net_notional", (("hedge_symbol", BTC),))] == (
        pytest.approx(guard.state.beta_net))
    assert samples[("mmcal_trader_portfolio_limit", (("measure", "risk_1h"),))] == (
        pytest.approx(limit))
    for k, name in enumerate((BTC, ETH)):
        for j, side in enumerate(("bid", "ask")):
            value = samples[("mmcal_trader_side_open", (("side", side), ("symbol", name)))]
            assert value == (0.0 if guard.state.closed[k][j] else 1.0)


def test_portfolio_limits_are_refused_on_a_venue_that_does_not_enforce_them(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(
        app, ["run", "--venue", "hyperliquid", "--portfolio-risk-limit", "100"],
        env={"MMCAL_HOME": str(tmp_path), "COLUMNS": "200"})
    assert result.exit_code == 2
    assert "enforced by the paper venue's engine only" in " ".join(result.stderr.split())
