"""An L2 order book rebuilt from a snapshot plus price-level diffs (Binance USD-M style).

Each side is a dict ``price -> size`` plus a short ascending list of its best prices
kept sorted with :mod:`bisect`: most diff levels change the size of an existing level
(a dict store), and levels far from the touch never enter the list. The top ``depth``
levels are slices, so a book row costs O(depth) and a diff O(levels changed).

Also the columnar buffers that book snapshots accumulate in before they become an
Arrow table with list columns (levels best first, at most ``depth`` of them: a side
with fewer real levels gives a shorter list, never padding).
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, insort
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

__all__ = ["BookBuffer", "BookRows", "L2Book"]

_INF = math.inf


class _Side:
    """One side: every level in a dict, the best ones also in a short sorted list.

    Invariant: ``top`` holds the best ``len(top)`` prices of ``levels``, ascending (for
    bids the best is last, for asks first). New levels worse than all of ``top`` touch
    only the dict; when deletions leave fewer than ``depth`` in ``top`` it is refilled
    from the dict, which is rare because prices seldom move ``window`` levels at once.
    """

    __slots__ = ("depth", "is_bid", "levels", "top", "window")

    def __init__(self, is_bid: bool, depth: int) -> None:
        self.is_bid = is_bid
        self.depth = depth
        self.window = 4 * depth
        self.levels: dict[float, float] = {}
        self.top: list[float] = []

    def clear(self) -> None:
        self.levels.clear()
        self.top = []

    def refill(self) -> None:
        pick = heapq.nlargest if self.is_bid else heapq.nsmallest
        self.top = sorted(pick(self.window, self.levels))

    def apply(self, updates: Sequence[Any]) -> str | None:
        levels = self.levels
        top = self.top
        is_bid = self.is_bid
        inf = _INF
        for px_s, sz_s in updates:
            px = float(px_s)
            sz = float(sz_s)
            if sz == 0.0:
                if px in levels:
                    del levels[px]
                    if (px >= top[0]) if is_bid else (px <= top[-1]):
                        del top[bisect_left(top, px)]
                        if len(top) < self.depth and len(levels) > len(top):
                            self.refill()
                            top = self.top
            elif not 0.0 < sz < inf:
                return f"non-positive price or size: level [{px_s}, {sz_s}]"
            elif px in levels:
                levels[px] = sz  # the common case: a size change at a known level
            elif not 0.0 < px < inf:
                return f"non-positive price or size: level [{px_s}, {sz_s}]"
            else:
                n = len(levels)
                levels[px] = sz
                if len(top) == n or ((px > top[0]) if is_bid else (px < top[-1])):
                    insort(top, px)
                    if len(top) > 2 * self.window:
                        if is_bid:
                            del top[0]
                        else:
                            top.pop()
        return None


class L2Book:
    """Price-level book: ``apply`` diffs, read the top levels.

    Parameters
    ----------
    depth : levels per side that :class:`BookBuffer` reads (the sorted window is sized
        from it).
    """

    __slots__ = ("ask", "bid")

    def __init__(self, depth: int = 20) -> None:
        self.bid = _Side(True, depth)
        self.ask = _Side(False, depth)

    def load(self, bids: Sequence[Any], asks: Sequence[Any]) -> str | None:
        """Replace the book with a full snapshot; returns an error reason or None."""
        self.bid.clear()
        self.ask.clear()
        return self.bid.apply(bids) or self.ask.apply(asks)

    def apply(self, levels: Sequence[Any], is_bid: bool) -> str | None:
        """Apply ``[[price, size], ...]`` (strings or numbers; size 0 removes a level).

        Returns a reason when a level is malformed; the book is then partly updated and
        must be resynchronised from a snapshot.
        """
        return (self.bid if is_bid else self.ask).apply(levels)

    def crossed(self) -> str | None:
        """A reason if the best bid is at or above the best ask, else None."""
        bid, ask = self.bid.top, self.ask.top
        if bid and ask and bid[-1] >= ask[0]:
            return f"crossed book: best bid {bid[-1]} >= best ask {ask[0]}"
        return None

    def best(self) -> tuple[float, float]:
        """(best bid, best ask); NaN for an empty side."""
        bid = self.bid.top[-1] if self.bid.top else math.nan
        ask = self.ask.top[0] if self.ask.top else math.nan
        return bid, ask


@dataclass
class BookRows:
    """Column lists of book snapshots; levels flattened with a count per row and side."""

    ts: list[int] = field(default_factory=list)
    seq: list[int] = field(default_factory=list)
    recv_ts: list[int | None] = field(default_factory=list)
    bid_px: list[float] = field(default_factory=list)
    bid_sz: list[float] = field(default_factory=list)
    bid_n: list[int] = field(default_factory=list)
    ask_px: list[float] = field(default_factory=list)
    ask_sz: list[float] = field(default_factory=list)
    ask_n: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ts)

    def to_arrow(self) -> pa.Table:
        bid_off = _offsets(self.bid_n)
        ask_off = _offsets(self.ask_n)
        return pa.table(
            {
                "ts": pa.array(self.ts, pa.int64()),
                "seq": pa.array(self.seq, pa.int64()),
                "bid_px": pa.ListArray.from_arrays(bid_off, pa.array(self.bid_px, pa.float64())),
                "bid_sz": pa.ListArray.from_arrays(bid_off, pa.array(self.bid_sz, pa.float64())),
                "ask_px": pa.ListArray.from_arrays(ask_off, pa.array(self.ask_px, pa.float64())),
                "ask_sz": pa.ListArray.from_arrays(ask_off, pa.array(self.ask_sz, pa.float64())),
                "recv_ts": pa.array(self.recv_ts, pa.int64()),
            }
        )


def _offsets(counts: list[int]) -> pa.Array:
    out = [0] * (len(counts) + 1)
    acc = 0
    for i, n in enumerate(counts, 1):
        acc += n
        out[i] = acc
    return pa.array(out, pa.int32())


class BookBuffer:
    """Appends the top ``depth`` levels of an :class:`L2Book` as one snapshot row."""

    def __init__(self, depth: int) -> None:
        if depth < 1:
            raise ValueError(f"book depth must be at least 1 level, not {depth}")
        self.depth = depth
        self.rows = BookRows()

    def append(self, book: L2Book, ts: int, seq: int, recv_ts: int | None) -> None:
        rows = self.rows
        depth = self.depth
        top_b = book.bid.top[: -depth - 1 : -1]
        top_a = book.ask.top[:depth]
        bids = book.bid.levels
        asks = book.ask.levels
        rows.ts.append(ts)
        rows.seq.append(seq)
        rows.recv_ts.append(recv_ts)
        rows.bid_px.extend(top_b)
        rows.bid_sz.extend([bids[p] for p in top_b])
        rows.bid_n.append(len(top_b))
        rows.ask_px.extend(top_a)
        rows.ask_sz.extend([asks[p] for p in top_a])
        rows.ask_n.append(len(top_a))

    def take(self) -> pa.Table:
        """The buffered rows as Arrow, and an empty buffer."""
        table = self.rows.to_arrow()
        self.rows = BookRows()
        return table

    def __len__(self) -> int:
        return len(self.rows)
