"""Modify-or-replace: the one rule that turns a wanted quote into an order action.

Shared by the live order manager (:mod:`trader.orders`) and the jitted backtest loop
(:mod:`trader.sim`), so a backtest requotes exactly as the live trader would.
"""

from __future__ import annotations

import math

from numba import njit

__all__ = [
    "ACTION_CANCEL",
    "ACTION_KEEP",
    "ACTION_MODIFY",
    "ACTION_NONE",
    "ACTION_PLACE",
    "ACTION_REPLACE",
    "requote_action",
]

ACTION_NONE = 0
"""No order open and none wanted."""
ACTION_KEEP = 1
"""The open order already quotes what is wanted (within a tick and a lot)."""
ACTION_MODIFY = 2
"""Amend the open order in place: a small price move, same side."""
ACTION_REPLACE = 3
"""Cancel the open order and place a new one: the move is too large to amend."""
ACTION_CANCEL = 4
"""Cancel the open order: nothing wanted on this side any more."""
ACTION_PLACE = 5
"""Place a new order: nothing open on this side."""


@njit(cache=True)
def requote_action(
    open_px: float,
    open_sz: float,
    want_px: float,
    want_sz: float,
    tick: float,
    lot: float,
    max_modify_ticks: float,
    keep_within_ticks: float = 0.0,
) -> int:
    """What to do with one side's open order given the wanted quote.

    Parameters
    ----------
    open_px, open_sz : float
        The open order's price and remaining size; ``open_sz <= 0`` or a NaN price means
        no order is open on this side.
    want_px, want_sz : float
        The wanted quote; ``want_sz <= 0`` or a NaN price means quote nothing.
    tick, lot : float
        Price and size increments; differences under half of one are no change.
    max_modify_ticks : float
        Largest price move, in ticks, done as a modify. Larger moves cancel and replace,
        because a far move loses queue priority anyway and a cancel is the safer message
        if the venue rejects the new price. ``0`` never modifies a price.
    keep_within_ticks : float
        Requote tolerance: an open order of the wanted size within this many ticks of
        the wanted price is kept. Live inputs (the Hawkes ratio moves at every trade)
        would otherwise move the quotes by a tick or two on most requotes, paying queue
        priority and rate limit for a change worth less than either. ``0``: exact.

    Returns
    -------
    int
        One of the ``ACTION_*`` constants.
    """
    has_open = open_sz > 0.0 and not math.isnan(open_px)
    wants = want_sz > 0.0 and not math.isnan(want_px)
    if not has_open:
        return ACTION_PLACE if wants else ACTION_NONE
    if not wants:
        return ACTION_CANCEL
    move_ticks = abs(want_px - open_px) / tick
    same_px = move_ticks < 0.5
    same_sz = abs(want_sz - open_sz) < 0.5 * lot
    if same_sz and (same_px or move_ticks <= keep_within_ticks + 1e-9):
        return ACTION_KEEP
    if move_ticks <= max_modify_ticks + 1e-9:
        return ACTION_MODIFY
    return ACTION_REPLACE
