"""Margin- and leverage-aware position sizing, with a buffer before liquidation.

A perpetual position of ``q`` base units at mark ``P`` on isolated collateral ``C`` (quote
currency) is liquidated when equity falls to the maintenance margin:
``C + q (P_liq - P) = m |q| P_liq`` with ``m`` the maintenance margin rate. For a long,
``P_liq = (q P - C) / (q (1 - m))``; at 50x (``C = q P / 50``) and ``m = 0.5 %`` the
liquidation is 1.5 % below the mark: a 2 % move takes the whole margin. Sizing must know
it, so the largest position is the smallest of

- the trader's ``max_position``;
- the leverage cap ``L C / P`` (notional at most L times the collateral);
- the position whose liquidation price stays ``buffer`` (a fraction of the mark) away:
  ``q_max = C / (P (1 - (1 - m)(1 - buffer)))`` (the same for a short with ``1 + buffer``
  and ``1 + m``: ``q_max = C / (P ((1 + m)(1 + buffer) - 1))``; the smaller of the two is
  used, so either side may be held).

Units: collateral in quote currency, prices in quote currency per base unit, sizes in
base units, rates and buffers as fractions (0.005 = 0.5 %).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["MarginConfig", "liquidation_price", "margin_max_position", "margin_utilisation"]


@dataclass(frozen=True)
class MarginConfig:
    """Collateral and venue margin rules of one symbol.

    Attributes
    ----------
    collateral : float
        Isolated margin posted for the symbol, quote currency, > 0.
    leverage : float
        Largest notional / collateral the venue allows (or we accept), >= 1.
    maintenance_rate : float
        Maintenance margin as a fraction of notional, in [0, 1).
    buffer : float
        Smallest distance from the mark to the liquidation price we accept, as a fraction
        of the mark, in (0, 1).
    """

    collateral: float
    leverage: float = 10.0
    maintenance_rate: float = 0.005
    buffer: float = 0.05

    def __post_init__(self) -> None:
        if not (math.isfinite(self.collateral) and self.collateral > 0):
            raise ValueError(f"collateral must be finite and > 0, got {self.collateral}")
        if not (math.isfinite(self.leverage) and self.leverage >= 1):
            raise ValueError(f"leverage must be finite and >= 1, got {self.leverage}")
        if not 0 <= self.maintenance_rate < 1:
            raise ValueError(f"maintenance_rate must be in [0, 1), got {self.maintenance_rate}")
        if not 0 < self.buffer < 1:
            raise ValueError(f"buffer must be in (0, 1), got {self.buffer}")


def liquidation_price(position: float, mark: float, equity: float, maintenance_rate: float
                      ) -> float:
    """Mark price at which ``equity`` (collateral + unrealised P&L at ``mark``) falls to the
    maintenance margin; ``nan`` when flat, 0 when a long cannot be liquidated."""
    if position == 0.0:
        return math.nan
    # equity + q (P_liq - mark) = m |q| P_liq
    denominator = position - maintenance_rate * abs(position)
    p_liq = (position * mark - equity) / denominator
    return max(p_liq, 0.0)


def margin_max_position(config: MarginConfig, mark: float, max_position: float) -> float:
    """The largest |position| (base units) the margin allows at ``mark`` (module docstring)."""
    if not (math.isfinite(mark) and mark > 0):
        return max_position
    m, b = config.maintenance_rate, config.buffer
    long_cap = config.collateral / (mark * (1.0 - (1.0 - m) * (1.0 - b)))
    short_cap = config.collateral / (mark * ((1.0 + m) * (1.0 + b) - 1.0))
    leverage_cap = config.leverage * config.collateral / mark
    return min(max_position, long_cap, short_cap, leverage_cap)


def margin_utilisation(position: float, mark: float, equity: float, maintenance_rate: float
                       ) -> float:
    """Maintenance margin over equity (1 = at liquidation; inf when equity <= 0)."""
    need = maintenance_rate * abs(position) * mark
    if equity <= 0.0:
        return math.inf if need > 0 or equity < 0 else 0.0
    return need / equity
