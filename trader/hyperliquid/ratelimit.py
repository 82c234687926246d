"""Request weights and a token bucket for Hyperliquid's per-IP REST limit.

Hyperliquid allows an aggregate weight of 1200 per minute per IP. An exchange action
weighs ``1 + floor(batch / 40)``; info requests weigh 2 (``l2Book``, ``allMids``,
``clearinghouseState``, ``orderStatus``, ``spotClearinghouseState``, ``exchangeStatus``),
60 (``userRole``) or 20 (everything else, e.g. ``meta``, ``openOrders``, ``userFills``).
The bucket refills continuously; :meth:`RateLimiter.acquire` waits until the weight fits.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

__all__ = ["WEIGHT_PER_MINUTE", "RateLimiter", "exchange_weight", "info_weight"]

WEIGHT_PER_MINUTE = 1200
_LIGHT_INFO = frozenset({"l2Book", "allMids", "clearinghouseState", "orderStatus",
                         "spotClearinghouseState", "exchangeStatus"})


def info_weight(payload: dict[str, Any]) -> int:
    """Weight of one ``/info`` request."""
    kind = payload.get("type")
    if kind in _LIGHT_INFO:
        return 2
    if kind == "userRole":
        return 60
    return 20


def exchange_weight(action: dict[str, Any]) -> int:
    """Weight of one ``/exchange`` action: 1 + one per 40 orders/cancels/modifies."""
    batch = 0
    for key in ("orders", "cancels", "modifies"):
        items = action.get(key)
        if isinstance(items, list):
            batch = len(items)
    return 1 + batch // 40


class RateLimiter:
    """A token bucket of ``per_minute`` weight, full at start."""

    def __init__(self, per_minute: float = WEIGHT_PER_MINUTE) -> None:
        if not per_minute > 0:
            raise ValueError(f"per_minute must be > 0, got {per_minute}")
        self.capacity = float(per_minute)
        self.rate_per_s = per_minute / 60.0
        self.tokens = self.capacity
        self._t = time.monotonic()
        self.waited_s = 0.0
        self.used = 0

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self._t) * self.rate_per_s)
        self._t = now

    def wait_s(self, weight: int) -> float:
        """Seconds until ``weight`` fits (0 if it fits now)."""
        self._refill()
        return max(0.0, (weight - self.tokens) / self.rate_per_s)

    async def acquire(self, weight: int) -> None:
        """Wait until ``weight`` fits, then take it."""
        if weight > self.capacity:
            raise ValueError(f"weight {weight} exceeds the bucket ({self.capacity:g})")
        while (wait := self.wait_s(weight)) > 0:
            self.waited_s += wait
            await asyncio.sleep(wait)
        self.tokens -= weight
        self.used += weight
