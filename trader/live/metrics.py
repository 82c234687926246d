"""The trader's Prometheus endpoint (prometheus-client), read at scrape time.

A collector reads the engines' arrays when Prometheus scrapes, so the hot path pays
nothing for metrics. Served on ``127.0.0.1:<port>`` (default 9464) in a daemon thread.
Metric names are listed in :data:`METRIC_NAMES` (docs/architecture.md §8).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from trader.live.latency import LATENCY_BUCKETS_S, LatencyRecorder
from trader.risk import TRIGGERS, KillSwitch

if TYPE_CHECKING:
    from trader.live.engine import SymbolEngine

__all__ = ["DEFAULT_METRICS_PORT", "METRIC_NAMES", "TraderCollector", "serve_metrics"]

log = logging.getLogger(__name__)

DEFAULT_METRICS_PORT = 9464
_P = "mmcal_trader_"
METRIC_NAMES = tuple(_P + n for n in (
    "quotes_total", "orders_total", "fills_total", "position", "mid", "pnl",
    "resting_orders", "kill_switch_active", "kill_switch_reasons", "params_version_info",
    "feed_lag_seconds", "loop_latency_seconds", "events_total", "quoted_spread_bps",
    "side_open", "portfolio_risk", "portfolio_beta_net_notional", "portfolio_limit",
))
"""Every metric family the endpoint exports (without the _bucket/_sum/_count suffixes)."""


class TraderCollector(Collector):
    """Reads the live engines, the kill switch and the latency recorder."""

    def __init__(
        self, engines: Callable[[], Sequence[SymbolEngine]], kill: KillSwitch,
        latency: LatencyRecorder, feed_lag_s: Callable[[SymbolEngine], float],
    ) -> None:
        self._engines = engines
        self._kill = kill
        self._latency = latency
        self._lag = feed_lag_s

    def collect(self) -> Iterable[Metric]:
        engines = list(self._engines())
        quotes = CounterMetricFamily(_P + "quotes", "Quote cycles (requotes).", labels=["symbol"])
        orders = CounterMetricFamily(_P + "orders", "Order operations sent, by operation.",
                                     labels=["symbol", "op"])
        fills = CounterMetricFamily(_P + "fills", "Fills since the state was created.",
                                    labels=["symbol"])
        events = CounterMetricFamily(_P + "events", "Market events processed this run.",
                                     labels=["symbol"])
        position = GaugeMetricFamily(_P + "position", "Position, base units.", labels=["symbol"])
        mid = GaugeMetricFamily(_P + "mid", "Venue mid, quote currency.", labels=["symbol"])
        pnl = GaugeMetricFamily(_P + "pnl", "P&L parts and total, quote currency.",
                                labels=["symbol", "part"])
        resting = GaugeMetricFamily(_P + "resting_orders", "Our orders resting at the venue.",
                                    labels=["symbol"])
        version = GaugeMetricFamily(_P + "params_version_info",
                                    "The param set version quoted (value 1).",
                                    labels=["symbol", "version"])
        lag = GaugeMetricFamily(_P + "feed_lag_seconds",
                                "Wall seconds since the last book update.", labels=["symbol"])
        spread = GaugeMetricFamily(_P + "quoted_spread_bps",
                                   "Last wanted quotes: ask - bid over mid, bps (NaN: one-sided).",
                                   labels=["symbol"])
        side_open = GaugeMetricFamily(_P + "side_open",
                                      "1 while a side may quote, 0 while a portfolio limit "
                                      "pulls it.", labels=["symbol", "side"])
        for e in engines:
            sides = e.summary_sides()
            side_open.add_metric([e.symbol, "bid"], 1.0 if sides["bid"] else 0.0)
            side_open.add_metric([e.symbol, "ask"], 1.0 if sides["ask"] else 0.0)
            bid, bid_sz, ask, ask_sz = (float(v) for v in e.out[:4])
            mid_now = float(e.acct[2])
            spread.add_metric([e.symbol], (ask - bid) / mid_now * 1e4
                              if bid_sz > 0 and ask_sz > 0 and mid_now > 0 else float("nan"))
            counters = e.counters()
            quotes.add_metric([e.symbol], counters["requotes"])
            for op in ("orders", "modifies", "cancels", "rejects"):
                orders.add_metric([e.symbol, op], counters[op])
            fills.add_metric([e.symbol], e.fills_total)
            events.add_metric([e.symbol], e.events_run)
            position.add_metric([e.symbol], float(e.acct[1]))
            mid.add_metric([e.symbol], float(e.acct[2]))
            for part, value in e.pnl().items():
                pnl.add_metric([e.symbol, part], value)
            resting.add_metric([e.symbol], e.resting())
            version.add_metric([e.symbol, str(e.params.version)], 1.0)
            lag.add_metric([e.symbol], self._lag(e))
        active = GaugeMetricFamily(_P + "kill_switch_active", "1 while the kill switch is down.")
        active.add_metric([], 1.0 if self._kill.active else 0.0)
        reasons = GaugeMetricFamily(_P + "kill_switch_reasons",
                                    "Reasons held by the kill switch, by trigger.",
                                    labels=["trigger"])
        held = [r.trigger for r in self._kill.reasons]
        for trigger in TRIGGERS:
            reasons.add_metric([trigger], float(held.count(trigger)))
        self._latency.fold()
        cumulative = 0
        buckets: list[tuple[str, float]] = []
        for bound, n in zip((*LATENCY_BUCKETS_S, float("inf")),
                            self._latency.bucket_counts, strict=True):
            cumulative += int(n)
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        hist = HistogramMetricFamily(_P + "loop_latency_seconds",
                                     "Tick-to-quote latency: book update in, quote decision out.",
                                     buckets=buckets, sum_value=self._latency.sum_ns / 1e9)
        yield from (quotes, orders, fills, events, position, mid, pnl, resting, version,
                    lag, spread, side_open, active, reasons, hist)
        yield from _portfolio_metrics(engines)


def _portfolio_metrics(engines: Sequence[SymbolEngine]) -> Iterable[Metric]:
    """The shared portfolio guard's last measure and limits (none when no limit is set)."""
    guard = next((e.portfolio for e in engines if e.portfolio is not None), None)
    risk = GaugeMetricFamily(_P + "portfolio_risk",
                             "1-hour std of the P&L of every symbol together, quote currency.")
    beta = GaugeMetricFamily(_P + "portfolio_beta_net_notional",
                             "Net notional in units of the hedge symbol, quote currency.",
                             labels=["hedge_symbol"])
    limit = GaugeMetricFamily(_P + "portfolio_limit",
                              "Portfolio limits (quotes adding risk above are pulled; "
                              "kill_factor x them kills), quote currency.",
                              labels=["measure"])
    if guard is not None:
        state, limits = guard.state, guard.limits
        risk.add_metric([], state.risk)
        beta.add_metric([str(guard.model.hedge_symbol)], state.beta_net)
        limit.add_metric(["risk_1h"], limits.portfolio_risk)
        limit.add_metric(["beta_net_notional"], limits.portfolio_beta_notional)
    yield from (risk, beta, limit)


def serve_metrics(port: int, collector: TraderCollector) -> Any:
    """Serve ``collector`` on 127.0.0.1:``port``; returns the server (``shutdown()``)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    server, _thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    log.info("metrics on http://127.0.0.1:%d/metrics", port,
             extra={"event": "metrics_up", "port": port})
    return server
