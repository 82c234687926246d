"""Risk thresholds and the market-data watch.

The hard limits (position, notional, drawdown) are checked by the jitted step on every
market event, before any requote (:func:`trader.live.step.step_event`); staleness and
sequence gaps are watched here, on the wall clock and the feed's sequence numbers.
Units: position in base units, notional and drawdown in quote currency, times in seconds.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from trader.risk.cascade import CascadeSettings

__all__ = ["FeedWatch", "RiskLimits"]


@dataclass(frozen=True)
class RiskLimits:
    """Thresholds that trip the kill switch.

    Attributes
    ----------
    position_factor : float
        Hard |position| limit as a multiple of the strategy's ``max_position`` (> 1: the
        strategy trims its own sizes at ``max_position``; crossing this means something
        went wrong, e.g. fills of orders in flight).
    max_notional : float
        Largest |position| x mid, quote currency; ``inf`` for none.
    max_drawdown : float
        Largest fall of equity (cash + position x mid) from its running peak, quote
        currency; ``inf`` for none.
    stale_after_s : float
        No book or bbo update for this long (wall clock) trips ``stale_market_data``.
    flatten_on_kill : bool
        On a trip, also send one IOC order taking the position to zero.
    flatten_band_bps : float
        That order's limit price: this far through the opposite best, bps.
    max_margin_utilisation : float
        With margin configured: maintenance margin over equity above this trips
        ``margin_utilisation`` (fraction; 1 is liquidation).
    min_liquidation_distance : float
        With margin configured: a liquidation price closer to the mark than this fraction
        trips ``liquidation_distance``.
    cascade : CascadeSettings
        Thresholds of the liquidation-cascade detector (``liquidation_cascade``).
    portfolio_risk : float
        Largest 1-hour standard deviation of the portfolio's P&L across symbols, quote
        currency (:mod:`trader.risk.portfolio`); ``inf`` for none. A quote whose fill
        would take the risk above it is pulled; ``portfolio_kill_factor`` times it trips
        ``portfolio_limit``.
    portfolio_beta_notional : float
        Largest |net notional in units of the hedge symbol| (sum of beta x notional),
        quote currency; ``inf`` for none. Pulled and tripped like ``portfolio_risk``.
    portfolio_kill_factor : float
        Hard breach of either portfolio limit, as a multiple of it (> 1).
    """

    position_factor: float = 1.5
    max_notional: float = math.inf
    max_drawdown: float = math.inf
    stale_after_s: float = 10.0
    flatten_on_kill: bool = False
    flatten_band_bps: float = 50.0
    max_margin_utilisation: float = 0.5
    min_liquidation_distance: float = 0.02
    cascade: CascadeSettings = field(default_factory=CascadeSettings)
    portfolio_risk: float = math.inf
    portfolio_beta_notional: float = math.inf
    portfolio_kill_factor: float = 1.5

    def __post_init__(self) -> None:
        if not self.position_factor >= 1.0:
            raise ValueError(f"position_factor must be >= 1, got {self.position_factor}")
        if not self.portfolio_kill_factor > 1.0:
            raise ValueError(
                f"portfolio_kill_factor must be > 1, got {self.portfolio_kill_factor}")
        for name in ("max_notional", "max_drawdown", "stale_after_s", "flatten_band_bps",
                     "max_margin_utilisation", "min_liquidation_distance", "portfolio_risk",
                     "portfolio_beta_notional"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


    @property
    def has_portfolio_limit(self) -> bool:
        """Whether either portfolio limit is set (finite)."""
        return math.isfinite(self.portfolio_risk) or math.isfinite(self.portfolio_beta_notional)


class FeedWatch:
    """Last book update time (wall clock) and the next expected sequence number."""

    def __init__(self) -> None:
        self.last_book_wall = time.monotonic()
        self.expected_seq: int | None = None

    def book_seen(self) -> None:
        self.last_book_wall = time.monotonic()

    def seen_before(self, seq: int) -> bool:
        """``seq`` is a repeat, or arrives after a later one (its slot is past): the
        caller drops the event, which must not reach the venue twice or out of order."""
        return self.expected_seq is not None and seq < self.expected_seq

    def check_seq(self, seq: int) -> int | None:
        """The missing count when ``seq`` skips ahead of the expected one, else None.
        Call after :meth:`seen_before` said no (the expectation only moves forward)."""
        expected = self.expected_seq
        self.expected_seq = seq + 1
        if expected is not None and seq > expected:
            return seq - expected
        return None

    def stale_for(self, now: float | None = None) -> float:
        """Wall seconds since the last book update."""
        return (time.monotonic() if now is None else now) - self.last_book_wall
