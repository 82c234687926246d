"""The kill switch: once tripped, nothing quotes until a person resets it.

One :class:`KillSwitch` per trader process sits above every other component: the
per-symbol engines ask it before each quote cycle, and tripping it (any trigger, any
symbol) makes the runner cancel every order on every symbol, optionally flatten, and
stop quoting. Every reason is kept (a second trigger while down is recorded too) and
logged; the switch survives a restart through the trader's state file, so a trader that
was killed starts killed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["TRIGGERS", "KillReason", "KillSwitch"]

log = logging.getLogger(__name__)

TRIGGERS = (
    "drawdown",
    "position_limit",
    "notional_limit",
    "stale_market_data",
    "feed_disconnect",
    "sequence_gap",
    "margin_utilisation",
    "liquidation_distance",
    "liquidation_cascade",
    "portfolio_limit",
    "manual",
)
"""Every trigger the trader knows; a reason's ``trigger`` is one of these."""


@dataclass(frozen=True)
class KillReason:
    """Why the switch tripped: the trigger, what was seen, on which symbol, when (UTC ISO)."""

    trigger: str
    detail: str
    symbol: str | None
    at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> KillReason:
        return cls(str(row["trigger"]), str(row["detail"]),
                   None if row.get("symbol") is None else str(row["symbol"]), str(row["at"]))

    def __str__(self) -> str:
        where = f" [{self.symbol}]" if self.symbol else ""
        return f"{self.trigger}{where}: {self.detail} (at {self.at})"


class KillSwitch:
    """Tripped by any trigger, reset only on purpose.

    Parameters
    ----------
    on_trip : callable, optional
        Called with each new reason, after it is recorded (the runner cancels everything
        there). Called for every reason, also while already down.
    """

    def __init__(self, on_trip: Callable[[KillReason], None] | None = None) -> None:
        self._reasons: list[KillReason] = []
        self.on_trip = on_trip

    @property
    def active(self) -> bool:
        """True while down: no quoting until :meth:`reset`."""
        return bool(self._reasons)

    @property
    def reasons(self) -> tuple[KillReason, ...]:
        """Every reason since the last reset, oldest first."""
        return tuple(self._reasons)

    def trip(self, trigger: str, detail: str, *, symbol: str | None = None) -> KillReason:
        """Record a reason and go (or stay) down.

        Raises
        ------
        ValueError
            ``trigger`` is not one of :data:`TRIGGERS`.
        """
        if trigger not in TRIGGERS:
            raise ValueError(f"unknown kill trigger {trigger!r}; known: {', '.join(TRIGGERS)}")
        reason = KillReason(trigger, detail, symbol, datetime.now(UTC).isoformat())
        first = not self._reasons
        self._reasons.append(reason)
        log.error("kill switch %s: %s", "tripped" if first else "reason added", reason,
                  extra={"event": "kill", "trigger": trigger, "symbol": symbol,
                         "detail": detail})
        if self.on_trip is not None:
            self.on_trip(reason)
        return reason

    def reset(self, *, by: str = "manual") -> tuple[KillReason, ...]:
        """Clear every reason (quoting may resume); returns what was cleared."""
        cleared = tuple(self._reasons)
        self._reasons.clear()
        if cleared:
            log.warning("kill switch reset by %s; cleared %d reason(s)", by, len(cleared),
                        extra={"event": "reset", "cleared": [str(r) for r in cleared]})
        return cleared

    def restore(self, reasons: list[KillReason]) -> None:
        """Take the reasons saved by a previous run (no callback: nothing is live yet)."""
        self._reasons = list(reasons)

    def to_dict(self) -> dict[str, Any]:
        return {"active": self.active, "reasons": [r.to_dict() for r in self._reasons]}
