"""Prometheus figures of the ``hyperliquid`` venue session, read at scrape time.

Clock offset (venue - local) and its uncertainty, the minimum round trip, connection
state, reconnects and resyncs, and per coin position, live orders and fills.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from prometheus_client import start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

if TYPE_CHECKING:
    from trader.hyperliquid.session import HyperliquidSession

__all__ = ["HL_METRIC_NAMES", "HyperliquidCollector", "serve_hyperliquid_metrics"]

_P = "mmcal_hyperliquid_"
HL_METRIC_NAMES = tuple(_P + n for n in (
    "clock_offset_seconds", "clock_uncertainty_seconds", "rtt_seconds", "clock_drift",
    "connected", "synced", "connects_total", "resyncs_total", "position", "live_orders",
    "fills_total", "kill_switch_active",
))


class HyperliquidCollector(Collector):
    def __init__(self, session: HyperliquidSession) -> None:
        self.session = session

    def collect(self) -> Iterable[Metric]:
        s = self.session
        est = s.clock.estimate
        nan = float("nan")
        gauges = {
            "clock_offset_seconds": (est.offset_ns / 1e9 if est else nan,
                                     "Venue clock minus local clock."),
            "clock_uncertainty_seconds": (est.uncertainty_ns / 1e9 if est else nan,
                                          "Half-width of the offset estimate."),
            "rtt_seconds": (est.rtt_ns / 1e9 if est else nan, "Minimum REST round trip."),
            "clock_drift": (1.0 if s.clock.drifting else 0.0,
                            "1 while |offset| exceeds the warning threshold."),
            "connected": (1.0 if s.ws is not None and s.ws.connected else 0.0,
                          "1 while the WebSocket is open."),
            "synced": (1.0 if s.synced else 0.0, "1 once resynced after the last connect."),
            "kill_switch_active": (1.0 if s.kill.active else 0.0, "1 while killed."),
        }
        for name, (value, doc) in gauges.items():
            g = GaugeMetricFamily(_P + name, doc)
            g.add_metric([], value)
            yield g
        for name, value, doc in (("connects", s.ws.connects if s.ws else 0, "Connections."),
                                 ("resyncs", s.resyncs, "REST resyncs.")):
            counter = CounterMetricFamily(_P + name, doc)
            counter.add_metric([], value)
            yield counter
        pos = GaugeMetricFamily(_P + "position", "Position, base units.", labels=["symbol"])
        live = GaugeMetricFamily(_P + "live_orders", "Orders the venue may fill.",
                                 labels=["symbol"])
        fills = CounterMetricFamily(_P + "fills", "Fills booked.", labels=["symbol"])
        for coin, c in s.coins.items():
            pos.add_metric([coin], c.position)
            live.add_metric([coin], len(c.manager.live_orders()) if c.manager else 0)
            fills.add_metric([coin], c.manager.ledger.n_fills if c.manager else 0)
        yield from (pos, live, fills)


def serve_hyperliquid_metrics(port: int, session: HyperliquidSession) -> Any:
    """Serve on 127.0.0.1:``port``; returns the server (``shutdown()``)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HyperliquidCollector(session))
    server, _thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    return server
