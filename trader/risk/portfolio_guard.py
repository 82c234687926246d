"""Portfolio limits enforced on the live quotes of every symbol.

After each market event of any symbol the guard measures the portfolio
(:class:`trader.risk.portfolio.PortfolioModel`: 1-hour P&L std and beta net notional,
quote currency) on the venue positions at the current marks, then for each symbol and
side asks: would a fill of that side's order (``order_size`` at the mark) take a measure
above its limit *and* make it worse? If so that side is closed (the jitted step pulls it:
its resting order is cancelled and none is placed, as at the per-symbol max position);
the side that reduces the risk keeps quoting. A measure above ``portfolio_kill_factor``
times its limit trips the kill switch with reason ``portfolio_limit``.

The measure is recomputed only when a position changed or a mark moved by more than
:data:`REMEASURE_MOVE` since the last one. Each engine asks about its own symbol
(:meth:`PortfolioGuard.on_leg_event`) before its quote cycle and again after a fill, so
the hot path pays two float compares on most events and the other symbols see a fill
before their next quote. Units: notional and limits in quote currency, positions in base
units.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from trader.risk.kill_switch import KillSwitch
from trader.risk.limits import RiskLimits
from trader.risk.portfolio import PortfolioModel

__all__ = ["REMEASURE_MOVE", "PortfolioGuard", "PortfolioLeg", "PortfolioState"]

log = logging.getLogger(__name__)

REMEASURE_MOVE = 1e-3
"""Relative mark move that triggers a new measure (0.1 %)."""


class PortfolioLeg(Protocol):
    """One symbol as the guard sees it (the live engine implements it)."""

    symbol: str

    def exposure(self) -> tuple[float, float, float]:
        """(position in base units, mark in quote currency or NaN, order size in base units)."""
        ...

    def open_sides(self, bid: bool, ask: bool) -> None:
        """Let the bid / ask quote (True) or pull it (False) from the next quote cycle."""
        ...


@dataclass(frozen=True)
class PortfolioState:
    """The last measure: figures in quote currency, sides closed per symbol."""

    risk: float
    beta_net: float
    notional: tuple[float, ...]
    closed: tuple[tuple[bool, bool], ...]

    def to_dict(self, symbols: Sequence[str]) -> dict[str, Any]:
        return {
            "risk_1h": self.risk, "beta_net_notional": self.beta_net,
            "notional": dict(zip(symbols, self.notional, strict=True)),
            "pulled": {s: [side for side, shut in zip(("bid", "ask"), c, strict=True) if shut]
                       for s, c in zip(symbols, self.closed, strict=True)},
        }


class PortfolioGuard:
    """Pulls the sides that would add portfolio risk beyond the limits; kills on a breach.

    Parameters
    ----------
    model : PortfolioModel
        Its symbols must be those of ``legs``, in the same order.
    legs : sequence of PortfolioLeg
    limits : RiskLimits
        ``portfolio_risk``, ``portfolio_beta_notional``, ``portfolio_kill_factor``.
    kill : KillSwitch
    """

    def __init__(self, model: PortfolioModel, legs: Sequence[PortfolioLeg],
                 limits: RiskLimits, kill: KillSwitch) -> None:
        if tuple(leg.symbol for leg in legs) != model.symbols:
            raise ValueError(f"portfolio legs {[leg.symbol for leg in legs]} differ from the "
                             f"model's symbols {list(model.symbols)}")
        self.model = model
        self.legs = tuple(legs)
        self.limits = limits
        self.kill = kill
        n = len(legs)
        self.state = PortfolioState(0.0, 0.0, (0.0,) * n, ((False, False),) * n)
        self._index = {id(leg): k for k, leg in enumerate(self.legs)}
        # Position and mark of each leg at the last measure (NaN: never measured).
        self._positions = [math.nan] * n
        self._marks = [math.nan] * n
        for note in model.notes:
            log.warning("portfolio risk: %s", note,
                        extra={"event": "portfolio_assumption", "detail": note})

    def swap_model(self, model: PortfolioModel) -> None:
        """Measure with ``model`` from the next event on (new params were published)."""
        if model.symbols != self.model.symbols:
            raise ValueError("a new portfolio model must keep the symbols")
        for note in set(model.notes) - set(self.model.notes):
            log.warning("portfolio risk: %s", note,
                        extra={"event": "portfolio_assumption", "detail": note})
        self.model = model
        self._marks = [math.nan] * len(self.legs)  # measure again at the next event

    # -- per event ---------------------------------------------------------------------

    def on_leg_event(self, leg: PortfolioLeg) -> None:
        """``leg`` has an event (or a fill): measure again if its position changed or its
        mark moved more than :data:`REMEASURE_MOVE`."""
        k = self._index[id(leg)]
        position, mark, _ = leg.exposure()
        m0 = self._marks[k]
        if position == self._positions[k] and abs(mark - m0) <= REMEASURE_MOVE * abs(m0):
            return
        self.on_event()

    def on_event(self) -> None:
        """Measure every leg now; update the sides and the switch."""
        exposures = [leg.exposure() for leg in self.legs]
        self._positions = [e[0] for e in exposures]
        self._marks = [e[1] for e in exposures]
        notional = [0.0 if p == 0.0 else p * m for p, m, _ in exposures]
        if any(not math.isfinite(x) for x in notional):
            # A position without a mark (resumed before the first book): nothing can be
            # measured, so nothing quotes until every mark is known.
            self._set_sides(tuple((True, True) for _ in exposures), math.nan, math.nan)
            return
        self._measure(notional, exposures)

    def _measure(self, notional: list[float],
                 exposures: list[tuple[float, float, float]]) -> None:
        model, limits = self.model, self.limits
        variance = model.variance(notional)
        risk = math.sqrt(variance)
        beta = model.beta_net(notional)
        self._check_breach(risk, beta, notional)
        closed: list[tuple[bool, bool]] = []
        for i, (_, mark, size) in enumerate(exposures):
            sides = []
            for sign in (1.0, -1.0):
                shut = True  # no mark yet: the risk of a quote cannot be measured
                if mark == mark and mark > 0 and size > 0:
                    delta = sign * size * mark
                    r_after = math.sqrt(
                        model.variance_moved(notional, variance, i, notional[i] + delta))
                    b_after = abs(beta + model.beta[i] * delta)
                    shut = (r_after > limits.portfolio_risk and r_after > risk) or (
                        b_after > limits.portfolio_beta_notional and b_after > abs(beta))
                sides.append(shut)
            closed.append((sides[0], sides[1]))
        self.state = PortfolioState(risk, beta, tuple(notional), self.state.closed)
        self._set_sides(tuple(closed), risk, beta)

    def _set_sides(self, closed: tuple[tuple[bool, bool], ...], risk: float,
                   beta: float) -> None:
        previous = self.state.closed
        self.state = PortfolioState(self.state.risk, self.state.beta_net, self.state.notional,
                                    closed)
        for k, (leg, now, before) in enumerate(zip(self.legs, closed, previous, strict=True)):
            if now == before:
                continue
            leg.open_sides(not now[0], not now[1])
            pulled = "+".join(s for s, c in zip(("bid", "ask"), now, strict=True) if c)
            mark = self._marks[k]
            if not any(now):
                what = "reopens both sides"
            elif not (mark == mark and mark > 0) or not math.isfinite(risk):
                what = f"holds {pulled} until every symbol has a mark"
            else:
                what = f"pulls {pulled}"
            log.info("%s: portfolio limit %s (risk 1h %.2f, beta net %.2f)", leg.symbol, what,
                     risk, beta,
                     extra={"event": "portfolio_sides", "symbol": leg.symbol,
                            "bid_open": not now[0], "ask_open": not now[1],
                            "risk_1h": risk, "beta_net_notional": beta})

    def _check_breach(self, risk: float, beta: float, notional: list[float]) -> None:
        limits = self.limits
        factor = limits.portfolio_kill_factor
        details = []
        if risk > factor * limits.portfolio_risk:
            details.append(f"1-hour P&L std {risk:,.2f} > {factor:g} x limit "
                           f"{limits.portfolio_risk:,.2f}")
        if abs(beta) > factor * limits.portfolio_beta_notional:
            details.append(f"|beta net notional| {abs(beta):,.2f} > {factor:g} x limit "
                           f"{limits.portfolio_beta_notional:,.2f}")
        if not details:
            return
        held = {r.trigger for r in self.kill.reasons}
        # While down, a breach is re-seen on every move: record it once.
        if not self.kill.active or "portfolio_limit" not in held:
            positions = ", ".join(f"{s} {x:,.2f}" for s, x in
                                  zip(self.model.symbols, notional, strict=True))
            self.kill.trip("portfolio_limit", "; ".join(details) + f" (notional: {positions})")
