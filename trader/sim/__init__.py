"""Queue-aware exchange simulator and the compiled backtest loop."""

from trader.sim.backtest import BacktestResult, PnlAttribution, run_backtest
from trader.sim.config import BacktestConfig
from trader.sim.events import EventStream, events_from_tables, load_events

__all__ = [
    "BacktestConfig",
    "BacktestResult",
    "EventStream",
    "PnlAttribution",
    "events_from_tables",
    "load_events",
    "run_backtest",
]
