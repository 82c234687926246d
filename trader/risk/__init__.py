"""Risk above every other trader component: the kill switch and the limits that trip it.

- :mod:`~trader.risk.kill_switch`: :class:`KillSwitch`, one per trader process, holding
  every reason it was tripped until a reset.
- :mod:`~trader.risk.limits`: :class:`RiskLimits`, the thresholds (position, notional,
  drawdown, stale market data) and :class:`FeedWatch`, the staleness and sequence checks.
"""

from __future__ import annotations

from trader.risk.kill_switch import TRIGGERS, KillReason, KillSwitch
from trader.risk.limits import FeedWatch, RiskLimits

__all__ = ["TRIGGERS", "FeedWatch", "KillReason", "KillSwitch", "RiskLimits"]
