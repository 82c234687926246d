"""Hyperliquid's price and size rules for perps, from ``meta``.

A perp price has at most 5 significant figures and at most ``6 - szDecimals`` decimals;
an integer price is always allowed whatever its significant figures. A size has at most
``szDecimals`` decimals. Bids are rounded down and asks up (never more aggressive than
the strategy asked), sizes down. Decimal arithmetic, so the wire string
(``hyperliquid.utils.signing.float_to_wire``) never meets a float artefact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from trader.orders import Side

__all__ = ["MAX_DECIMALS_PERP", "AssetRules", "RulesError", "price_step", "rules_from_meta"]

MAX_DECIMALS_PERP = 6
SIG_FIGS = 5


class RulesError(ValueError):
    """A coin missing from ``meta``, or a meta of the wrong shape."""


def price_step(px: float, sz_decimals: int) -> Decimal:
    """The price increment allowed at ``px`` (quote currency), as a Decimal."""
    if not (px > 0.0 and math.isfinite(px)):
        raise ValueError(f"price must be positive and finite, got {px}")
    exponent = math.floor(math.log10(px)) - (SIG_FIGS - 1)
    step = max(Decimal(1).scaleb(exponent), Decimal(1).scaleb(-(MAX_DECIMALS_PERP - sz_decimals)))
    return min(step, Decimal(1))  # integer prices are always allowed


@dataclass(frozen=True)
class AssetRules:
    """One perp: its asset index (position in ``meta.universe``) and ``szDecimals``."""

    coin: str
    asset: int
    sz_decimals: int

    @property
    def lot(self) -> float:
        """Size increment, base units."""
        return 10.0 ** -self.sz_decimals

    def round_px(self, px: float, side: Side) -> float:
        """``px`` on the venue's grid: down for a bid, up for an ask."""
        step = price_step(px, self.sz_decimals)
        mode = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
        q = (Decimal(repr(px)) / step).to_integral_value(rounding=mode)
        out = q * step
        if out <= 0:
            raise ValueError(f"{self.coin}: bid {px} is below the smallest price step {step} "
                             f"({MAX_DECIMALS_PERP - self.sz_decimals} decimals)")
        # Rounding up can cross a power of ten and gain a figure: step once more.
        step2 = price_step(float(out), self.sz_decimals)
        if step2 != step:
            out = (out / step2).to_integral_value(rounding=mode) * step2
        return float(out)

    def round_sz(self, sz: float) -> float:
        """``sz`` down to ``szDecimals`` (0 when below one lot)."""
        if not (sz >= 0.0 and math.isfinite(sz)):
            raise ValueError(f"size must be finite and >= 0, got {sz}")
        # The epsilon keeps an already-rounded size where it is despite float error.
        q = Decimal(repr(sz + 1e-12)).quantize(Decimal(1).scaleb(-self.sz_decimals),
                                                rounding=ROUND_FLOOR)
        return float(q)

    def tick_at(self, px: float) -> float:
        """The price increment at ``px`` as a float (for the order manager)."""
        return float(price_step(px, self.sz_decimals))


def rules_from_meta(meta: Any) -> dict[str, AssetRules]:
    """``{coin: AssetRules}`` from the ``meta`` info answer (``{"universe": [...]}``)."""
    universe = meta.get("universe") if isinstance(meta, dict) else None
    if not isinstance(universe, list):
        raise RulesError(f"meta has no 'universe' list: {str(meta)[:200]}")
    out = {}
    for i, entry in enumerate(universe):
        try:
            name, dec = entry["name"], entry["szDecimals"]
        except (KeyError, TypeError):
            raise RulesError(f"meta.universe[{i}] lacks name/szDecimals: {entry!r}") from None
        if not isinstance(name, str) or not isinstance(dec, int) or not 0 <= dec <= 6:
            raise RulesError(f"meta.universe[{i}]: bad name {name!r} or szDecimals {dec!r}")
        out[name] = AssetRules(name, i, dec)
    return out
