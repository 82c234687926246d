"""Risk above every other trader component: the kill switch and the limits that trip it.

- :mod:`~trader.risk.kill_switch`: :class:`KillSwitch`, one per trader process, holding
  every reason it was tripped until a reset.
- :mod:`~trader.risk.limits`: :class:`RiskLimits`, the thresholds (position, notional,
  drawdown, stale market data, margin) and :class:`FeedWatch`, the staleness and
  sequence checks.
- :mod:`~trader.risk.margin`: margin- and leverage-aware position sizing with a buffer
  before the liquidation price.
- :mod:`~trader.risk.cascade`: :class:`CascadeDetector`, liquidation cascades from the
  live Hawkes intensity and bursts of large aggressive trades.
"""

from __future__ import annotations

from trader.risk.cascade import CascadeDetector, CascadeSettings
from trader.risk.kill_switch import TRIGGERS, KillReason, KillSwitch
from trader.risk.limits import FeedWatch, RiskLimits
from trader.risk.margin import MarginConfig

__all__ = [
    "TRIGGERS", "CascadeDetector", "CascadeSettings", "FeedWatch", "KillReason", "KillSwitch",
    "MarginConfig", "RiskLimits",
]
