"""Lake tables merged into one columnar event stream in exchange-time order.

The backtest loop reads these arrays directly (no Python objects per event), so every
check happens here, once, at the boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    from data_lake.lake import Lake

__all__ = [
    "BBO_ASK_PX",
    "BBO_ASK_SZ",
    "BBO_BID_PX",
    "BBO_BID_SZ",
    "KIND_BBO",
    "KIND_BOOK",
    "KIND_FUNDING",
    "KIND_TRADE",
    "EventStream",
    "events_from_tables",
    "load_events",
]

# The kind codes double as the tie-break at equal exchange time: a trade sorts before the
# book/bbo snapshot stamped with the same ts, because the snapshot already shows the level
# after that trade. Book-first would let the trade deplete our queue a second time (the
# snapshot already shrank it), and hftbacktest's ProbQueueModel nets trades out of the
# next depth change on the same assumption. Funding last: it settles on the final state.
KIND_TRADE = 0
KIND_BOOK = 1
KIND_BBO = 2
KIND_FUNDING = 3

# Columns of EventStream.bbo: a top-of-book row keeps only these four numbers (a full-depth
# level row per bbo update cost 1.2 GB on a million-trade day of 1M bbo rows).
BBO_BID_PX = 0
BBO_BID_SZ = 1
BBO_ASK_PX = 2
BBO_ASK_SZ = 3
_BBO_COLUMNS = 4


def _no_bbo() -> np.ndarray:
    return np.zeros((0, _BBO_COLUMNS))


@dataclass(frozen=True)
class EventStream:
    """Market events in exchange-time order, one row per event.

    Attributes
    ----------
    ts_ns, recv_ts_ns : int64 arrays
        Exchange time and our receive time, ns UTC. A missing recv_ts equals ts.
    kind : int8 array
        ``KIND_TRADE``, ``KIND_BOOK``, ``KIND_BBO`` or ``KIND_FUNDING``.
    price, size : float64 arrays
        Trades: price (quote currency) and size (base units). Funding: mark price and
        rate per interval (fraction). Book/bbo rows: NaN (read the level arrays).
    side : int8 array
        Trades: +1 buy aggressor, -1 sell aggressor; 0 otherwise.
    level_row : int64 array
        Book rows: row of the level arrays holding the snapshot. Bbo rows: row of
        ``bbo``. -1 otherwise.
    interval_s : float64 array
        Funding rows: the rate's interval, seconds; NaN otherwise.
    bid_px, bid_sz, ask_px, ask_sz : float64 arrays, shape (n_snapshots, depth)
        L2 snapshots, best first; missing levels have NaN price and zero size.
    bbo : float64 array, shape (n_bbo, 4)
        Top-of-book updates, columns ``BBO_BID_PX``, ``BBO_BID_SZ``, ``BBO_ASK_PX``,
        ``BBO_ASK_SZ``; a missing side has NaN price and zero size.
    """

    ROW_INDEXED: ClassVar[tuple[str, ...]] = ("bid_px", "bid_sz", "ask_px", "ask_sz", "bbo")
    """The fields indexed by ``level_row`` rather than by event (keep them whole when
    taking the first n events)."""

    ts_ns: np.ndarray
    recv_ts_ns: np.ndarray
    kind: np.ndarray
    price: np.ndarray
    size: np.ndarray
    side: np.ndarray
    level_row: np.ndarray
    interval_s: np.ndarray
    bid_px: np.ndarray
    bid_sz: np.ndarray
    ask_px: np.ndarray
    ask_sz: np.ndarray
    bbo: np.ndarray = field(default_factory=_no_bbo)

    def __post_init__(self) -> None:
        n = len(self.ts_ns)
        for name in ("recv_ts_ns", "kind", "price", "size", "side", "level_row", "interval_s"):
            rows = len(getattr(self, name))
            if rows != n:
                raise ValueError(f"EventStream.{name} has {rows} rows, ts_ns has {n}")
        shape = self.bid_px.shape
        for name in ("bid_sz", "ask_px", "ask_sz"):
            if getattr(self, name).shape != shape:
                raise ValueError(f"EventStream.{name} shape {getattr(self, name).shape} != {shape}")
        if self.bbo.ndim != 2 or self.bbo.shape[1] != _BBO_COLUMNS:
            raise ValueError(f"EventStream.bbo shape {self.bbo.shape} is not (n, {_BBO_COLUMNS})")
        if n > 1:
            _require_sorted(self.ts_ns, "ts_ns")

    def __len__(self) -> int:
        return len(self.ts_ns)

    @property
    def depth(self) -> int:
        """Number of book levels per side in the level arrays."""
        return int(self.bid_px.shape[1])


def _require_sorted(ts_ns: np.ndarray, what: str) -> None:
    bad = np.flatnonzero(np.diff(ts_ns) < 0)
    if bad.size:
        i = int(bad[0]) + 1
        raise ValueError(f"{what} must be sorted by ts; first violation at index {i}")


def _column(table: pa.Table, name: str, dtype: type, fill: float | None = None) -> np.ndarray:
    col = table.column(name)
    if fill is not None:
        # Integer-typed prices cannot hold the NaN fill: widen first.
        col = col.cast(pa.float64()).fill_null(fill)
    elif col.null_count:
        first = int(np.flatnonzero(np.asarray(col.is_null()))[0])
        raise ValueError(f"column {name!r} has nulls; first at row {first}")
    return np.asarray(col.to_numpy(), dtype=dtype)


def _require_positive(values: np.ndarray, what: str) -> None:
    bad = np.flatnonzero(~(np.isfinite(values) & (values > 0)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{what} must be finite and > 0; first violation at row {i}: {values[i]}")


def _recv(table: pa.Table, ts: np.ndarray) -> np.ndarray:
    if "recv_ts" not in table.column_names:
        return ts.copy()
    # Stay in int64: epoch ns exceed float64's exact range (a float round trip moves
    # them by up to 256 ns).
    col = table.column("recv_ts").cast(pa.int64())
    recv = np.asarray(col.fill_null(0).to_numpy(), dtype=np.int64)
    if col.null_count:
        recv = np.where(np.asarray(col.is_null().to_numpy(zero_copy_only=False)), ts, recv)
    return recv


def _is_empty(table: pa.Table | None) -> bool:
    return table is None or table.num_rows == 0


def _fill_levels(table: pa.Table, name: str, out: np.ndarray) -> None:
    """Scatter list column ``name`` into ``out`` (rows x depth, prefilled with the
    missing-level value), dropping levels beyond the depth."""
    col = table.column(name).combine_chunks()
    lengths = np.asarray(col.value_lengths().fill_null(0).to_numpy(), dtype=np.int64)
    flat = np.asarray(col.flatten().to_numpy(zero_copy_only=False), dtype=np.float64)
    rows = np.repeat(np.arange(table.num_rows), lengths)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    pos = np.arange(flat.size) - starts
    keep = pos < out.shape[1]
    out[rows[keep], pos[keep]] = flat[keep]


def _check_levels(px: np.ndarray, sz: np.ndarray, what: str) -> None:
    present = ~np.isnan(px)
    bad = present & ~(np.isfinite(px) & (px > 0))
    bad |= present & ~(np.isfinite(sz) & (sz >= 0))
    if bad.any():
        row, lvl = (int(v[0]) for v in np.nonzero(bad))
        raise ValueError(
            f"{what} level {lvl} of snapshot {row}: price {px[row, lvl]} size {sz[row, lvl]}"
            " (prices must be finite and > 0, sizes finite and >= 0)"
        )


def events_from_tables(
    trades: pa.Table | None,
    book: pa.Table | None,
    bbo: pa.Table | None,
    funding: pa.Table | None,
    *,
    depth: int | None = None,
) -> EventStream:
    """Merge the lake's tables into one event stream in exchange-time order.

    Parameters
    ----------
    trades, book, bbo, funding : pyarrow.Table or None
        Lake tables with the lake's columns (``ts`` in int64 ns UTC); any may be None or
        empty. Each must be sorted by ts.
    depth : int, optional
        Book levels kept per side; default the deepest snapshot in ``book`` (1 if none).

    Returns
    -------
    EventStream
        Rows sorted by (ts, kind, row within table): at equal ts trades come before
        book/bbo snapshots (the snapshot already shows the level after the trade).

    Raises
    ------
    ValueError
        Unsorted ts, a null or non-finite value, or a non-positive price or size, naming
        the table, the column and the first offending row.
    """
    ts_parts: list[np.ndarray] = []
    recv_parts: list[np.ndarray] = []
    kind_parts: list[np.ndarray] = []
    price_parts: list[np.ndarray] = []
    size_parts: list[np.ndarray] = []
    side_parts: list[np.ndarray] = []
    row_parts: list[np.ndarray] = []
    interval_parts: list[np.ndarray] = []

    def add(
        ts: np.ndarray, recv: np.ndarray, kind: int, price: np.ndarray, size: np.ndarray,
        side: np.ndarray, row: np.ndarray, interval: np.ndarray,
    ) -> None:
        ts_parts.append(ts)
        recv_parts.append(recv)
        kind_parts.append(np.full(len(ts), kind, dtype=np.int8))
        price_parts.append(price)
        size_parts.append(size)
        side_parts.append(side.astype(np.int8))
        row_parts.append(row)
        interval_parts.append(interval)

    if not _is_empty(trades):
        assert trades is not None
        ts = _column(trades, "ts", np.int64)
        _require_sorted(ts, "trades.ts")
        price = _column(trades, "price", np.float64)
        size = _column(trades, "size", np.float64)
        side = _column(trades, "side", np.int64)
        _require_positive(price, "trades.price")
        _require_positive(size, "trades.size")
        bad = np.flatnonzero(np.abs(side) != 1)
        if bad.size:
            raise ValueError(f"trades.side must be +1 or -1; first violation at row {bad[0]}")
        n = len(ts)
        add(ts, _recv(trades, ts), KIND_TRADE, price, size, side,
            np.full(n, -1, np.int64), np.full(n, np.nan))

    n_book = 0 if _is_empty(book) else book.num_rows  # type: ignore[union-attr]
    n_bbo = 0 if _is_empty(bbo) else bbo.num_rows  # type: ignore[union-attr]
    if depth is None:
        depth = 1
        if n_book:
            assert book is not None
            lengths = book.column("bid_px").combine_chunks().value_lengths().fill_null(0)
            lengths_ask = book.column("ask_px").combine_chunks().value_lengths().fill_null(0)
            depth = max(1, int(np.max(lengths.to_numpy())), int(np.max(lengths_ask.to_numpy())))
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    bid_px = np.full((n_book, depth), np.nan)
    ask_px = np.full((n_book, depth), np.nan)
    bid_sz = np.zeros((n_book, depth))
    ask_sz = np.zeros((n_book, depth))
    top = np.empty((n_bbo, _BBO_COLUMNS))

    if n_book:
        assert book is not None
        ts = _column(book, "ts", np.int64)
        _require_sorted(ts, "book.ts")
        for name, out in (("bid_px", bid_px), ("bid_sz", bid_sz), ("ask_px", ask_px),
                          ("ask_sz", ask_sz)):
            _fill_levels(book, name, out)
        _check_levels(bid_px, bid_sz, "book bid")
        _check_levels(ask_px, ask_sz, "book ask")
        nan = np.full(n_book, np.nan)
        add(ts, _recv(book, ts), KIND_BOOK, nan, nan, np.zeros(n_book, np.int8),
            np.arange(n_book, dtype=np.int64), nan)

    if n_bbo:
        assert bbo is not None
        ts = _column(bbo, "ts", np.int64)
        _require_sorted(ts, "bbo.ts")
        top[:, BBO_BID_PX] = _column(bbo, "bid_px", np.float64, fill=np.nan)
        top[:, BBO_BID_SZ] = _column(bbo, "bid_sz", np.float64, fill=0.0)
        top[:, BBO_ASK_PX] = _column(bbo, "ask_px", np.float64, fill=np.nan)
        top[:, BBO_ASK_SZ] = _column(bbo, "ask_sz", np.float64, fill=0.0)
        _check_levels(top[:, BBO_BID_PX:BBO_BID_PX + 1], top[:, BBO_BID_SZ:BBO_BID_SZ + 1],
                      "bbo bid")
        _check_levels(top[:, BBO_ASK_PX:BBO_ASK_PX + 1], top[:, BBO_ASK_SZ:BBO_ASK_SZ + 1],
                      "bbo ask")
        nan = np.full(n_bbo, np.nan)
        add(ts, _recv(bbo, ts), KIND_BBO, nan, nan, np.zeros(n_bbo, np.int8),
            np.arange(n_bbo, dtype=np.int64), nan)

    if not _is_empty(funding):
        assert funding is not None
        ts = _column(funding, "ts", np.int64)
        _require_sorted(ts, "funding.ts")
        rate = _column(funding, "rate", np.float64)
        bad = np.flatnonzero(~np.isfinite(rate))
        if bad.size:
            raise ValueError(f"funding.rate must be finite; first violation at row {bad[0]}")
        mark = _column(funding, "mark_px", np.float64, fill=np.nan)
        _require_positive(mark, "funding.mark_px")
        interval = _column(funding, "interval_s", np.float64)
        _require_positive(interval, "funding.interval_s")
        n = len(ts)
        add(ts, _recv(funding, ts), KIND_FUNDING, mark, rate, np.zeros(n, np.int8),
            np.full(n, -1, np.int64), interval)

    if not ts_parts:
        empty_f = np.zeros(0)
        empty_i = np.zeros(0, np.int64)
        return EventStream(empty_i, empty_i.copy(), np.zeros(0, np.int8), empty_f, empty_f.copy(),
                           np.zeros(0, np.int8), empty_i.copy(), empty_f.copy(),
                           bid_px, bid_sz, ask_px, ask_sz, top)
    ts_all = np.concatenate(ts_parts)
    kind_all = np.concatenate(kind_parts)
    # lexsort is stable: the last key is primary, then kind, then the input order.
    order = np.lexsort((kind_all, ts_all))
    return EventStream(
        ts_ns=ts_all[order],
        recv_ts_ns=np.concatenate(recv_parts)[order],
        kind=kind_all[order],
        price=np.concatenate(price_parts)[order],
        size=np.concatenate(size_parts)[order],
        side=np.concatenate(side_parts)[order],
        level_row=np.concatenate(row_parts)[order],
        interval_s=np.concatenate(interval_parts)[order],
        bid_px=bid_px,
        bid_sz=bid_sz,
        ask_px=ask_px,
        ask_sz=ask_sz,
        bbo=top,
    )


def load_events(
    lake: Lake, venue: str, symbol: str, start_ns: int, end_ns: int, *, depth: int | None = None
) -> EventStream:
    """Read trades, book, bbo and funding for ``[start_ns, end_ns)`` and merge them.

    Parameters
    ----------
    lake : data_lake.lake.Lake
        The lake to read.
    venue, symbol : str
        Partition keys, e.g. ``"binance"``, ``"BTCUSDT"``.
    start_ns, end_ns : int
        Window in int64 ns UTC, end exclusive.
    depth : int, optional
        Book levels kept per side (see :func:`events_from_tables`).
    """
    if end_ns <= start_ns:
        raise ValueError(f"empty window: start_ns {start_ns} >= end_ns {end_ns}")
    tables = {
        name: lake.read(name, symbol=symbol, venue=venue, start_ns=start_ns, end_ns=end_ns)
        for name in ("trades", "book", "bbo", "funding")
    }
    return events_from_tables(
        tables["trades"], tables["book"], tables["bbo"], tables["funding"], depth=depth
    )
