"""An L2 order book rebuilt from a snapshot plus price-level diffs (Binance USD-M style).

The book lives in numpy arrays updated by the numba kernels of
:mod:`data_lake.sources.binance.kernels`, which parse a diff's levels straight from
the line's bytes. Also the buffers that book rows accumulate in before they become an
Arrow table with list columns (levels best first, at most ``depth`` of them: a side
with fewer real levels gives a shorter list, never padding).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from data_lake.sources.binance.kernels import (
    APPLY_BAD_LEVEL,
    APPLY_OK,
    apply_diff,
    emit_book,
    far_clear,
    far_rehash,
    load_side,
)

__all__ = ["BookBuffer", "BookRows", "L2Book", "apply_error"]

_INF = math.inf


def _far_table(capacity: int) -> np.ndarray:
    """An empty far table with ``capacity`` slots (a power of two)."""
    table = np.full((capacity + 1, 2), np.nan)
    table[0, 0] = 0.0
    return table


def apply_error(buf: np.ndarray, status: int, bad: int) -> str:
    """The quarantine reason of a failed :func:`apply_diff` (``bad``: the level's offset)."""
    text = bytes(buf[bad : bad + 60]).split(b"]", 1)[0].decode("utf-8", "replace")
    if status == APPLY_BAD_LEVEL:
        return f"non-positive price or size: level {text}]"
    return f"bad value: unparseable level near {text!r}"


class L2Book:
    """Price-level book updated by the kernels of :mod:`data_lake.sources.binance.kernels`.

    Each side keeps its best levels (at most ``2 * window``) in an ascending array of
    keys (bid prices, or minus ask prices) with sizes, so both best levels are the last
    elements, and every deeper level in a hash map; ``counts`` holds the array counts
    (bids, asks).

    Parameters
    ----------
    depth : levels per side that book rows read; the arrays always hold at least this
        many when the side has them.
    window : levels kept in the arrays after an overflow (at least ``2 * depth``).
    """

    __slots__ = ("ask_far", "ask_keys", "ask_sizes", "bid_far", "bid_keys", "bid_sizes",
                 "counts", "depth", "window")

    def __init__(self, depth: int = 20, window: int = 256) -> None:
        window = max(window, 2 * depth)
        self.depth = depth
        self.bid_keys = np.empty(2 * window + 2)
        self.bid_sizes = np.empty(2 * window + 2)
        self.ask_keys = np.empty(2 * window + 2)
        self.ask_sizes = np.empty(2 * window + 2)
        self.window = window
        self.bid_far = _far_table(4096)
        self.ask_far = _far_table(4096)
        self.counts = np.zeros(2, np.int64)

    def clear(self) -> None:
        self.counts[:] = 0
        far_clear(self.bid_far)
        far_clear(self.ask_far)

    def _room(self, extra: int) -> None:
        """Keep both far tables at most half full after ``extra`` more entries."""
        for name in ("bid_far", "ask_far"):
            table = getattr(self, name)
            need = 2 * (int(table[0, 0]) + extra)  # row 0 holds the entry count
            capacity = table.shape[0] - 1
            if need <= capacity:
                continue
            while capacity < need:
                capacity *= 2
            grown = _far_table(capacity)
            far_rehash(table, grown)
            setattr(self, name, grown)

    def load(self, bids: Sequence[Any], asks: Sequence[Any]) -> str | None:
        """Replace the book with a full snapshot; returns an error reason or None."""
        self.clear()
        sides = []
        for levels in (bids, asks):
            try:
                px = np.array([float(level[0]) for level in levels], dtype=np.float64)
                sz = np.array([float(level[1]) for level in levels], dtype=np.float64)
            except (TypeError, ValueError, IndexError, KeyError) as exc:
                return f"bad value: snapshot level ({exc})"
            sides.append((px, sz))
        self._room(max(len(bids), len(asks)))
        nb = load_side(sides[0][0], sides[0][1], self.bid_keys, self.bid_sizes, self.bid_far, 1.0)
        na = load_side(sides[1][0], sides[1][1], self.ask_keys, self.ask_sizes, self.ask_far,
                       -1.0)
        if nb < 0 or na < 0:
            self.clear()
            return "non-positive price or size: in the snapshot levels"
        self.counts[0], self.counts[1] = nb, na
        return None

    def apply(self, buf: np.ndarray, bids_start: int) -> str | None:
        """Apply the ``"b":[...],"a":[...]`` levels in ``buf``; a reason if malformed.

        After a reason the book is partly updated and must be resynchronised.
        """
        self.reserve(buf)
        status, bad = apply_diff(
            buf, bids_start, self.bid_keys, self.bid_sizes, self.bid_far, self.ask_keys,
            self.ask_sizes, self.ask_far, self.counts, self.depth,
        )
        if status == APPLY_OK:
            return None
        return apply_error(buf, status, bad)

    def reserve(self, buf: np.ndarray) -> None:
        """Room in the far tables for any diff of ``buf``'s size."""
        # A diff adds at most one entry per level, plus the near levels a spill moves.
        self._room(buf.shape[0] // 8 + 2 * self.window + 2)

    def crossed(self) -> str | None:
        """A reason if the best bid is at or above the best ask, else None."""
        nb, na = int(self.counts[0]), int(self.counts[1])
        if nb and na:
            bid = float(self.bid_keys[nb - 1])
            ask = -float(self.ask_keys[na - 1])
            if bid >= ask:
                return f"crossed book: best bid {bid} >= best ask {ask}"
        return None

    def best(self) -> tuple[float, float]:
        """(best bid, best ask); NaN for an empty side."""
        nb, na = int(self.counts[0]), int(self.counts[1])
        bid = float(self.bid_keys[nb - 1]) if nb else math.nan
        ask = -float(self.ask_keys[na - 1]) if na else math.nan
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
    """Book rows from an :class:`L2Book`: the top ``depth`` levels, flattened in arrays."""

    def __init__(self, depth: int, rows: int = 4096) -> None:
        if depth < 1:
            raise ValueError(f"book depth must be at least 1 level, not {depth}")
        self.depth = depth
        self._reset(rows)

    def _reset(self, rows: int) -> None:
        self.ts: list[int] = []
        self.seq: list[int] = []
        self.recv_ts: list[int | None] = []
        self.bid_n: list[int] = []
        self.ask_n: list[int] = []
        size = rows * self.depth
        self.bid_px = np.empty(size)
        self.bid_sz = np.empty(size)
        self.ask_px = np.empty(size)
        self.ask_sz = np.empty(size)
        self.fill = np.zeros(2, np.int64)
        self.room = size  # levels that still fit on the fuller side

    def reserve(self) -> None:
        """Room for one more row (``chained_diff`` and :meth:`append` write in place)."""
        if self.room < self.depth:
            self.room += self.bid_px.shape[0]
            for name in ("bid_px", "bid_sz", "ask_px", "ask_sz"):
                old = getattr(self, name)
                grown = np.empty(old.shape[0] * 2)
                grown[: old.shape[0]] = old
                setattr(self, name, grown)

    def record(self, ts: int, seq: int, recv_ts: int | None, nb: int, na: int) -> None:
        """Book-keep a row whose levels a kernel already wrote at ``fill``."""
        self.ts.append(ts)
        self.seq.append(seq)
        self.recv_ts.append(recv_ts)
        self.bid_n.append(nb)
        self.ask_n.append(na)
        self.room -= max(nb, na)

    def append(self, book: L2Book, ts: int, seq: int, recv_ts: int | None) -> None:
        self.reserve()
        nb, na = emit_book(
            book.bid_keys, book.bid_sizes, book.ask_keys, book.ask_sizes, book.counts,
            self.depth, self.bid_px, self.bid_sz, self.ask_px, self.ask_sz, self.fill,
        )
        self.record(ts, seq, recv_ts, nb, na)

    def take(self) -> pa.Table:
        """The buffered rows as Arrow, and an empty buffer."""
        nb, na = int(self.fill[0]), int(self.fill[1])
        bid_off = _offsets(self.bid_n)
        ask_off = _offsets(self.ask_n)
        table = pa.table(
            {
                "ts": pa.array(self.ts, pa.int64()),
                "seq": pa.array(self.seq, pa.int64()),
                "bid_px": pa.ListArray.from_arrays(bid_off, pa.array(self.bid_px[:nb])),
                "bid_sz": pa.ListArray.from_arrays(bid_off, pa.array(self.bid_sz[:nb])),
                "ask_px": pa.ListArray.from_arrays(ask_off, pa.array(self.ask_px[:na])),
                "ask_sz": pa.ListArray.from_arrays(ask_off, pa.array(self.ask_sz[:na])),
                "recv_ts": pa.array(self.recv_ts, pa.int64()),
            }
        )
        self._reset(max(64, len(self.ts)))
        return table

    def __len__(self) -> int:
        return len(self.ts)
