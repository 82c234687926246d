"""Hyperliquid WebSocket and REST message shapes -> typed events.

Shapes as the venue sends them (checked against hyperliquid-python-sdk 0.24
``utils/types.py`` and the recorded sample, docs/hyperliquid.md):

- ``l2Book``: ``{"coin", "time": ms, "levels": [[bids], [asks]]}``, each level
  ``{"px": str, "sz": str, "n": int}``, best first: a full snapshot every time.
- ``trades``: a list of ``{"coin", "side": "B"|"A", "px", "sz", "time": ms, "tid", ...}``;
  ``B`` is a buy aggressor.
- ``activeAssetCtx``: ``{"coin", "ctx": {"funding", "markPx", "oraclePx", ...}}``; the
  funding rate is per hour (fraction).
- ``orderUpdates``: a list of ``{"order": {"coin", "side", "limitPx", "sz", "oid",
  "timestamp", "origSz", "cloid"?}, "status", "statusTimestamp"}``; ``sz`` is the size
  left.
- ``userFills``: ``{"user", "isSnapshot"?, "fills": [{"coin", "px", "sz", "side", "time",
  "oid", "tid", "fee", "cloid"?, ...}]}``.

Every parser raises :class:`MessageError` naming the field that is wrong. Prices in quote
currency, sizes in base units, times in int64 ns UTC (the venue's ms x 1e6).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from trader.orders import Side, VenueFill, VenueOrder

__all__ = [
    "AssetCtx",
    "BookSnapshot",
    "MessageError",
    "OrderUpdate",
    "Trade",
    "UserFill",
    "parse_asset_ctx",
    "parse_book",
    "parse_open_order",
    "parse_order_updates",
    "parse_trades",
    "parse_user_fills",
]

_MS = 1_000_000
_SIDES = {"B": Side.BUY, "A": Side.SELL}


class MessageError(ValueError):
    """A venue message that does not have the documented shape; the text says where."""


@dataclass(frozen=True)
class BookSnapshot:
    """A full L2 snapshot: levels best first, prices and sizes as floats."""

    coin: str
    ts_ns: int
    bid_px: tuple[float, ...]
    bid_sz: tuple[float, ...]
    ask_px: tuple[float, ...]
    ask_sz: tuple[float, ...]

    @property
    def mid(self) -> float:
        """Mid of the touch; NaN when a side is empty."""
        if not self.bid_px or not self.ask_px:
            return math.nan
        return 0.5 * (self.bid_px[0] + self.ask_px[0])


@dataclass(frozen=True)
class Trade:
    """A public trade: ``side`` +1 buy aggressor, -1 sell aggressor."""

    coin: str
    ts_ns: int
    px: float
    sz: float
    side: int
    tid: int


@dataclass(frozen=True)
class AssetCtx:
    """Funding (fraction per hour) and the mark and oracle prices of one perp."""

    coin: str
    funding_per_hour: float
    mark_px: float
    oracle_px: float


@dataclass(frozen=True)
class OrderUpdate:
    """One order's new status; ``sz`` is what is left to fill (base units)."""

    coin: str
    oid: int
    cloid: str | None
    side: Side
    px: float
    sz: float
    orig_sz: float
    status: str
    ts_ns: int


@dataclass(frozen=True)
class UserFill:
    """One fill of our account; ``fee`` quote currency (positive paid)."""

    coin: str
    tid: int
    oid: int
    cloid: str | None
    side: Side
    px: float
    sz: float
    fee: float
    ts_ns: int

    def venue_fill(self) -> VenueFill:
        """As the order manager's reconnect input."""
        return VenueFill(self.tid, self.oid, self.cloid, self.side, self.px, self.sz,
                         self.fee, self.ts_ns)


def _field(obj: Any, name: str, where: str) -> Any:
    if not isinstance(obj, dict):
        raise MessageError(f"{where}: expected an object, got {type(obj).__name__}")
    if name not in obj:
        raise MessageError(f"{where}: missing field {name!r}")
    return obj[name]


def _num(obj: Any, name: str, where: str, *, positive: bool = False,
         nonneg: bool = False) -> float:
    raw = _field(obj, name, where)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise MessageError(f"{where}: {name}={raw!r} is not a number") from None
    if not math.isfinite(value):
        raise MessageError(f"{where}: {name}={raw!r} is not finite")
    if positive and value <= 0.0:
        raise MessageError(f"{where}: {name}={raw!r} must be > 0")
    if nonneg and value < 0.0:
        raise MessageError(f"{where}: {name}={raw!r} must be >= 0")
    return value


def _int(obj: Any, name: str, where: str) -> int:
    raw = _field(obj, name, where)
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise MessageError(f"{where}: {name}={raw!r} is not an integer")
    return raw


def _coin(obj: Any, where: str) -> str:
    coin = _field(obj, "coin", where)
    if not isinstance(coin, str) or not coin:
        raise MessageError(f"{where}: coin={coin!r} is not a name")
    return coin


def _side(obj: Any, where: str) -> Side:
    raw = _field(obj, "side", where)
    side = _SIDES.get(raw) if isinstance(raw, str) else None
    if side is None:
        raise MessageError(f"{where}: side={raw!r} is neither 'B' nor 'A'")
    return side


def _cloid(obj: dict[str, Any]) -> str | None:
    raw = obj.get("cloid")
    return raw if isinstance(raw, str) and raw else None


def parse_book(data: Any) -> BookSnapshot:
    """An ``l2Book`` payload (ws ``data`` or the REST ``l2Book`` answer)."""
    where = "l2Book"
    coin = _coin(data, where)
    ts = _int(data, "time", where) * _MS
    levels = _field(data, "levels", where)
    if not (isinstance(levels, list) and len(levels) == 2):
        raise MessageError(f"{where} {coin}: levels must be [[bids], [asks]]")
    sides: list[tuple[tuple[float, ...], tuple[float, ...]]] = []
    for name, side in zip(("bid", "ask"), levels, strict=True):
        if not isinstance(side, list):
            raise MessageError(f"{where} {coin}: {name} levels are not a list")
        px = tuple(_num(lv, "px", f"{where} {coin} {name}", positive=True) for lv in side)
        sz = tuple(_num(lv, "sz", f"{where} {coin} {name}", positive=True) for lv in side)
        sides.append((px, sz))
    (bid_px, bid_sz), (ask_px, ask_sz) = sides
    if any(a <= b for a, b in itertools.pairwise(bid_px)) or any(
            a >= b for a, b in itertools.pairwise(ask_px)):
        raise MessageError(f"{where} {coin}: levels are not ordered best first")
    if bid_px and ask_px and bid_px[0] >= ask_px[0]:
        raise MessageError(f"{where} {coin}: crossed book, bid {bid_px[0]} >= ask {ask_px[0]}")
    return BookSnapshot(coin, ts, bid_px, bid_sz, ask_px, ask_sz)


def parse_trades(data: Any) -> list[Trade]:
    """A ``trades`` payload: a list of trades."""
    if not isinstance(data, list):
        raise MessageError(f"trades: data must be a list, got {type(data).__name__}")
    out = []
    for i, t in enumerate(data):
        where = f"trades[{i}]"
        side = _side(t, where)
        out.append(Trade(_coin(t, where), _int(t, "time", where) * _MS,
                         _num(t, "px", where, positive=True), _num(t, "sz", where, positive=True),
                         side.sign, _int(t, "tid", where)))
    return out


def parse_asset_ctx(data: Any) -> AssetCtx:
    """An ``activeAssetCtx`` payload of a perp."""
    where = "activeAssetCtx"
    coin = _coin(data, where)
    ctx = _field(data, "ctx", where)
    w = f"{where} {coin} ctx"
    return AssetCtx(coin, _num(ctx, "funding", w), _num(ctx, "markPx", w, positive=True),
                    _num(ctx, "oraclePx", w, positive=True))


def parse_open_order(o: Any, where: str = "openOrders") -> VenueOrder:
    """One entry of REST ``openOrders`` (or an ``orderUpdates`` order) as a VenueOrder."""
    return VenueOrder(oid=_int(o, "oid", where), cloid=_cloid(o) if isinstance(o, dict) else None,
                      side=_side(o, where), px=_num(o, "limitPx", where, positive=True),
                      sz=_num(o, "sz", where, nonneg=True))


def parse_order_updates(data: Any) -> list[OrderUpdate]:
    """An ``orderUpdates`` payload: a list of ``{"order", "status", "statusTimestamp"}``."""
    if not isinstance(data, list):
        raise MessageError(f"orderUpdates: data must be a list, got {type(data).__name__}")
    out = []
    for i, u in enumerate(data):
        where = f"orderUpdates[{i}]"
        o = _field(u, "order", where)
        status = _field(u, "status", where)
        if not isinstance(status, str):
            raise MessageError(f"{where}: status={status!r} is not a string")
        ts = _int(u, "statusTimestamp", where) * _MS
        w = f"{where}.order"
        out.append(OrderUpdate(_coin(o, w), _int(o, "oid", w), _cloid(o), _side(o, w),
                               _num(o, "limitPx", w, positive=True),
                               _num(o, "sz", w, nonneg=True),
                               _num(o, "origSz", w, nonneg=True), status, ts))
    return out


def _fill(f: Any, where: str) -> UserFill:
    return UserFill(_coin(f, where), _int(f, "tid", where), _int(f, "oid", where),
                    _cloid(f) if isinstance(f, dict) else None, _side(f, where),
                    _num(f, "px", where, positive=True), _num(f, "sz", where, positive=True),
                    _num(f, "fee", where), _int(f, "time", where) * _MS)


def parse_user_fills(data: Any) -> tuple[bool, list[UserFill]]:
    """A ``userFills`` ws payload -> ``(is_snapshot, fills)``; a REST ``userFills``
    answer (a bare list) -> ``(True, fills)``."""
    if isinstance(data, list):
        return True, [_fill(f, f"userFills[{i}]") for i, f in enumerate(data)]
    fills = _field(data, "fills", "userFills")
    if not isinstance(fills, list):
        raise MessageError("userFills: fills must be a list")
    snapshot = bool(data.get("isSnapshot", False))
    return snapshot, [_fill(f, f"userFills.fills[{i}]") for i, f in enumerate(fills)]
