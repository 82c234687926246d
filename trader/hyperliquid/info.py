"""REST ``/info``: meta, the book, our open orders, fills and position.

What a reconnect reads before quoting again (the venue's truth) and what the clock probe
times. Each request states its weight (:mod:`trader.hyperliquid.ratelimit`).
"""

from __future__ import annotations

import time
from typing import Any

from trader.hyperliquid.clock import ClockSync
from trader.hyperliquid.http import JsonPoster, VenueError
from trader.hyperliquid.messages import (
    BookSnapshot,
    MessageError,
    UserFill,
    parse_book,
    parse_open_order,
    parse_user_fills,
)
from trader.hyperliquid.ratelimit import info_weight
from trader.hyperliquid.rules import AssetRules, rules_from_meta
from trader.orders import VenueOrder

__all__ = ["InfoClient"]

_MS = 1_000_000


class InfoClient:
    """Typed ``/info`` requests over a :class:`JsonPoster`."""

    def __init__(self, poster: JsonPoster) -> None:
        self.poster = poster

    async def request(self, payload: dict[str, Any]) -> Any:
        return await self.poster.post("/info", payload, info_weight(payload))

    async def meta(self) -> dict[str, AssetRules]:
        """``{coin: AssetRules}`` of every perp."""
        return rules_from_meta(await self.request({"type": "meta"}))

    async def l2_book(self, coin: str) -> BookSnapshot:
        return parse_book(await self.request({"type": "l2Book", "coin": coin}))

    async def open_orders(self, user: str, coin: str | None = None) -> list[VenueOrder]:
        """Our resting orders (of ``coin`` only, if given)."""
        rows = await self.request({"type": "openOrders", "user": user})
        if not isinstance(rows, list):
            raise VenueError(f"openOrders answer is not a list: {str(rows)[:200]}")
        out = []
        for i, row in enumerate(rows):
            if coin is None or (isinstance(row, dict) and row.get("coin") == coin):
                out.append(parse_open_order(row, f"openOrders[{i}]"))
        return out

    async def user_fills(self, user: str, coin: str | None = None,
                         since_ns: int = 0) -> list[UserFill]:
        """Our recent fills (the venue returns the latest 2000), oldest first."""
        _, fills = parse_user_fills(await self.request({"type": "userFills", "user": user}))
        return sorted((f for f in fills if (coin is None or f.coin == coin)
                       and f.ts_ns >= since_ns), key=lambda f: (f.ts_ns, f.tid))

    async def position(self, user: str, coin: str) -> float:
        """Signed position in ``coin``, base units (``clearinghouseState``)."""
        state = await self.request({"type": "clearinghouseState", "user": user})
        positions = state.get("assetPositions") if isinstance(state, dict) else None
        if not isinstance(positions, list):
            raise MessageError(f"clearinghouseState has no assetPositions: {str(state)[:200]}")
        for entry in positions:
            pos = entry.get("position") if isinstance(entry, dict) else None
            if isinstance(pos, dict) and pos.get("coin") == coin:
                try:
                    return float(pos["szi"])
                except (KeyError, TypeError, ValueError):
                    raise MessageError(f"clearinghouseState position {pos!r} lacks szi") from None
        return 0.0

    async def probe_clock(self, clock: ClockSync, coin: str) -> None:
        """One clock probe: the ``l2Book`` answer's ``time`` against our send/receive."""
        t0 = time.time_ns()
        data = await self.request({"type": "l2Book", "coin": coin})
        t1 = time.time_ns()
        ts = data.get("time") if isinstance(data, dict) else None
        if not isinstance(ts, int):
            raise MessageError(f"l2Book answer has no integer time: {str(data)[:200]}")
        clock.add(t0, t1, ts * _MS)
