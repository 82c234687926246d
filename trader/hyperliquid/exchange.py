"""Signed ``/exchange`` actions: order, cancel (by oid or cloid), batchModify.

Actions are built and signed with hyperliquid-python-sdk's own functions
(``order_request_to_order_wire``, ``order_wires_to_order_action``, ``sign_l1_action``), so
the wire format and the EIP-712 signature are the SDK's; only the transport is ours
(:class:`~trader.hyperliquid.http.JsonPoster`, rate-limited, off the event loop). Prices
and sizes are rounded to the venue's rules first (:mod:`trader.hyperliquid.rules`).
The nonce is the ms timestamp, strictly increasing per client. Testnet signatures differ
from mainnet ones (``is_mainnet`` is part of the signed payload).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from hyperliquid.utils.signing import (
    OrderRequest,
    order_request_to_order_wire,
    order_wires_to_order_action,
    sign_l1_action,
)
from hyperliquid.utils.types import Cloid

from trader.hyperliquid.http import JsonPoster, VenueError
from trader.hyperliquid.ratelimit import exchange_weight
from trader.hyperliquid.rules import AssetRules
from trader.orders import Cancel, Modify, Place, Side

__all__ = ["ActionStatus", "ExchangeClient"]


@dataclass(frozen=True)
class ActionStatus:
    """The venue's answer for one order, modify or cancel of a batch.

    ``kind``: ``resting`` (oid), ``filled`` (oid, ``filled_sz`` at ``avg_px``),
    ``success`` (a cancel) or ``error`` (``message``).
    """

    kind: str
    oid: int | None = None
    filled_sz: float = 0.0
    avg_px: float = 0.0
    message: str = ""


def _status(raw: Any) -> ActionStatus:
    if raw == "success":
        return ActionStatus("success")
    if isinstance(raw, dict):
        if "resting" in raw:
            return ActionStatus("resting", int(raw["resting"]["oid"]))
        if "filled" in raw:
            f = raw["filled"]
            return ActionStatus("filled", int(f["oid"]), float(f["totalSz"]), float(f["avgPx"]))
        if "error" in raw:
            return ActionStatus("error", message=str(raw["error"]))
    return ActionStatus("error", message=f"unrecognised status {raw!r}")


def parse_statuses(answer: Any, n: int) -> list[ActionStatus]:
    """The per-item statuses of an ``/exchange`` answer; a whole-action error becomes
    ``n`` error statuses."""
    if not isinstance(answer, dict):
        raise VenueError(f"exchange answer is not an object: {str(answer)[:200]}")
    if answer.get("status") != "ok":
        message = str(answer.get("response", answer))[:300]
        return [ActionStatus("error", message=message)] * n
    try:
        statuses = answer["response"]["data"]["statuses"]
    except (KeyError, TypeError):
        # A cancel-all style answer without per-item statuses means all succeeded.
        return [ActionStatus("success")] * n
    if not isinstance(statuses, list) or len(statuses) != n:
        raise VenueError(f"exchange answer has {statuses!r}, expected {n} statuses")
    return [_status(s) for s in statuses]


class ExchangeClient:
    """Signs and sends actions for one account.

    Parameters
    ----------
    poster : JsonPoster
    private_key : str
        Hex key (``0x`` + 64 hex digits); kept only inside the eth_account object.
    rules : dict of str to AssetRules
        From ``meta``: asset index and szDecimals per coin.
    is_mainnet : bool
        Signs for mainnet (source "a") instead of testnet ("b").
    """

    def __init__(self, poster: JsonPoster, private_key: str, rules: dict[str, AssetRules],
                 *, is_mainnet: bool = False) -> None:
        self.poster = poster
        self._wallet = Account.from_key(private_key)
        self.address: str = self._wallet.address
        self.rules = rules
        self.is_mainnet = is_mainnet
        self._last_nonce = 0
        self.sent: dict[str, int] = {"order": 0, "cancel": 0, "cancelByCloid": 0,
                                     "batchModify": 0}

    def __repr__(self) -> str:  # never show the wallet
        return f"ExchangeClient(address={self.address}, mainnet={self.is_mainnet})"

    def _nonce(self) -> int:
        self._last_nonce = max(time.time_ns() // 1_000_000, self._last_nonce + 1)
        return self._last_nonce

    def _rule(self, coin: str) -> AssetRules:
        rule = self.rules.get(coin)
        if rule is None:
            raise VenueError(f"{coin} is not in the venue's meta; known: {sorted(self.rules)[:20]}")
        return rule

    def _request(self, coin: str, side: Side, px: float, sz: float, tif: str,
                 cloid: str | None) -> OrderRequest:
        rule = self._rule(coin)
        request: OrderRequest = {
            "coin": coin, "is_buy": side is Side.BUY, "sz": rule.round_sz(sz),
            "limit_px": rule.round_px(px, side), "order_type": {"limit": {"tif": tif}},  # type: ignore[typeddict-item]
            "reduce_only": False,
        }
        if cloid is not None:
            request["cloid"] = Cloid.from_str(cloid)
        return request

    def sign(self, action: dict[str, Any]) -> dict[str, Any]:
        """The ``/exchange`` payload of ``action``: action, nonce, signature."""
        nonce = self._nonce()
        signature = sign_l1_action(self._wallet, action, None, nonce, None, self.is_mainnet)
        return {"action": action, "nonce": nonce, "signature": signature,
                "vaultAddress": None, "expiresAfter": None}

    async def _send(self, action: dict[str, Any], n: int) -> list[ActionStatus]:
        payload = self.sign(action)
        self.sent[action["type"]] += 1
        answer = await self.poster.post("/exchange", payload, exchange_weight(action))
        return parse_statuses(answer, n)

    async def place(self, places: list[Place]) -> list[ActionStatus]:
        """One ``order`` action holding every place, in order."""
        if not places:
            return []
        wires = [order_request_to_order_wire(
            self._request(p.symbol, p.side, p.px, p.sz, p.tif.value, p.cloid),
            self._rule(p.symbol).asset) for p in places]
        return await self._send(order_wires_to_order_action(wires), len(places))

    async def modify(self, modifies: list[Modify]) -> list[ActionStatus]:
        """One ``batchModify`` action (the SDK's ``bulk_modify_orders_new`` shape)."""
        if not modifies:
            return []
        wires = [{"oid": m.oid, "order": order_request_to_order_wire(
            self._request(m.symbol, m.side, m.px, m.sz, m.tif.value, m.cloid),
            self._rule(m.symbol).asset)} for m in modifies]
        return await self._send({"type": "batchModify", "modifies": wires}, len(modifies))

    async def cancel(self, cancels: list[Cancel]) -> list[ActionStatus]:
        """Cancels by oid in one ``cancel`` action, those without an oid by cloid; the
        statuses come back in the order given."""
        by_oid = [c for c in cancels if c.oid is not None]
        by_cloid = [c for c in cancels if c.oid is None]
        out: dict[int, ActionStatus] = {}
        if by_oid:
            action = {"type": "cancel", "cancels": [
                {"a": self._rule(c.symbol).asset, "o": c.oid} for c in by_oid]}
            for c, s in zip(by_oid, await self._send(action, len(by_oid)), strict=True):
                out[id(c)] = s
        if by_cloid:
            action = {"type": "cancelByCloid", "cancels": [
                {"asset": self._rule(c.symbol).asset, "cloid": c.cloid} for c in by_cloid]}
            for c, s in zip(by_cloid, await self._send(action, len(by_cloid)), strict=True):
                out[id(c)] = s
        return [out[id(c)] for c in cancels]
