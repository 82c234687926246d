"""LOBSTER message + orderbook CSV pairs -> trades, book, bbo, orders.

Input: ``<SYM>_<YYYY-MM-DD>_<start>_<end>_message_<L>.csv`` and the matching
``..._orderbook_<L>.csv`` (plain, .gz, or together in a .zip), no header rows:

- message columns: time (seconds after midnight, America/New_York, ns precision), type
  (1 new, 2 partial cancel, 3 delete, 4 visible execution, 5 hidden execution, 7 halt),
  order id, size (shares), price (USD x 10000), direction (1 buy limit order, -1 sell);
- orderbook row k is the book *after* message k: per level i, ask price, ask size,
  bid price, bid size (prices x 10000). Unoccupied levels hold dummy prices
  (+-9999999999) with size 0.

One input record is a (message, orderbook) row pair. Messages of types 1-4 also give an
``orders`` row (level 3: event ``add``, ``cancel``, ``delete`` or ``execute``, the order
id, side +1 for a buy order, price, size, ``seq`` the row number) with ``level_size``, the
displayed size at the order's price on its side in the orderbook row after it: 0 when the
price is absent but inside the file's levels (the level emptied), null when it lies beyond
the last level shown. A type 1-3 message with a non-positive size, price or order id or a
direction other than +-1 is quarantined (table ``orders``). Executions (types 4 and 5) give
trades: price / 10000, side = -direction (the execution of a sell limit order is a
buyer-initiated trade), ``trade_id = f"{order_id}-{row}"`` (hidden executions all have
order id 0, the row makes the id unique and re-import stable). Every pair gives a book
row (throttled by ``book_interval_ms``; ``seq`` is the row number) and a bbo row from
level 1. Book lists hold the real levels only, best first, at most ``depth`` of them:
dummy levels are dropped, never padded (the convention of every importer here).

``ts`` converts the New York wall-clock time of the file's trading day to UTC with
:mod:`zoneinfo` (2012-06-21 is EDT, UTC-4). Rows are parsed in blocks with pyarrow's
CSV reader; a block that fails to parse is re-read line by line so that each bad row
is quarantined with its line and reason.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from data_lake.importing import ImportReport, ImportSession
from data_lake.schemas import DEFAULT_BOOK_DEPTH
from data_lake.sources._rows import counting
from data_lake.sources.textio import (
    InputError,
    LineSource,
    ProgressFn,
    TruncatedInputError,
    iter_lines,
    open_sources,
)

if TYPE_CHECKING:
    from data_lake.lake import Lake

__all__ = ["VENUE", "import_lobster", "lobster_pairs"]

VENUE = "lobster"
BLOCK_ROWS = 20_000
DUMMY_PRICE = 9_999_999_999
_MAX_SECONDS = 2 * 86_400  # message times are seconds after the file day's midnight
PRICE_SCALE = 10_000.0
NEW_YORK = ZoneInfo("America/New_York")
_NAME = re.compile(
    r"^(?P<symbol>[A-Za-z0-9.\-]+)_(?P<date>\d{4}-\d{2}-\d{2})_(?P<start>\d+)_(?P<end>\d+)_"
    r"(?P<kind>message|orderbook)_(?P<levels>\d+)\.csv(?:\.gz)?$"
)
_MSG_COLS = 6
_EVENTS = {1: "add", 2: "cancel", 3: "delete", 4: "execute"}  # message type -> orders.event


class _Pair:
    """A message file and its orderbook file."""

    def __init__(self, symbol: str, date: dt.date, levels: int) -> None:
        self.symbol = symbol
        self.date = date
        self.levels = levels
        self.message: LineSource | None = None
        self.orderbook: LineSource | None = None


def lobster_pairs(sources: Sequence[LineSource]) -> tuple[list[_Pair], list[str]]:
    """Match message and orderbook files by name; returns pairs and the names skipped."""
    pairs: dict[str, _Pair] = {}
    skipped: list[str] = []
    for src in sources:
        m = _NAME.match(src.basename)
        if m is None:
            skipped.append(src.name)
            continue
        stem = src.basename.removesuffix(".gz")
        key = stem.replace("_message_", "_X_").replace("_orderbook_", "_X_")
        pair = pairs.setdefault(
            key,
            _Pair(m["symbol"], dt.date.fromisoformat(m["date"]), int(m["levels"])),
        )
        setattr(pair, m["kind"], src)
    for key, pair in pairs.items():
        if pair.message is None or pair.orderbook is None:
            have = pair.message or pair.orderbook
            assert have is not None
            missing = "orderbook" if pair.orderbook is None else "message"
            raise InputError(
                f"{have.name}: no matching {missing} file "
                f"({key.replace('_X_', f'_{missing}_')}); "
                "pass both files of the pair (or the zip holding them)",
                source=have.name,
            )
    return list(pairs.values()), skipped


def _midnight_ns(day: dt.date) -> int:
    """Midnight of ``day`` in New York, as ns since the epoch (UTC)."""
    local = dt.datetime.combine(day, dt.time(0, 0), tzinfo=NEW_YORK)
    return int(local.timestamp()) * 1_000_000_000


def _parse_block(lines: list[bytes], types: list[pa.DataType]) -> tuple[np.ndarray, ...] | None:
    """Columns of a CSV block as numpy arrays, or None if any row is malformed."""
    names = [f"c{i}" for i in range(len(types))]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(b"\n".join(lines) + b"\n"),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
            convert_options=pacsv.ConvertOptions(column_types=dict(zip(names, types, strict=True))),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.num_rows != len(lines) or any(col.null_count for col in table.columns):
        return None
    return tuple(col.to_numpy() for col in table.columns)


def _parse_line(line: bytes, types: list[pa.DataType]) -> tuple[list[float | int] | None, str]:
    parts = line.split(b",")
    if len(parts) != len(types):
        return None, f"bad CSV: expected {len(types)} fields, found {len(parts)}"
    try:
        return [float(p) if t == pa.float64() else int(p) for p, t in zip(parts, types,
                                                                       strict=True)], ""
    except ValueError as exc:
        return None, f"bad value: {exc}"


def _parse_rows(
    lines: list[bytes], types: list[pa.DataType]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(values as float64 (n, k), ok mask, reasons); fast path, then line by line."""
    cols = _parse_block(lines, types)
    n, k = len(lines), len(types)
    if cols is not None:
        return np.column_stack(cols).astype(np.float64), np.ones(n, bool), [""] * n
    values = np.zeros((n, k))
    ok = np.zeros(n, bool)
    reasons = [""] * n
    for i, line in enumerate(lines):
        row, reason = _parse_line(line, types)
        if row is None:
            reasons[i] = reason
        else:
            values[i] = row
            ok[i] = True
    return values, ok, reasons


def _blocks(src: LineSource, progress: ProgressFn) -> Iterator[list[bytes]]:
    it = iter_lines(src, progress=progress)
    while True:
        block = [line for _, line in islice(it, BLOCK_ROWS)]
        if not block:
            return
        yield block


class _LobsterImport:
    def __init__(self, session: ImportSession, *, book_interval_ms: int, depth: int) -> None:
        if book_interval_ms < 0:
            raise ValueError(f"book_interval_ms must be >= 0, not {book_interval_ms}")
        if depth < 1:
            raise ValueError(f"book depth must be at least 1 level, not {depth}")
        self.s = session
        self.interval_ns = book_interval_ms * 1_000_000
        self.depth = depth
        self.visible = 0
        self.hidden = 0
        self.halts = 0

    def run_pair(self, pair: _Pair, progress: ProgressFn) -> None:
        assert pair.message is not None and pair.orderbook is not None
        s = self.s
        s.sources += [pair.message.name, pair.orderbook.name]
        base_ns = _midnight_ns(pair.date)
        s.fallback_ts = base_ns
        msg_types = [pa.float64()] + [pa.int64()] * 5
        book_types = [pa.int64()] * (4 * pair.levels)
        msgs = _blocks(pair.message, progress)
        books = _blocks(pair.orderbook, progress)
        row0 = 1
        last_book_ts = -(1 << 62)
        msg_err: TruncatedInputError | None = None
        book_err: TruncatedInputError | None = None
        while True:
            try:
                mblock = next(msgs, [])
            except TruncatedInputError as err:
                mblock, msg_err = [], err
            try:
                bblock = next(books, [])
            except TruncatedInputError as err:
                bblock, book_err = [], err
            if not mblock and not bblock:
                break
            last_book_ts = self.block(pair, row0, mblock, bblock, msg_types, book_types,
                                      base_ns, last_book_ts)
            row0 += max(len(mblock), len(bblock))
            if msg_err or book_err:
                break
        for cut, src in ((msg_err, pair.message), (book_err, pair.orderbook)):
            if cut is not None:
                s.errors.append(str(cut))
                if cut.partial:
                    s.records_in += 1
                    s.quarantine("book", src.name, cut.last_good_line + 1, cut.partial,
                                 "truncated line: the file ends mid-line", symbol=pair.symbol)

    def block(self, pair: _Pair, row0: int, mlines: list[bytes], blines: list[bytes],
              msg_types: list[pa.DataType], book_types: list[pa.DataType], base_ns: int,
              last_book_ts: int) -> int:
        s = self.s
        n = min(len(mlines), len(blines))
        assert pair.message is not None and pair.orderbook is not None
        for i in range(n, len(mlines)):
            s.records_in += 1
            s.quarantine("book", pair.message.name, row0 + i, mlines[i],
                         "missing field: no orderbook row for this message", symbol=pair.symbol)
        for i in range(n, len(blines)):
            s.records_in += 1
            s.quarantine("book", pair.orderbook.name, row0 + i, blines[i],
                         "missing field: no message row for this orderbook row",
                         symbol=pair.symbol)
        if n == 0:
            return last_book_ts
        s.records_in += n
        msg, m_ok, m_why = _parse_rows(mlines[:n], msg_types)
        book, b_ok, b_why = _parse_rows(blines[:n], book_types)
        # Seconds after midnight: NaN, inf or beyond two days is no time of this file's
        # day (and would not survive the conversion to int64 ns).
        secs = msg[:, 0]
        bad_time = ~np.isfinite(secs) | (secs < 0) | (secs >= _MAX_SECONDS)
        ts = base_ns + np.rint(np.where(bad_time, 0.0, secs) * 1e9).astype(np.int64)
        mtype = msg[:, 1].astype(np.int64)
        size = msg[:, 3]
        price = msg[:, 4] / PRICE_SCALE
        direction = msg[:, 5].astype(np.int64)
        is_exec = (mtype == 4) | (mtype == 5)
        ask_px, ask_sz = book[:, 0::4], book[:, 1::4]
        bid_px, bid_sz = book[:, 2::4], book[:, 3::4]
        # Real levels: leading levels with a size and a non-dummy price.
        ask_real = np.cumprod((ask_sz > 0) & (np.abs(ask_px) < DUMMY_PRICE) & (ask_px > 0), axis=1)
        bid_real = np.cumprod((bid_sz > 0) & (np.abs(bid_px) < DUMMY_PRICE) & (bid_px > 0), axis=1)
        n_ask = ask_real.sum(axis=1)
        n_bid = bid_real.sum(axis=1)
        crossed = (n_ask > 0) & (n_bid > 0) & (bid_px[:, 0] >= ask_px[:, 0])
        order_id = msg[:, 2].astype(np.int64)
        bad_exec = is_exec & ((size <= 0) | (price <= 0) | (np.abs(direction) != 1))
        bad_exec |= (mtype == 4) & (order_id <= 0)  # a visible execution names its order
        is_order = np.isin(mtype, (1, 2, 3))
        bad_order = is_order & (
            (size <= 0) | (price <= 0) | (np.abs(direction) != 1) | (order_id <= 0)
        )
        bad_msg = ~m_ok | bad_exec | bad_order | ~np.isin(mtype, (1, 2, 3, 4, 5, 7)) | bad_time
        good = ~bad_msg & b_ok & ~crossed
        for k in np.flatnonzero(~good):
            line = row0 + int(k)
            if not m_ok[k]:
                src, raw, reason = pair.message.name, mlines[k], m_why[k]
            elif not b_ok[k]:
                src, raw, reason = pair.orderbook.name, blines[k], b_why[k]
            elif bad_exec[k]:
                src, raw = pair.message.name, mlines[k]
                reason = (f"non-positive price or size: execution size {size[k]:g}, "
                          f"price {price[k]:g}, direction {direction[k]}")
            elif bad_order[k]:
                src, raw = pair.message.name, mlines[k]
                reason = (f"non-positive price or size: {_EVENTS[mtype[k]]} of order "
                          f"{order_id[k]}, size {size[k]:g}, price {price[k]:g}, "
                          f"direction {direction[k]}")
            elif crossed[k]:
                src, raw = pair.orderbook.name, blines[k]
                reason = (f"crossed book: best bid {bid_px[k, 0] / PRICE_SCALE:g} >= "
                          f"best ask {ask_px[k, 0] / PRICE_SCALE:g}")
            else:
                src, raw = pair.message.name, mlines[k]
                reason = f"bad value: message type {mtype[k]} or time {msg[k, 0]} out of range"
            known = m_ok[k] and not bad_time[k]
            table = "trades" if is_exec[k] else "orders" if bad_order[k] else "book"
            s.quarantine(table, src, line, raw, reason,
                         symbol=pair.symbol, ts=int(ts[k]) if known else None)
        rows = np.flatnonzero(good)
        trades = rows[is_exec[rows]]
        s.accept("trades", len(trades))
        s.accept("book", len(rows) - len(trades))
        self.visible += int(np.count_nonzero(mtype[trades] == 4))
        self.hidden += int(np.count_nonzero(mtype[trades] == 5))
        self.halts += int(np.count_nonzero(mtype[rows] == 7))
        if len(trades):
            s.add_rows("trades", pair.symbol, pa.table({
                "ts": ts[trades],
                "price": price[trades],
                "size": size[trades],
                "side": (-direction[trades]).astype(np.int8),
                "trade_id": [f"{o}-{row0 + int(i)}" for o, i in zip(order_id[trades], trades,
                                                                    strict=True)],
                "recv_ts": pa.nulls(len(trades), pa.int64()),
            }))
        events = rows[np.isin(mtype[rows], (1, 2, 3, 4))]
        if len(events):
            side = direction[events]
            raw_px = msg[events, 4]
            level = np.where(
                side > 0,
                _level_size(raw_px, bid_px[events], bid_sz[events], bid_real[events], +1),
                _level_size(raw_px, ask_px[events], ask_sz[events], ask_real[events], -1),
            )
            s.add_rows("orders", pair.symbol, pa.table({
                "ts": ts[events],
                "seq": events.astype(np.int64) + row0,
                "order_id": order_id[events],
                "event": pa.array([_EVENTS[t] for t in mtype[events]], pa.string()),
                "side": side.astype(np.int8),
                "price": price[events],
                "size": size[events],
                "level_size": pa.array(level, pa.float64(), from_pandas=True),
            }))
        both = rows[(n_ask[rows] > 0) & (n_bid[rows] > 0)]
        if len(both):
            s.add_rows("bbo", pair.symbol, pa.table({
                "ts": ts[both],
                "seq": both.astype(np.int64) + row0,
                "bid_px": bid_px[both, 0] / PRICE_SCALE,
                "bid_sz": bid_sz[both, 0],
                "ask_px": ask_px[both, 0] / PRICE_SCALE,
                "ask_sz": ask_sz[both, 0],
                "recv_ts": pa.nulls(len(both), pa.int64()),
            }))
        keep = rows
        if self.interval_ns > 0 and len(rows):
            picked = []
            for r in rows:
                if ts[r] - last_book_ts >= self.interval_ns:
                    picked.append(r)
                    last_book_ts = int(ts[r])
            keep = np.asarray(picked, dtype=np.int64)
        if len(keep):
            s.add_rows("book", pair.symbol, pa.table({
                "ts": ts[keep],
                "seq": keep.astype(np.int64) + row0,
                "bid_px": _lists(bid_px[keep], bid_real[keep], self.depth, scale=True),
                "bid_sz": _lists(bid_sz[keep], bid_real[keep], self.depth),
                "ask_px": _lists(ask_px[keep], ask_real[keep], self.depth, scale=True),
                "ask_sz": _lists(ask_sz[keep], ask_real[keep], self.depth),
                "recv_ts": pa.nulls(len(keep), pa.int64()),
            }))
        return last_book_ts


def _level_size(raw_px: np.ndarray, px: np.ndarray, sz: np.ndarray, real: np.ndarray,
                better: int) -> np.ndarray:
    """Displayed size at ``raw_px`` (price x 10000) on one side of each book row, shares.

    0 where the price is not shown but lies inside the row's levels (or the side shows
    fewer levels than the file holds: every occupied level is shown), NaN beyond the last
    level shown. ``better`` is +1 on the bid side (higher is better), -1 on the ask.
    """
    shown = real.astype(bool)
    at = (px == raw_px[:, None]) & shown
    found = at.any(axis=1)
    n_real = shown.sum(axis=1)
    last = px[np.arange(len(px)), np.maximum(n_real - 1, 0)]
    inside = (n_real < px.shape[1]) | (better * (raw_px - last) > 0)
    return np.where(found, (sz * at).sum(axis=1), np.where(inside, 0.0, np.nan))


def _lists(values: np.ndarray, real: np.ndarray, depth: int, scale: bool = False) -> pa.Array:
    """Row-wise lists of the real leading levels (at most ``depth``)."""
    mask = real[:, :depth].astype(bool)
    flat = values[:, :depth][mask]
    if scale:
        flat = flat / PRICE_SCALE
    offsets = np.concatenate([[0], np.cumsum(mask.sum(axis=1))]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat, pa.float64()))


def import_lobster(
    lake: Lake,
    paths: Sequence[str | Path],
    *,
    symbol: str | None = None,
    book_interval_ms: int = 0,
    depth: int = DEFAULT_BOOK_DEPTH,
    progress: ProgressFn | None = None,
    memory_bytes: int = 128 << 20,
) -> ImportReport:
    """Import LOBSTER message/orderbook pairs into trades, book, bbo and orders.

    Parameters
    ----------
    lake : the lake to write.
    paths : CSV files (plain or .gz) or zips holding both files of each pair; other
        files in a zip (the ReadMe) are skipped and listed in the report's notes.
    symbol : import only this symbol: a pair of another symbol is an error (nothing
        is imported); the symbol otherwise comes from the file name.
    book_interval_ms : write a book row at most once per this many ms (0 = every row).
    depth : levels per side kept in book rows (at most the file's level count).
    progress : called with on-disk bytes consumed.
    memory_bytes : Arrow bytes buffered before spilling to staging parts.

    Returns
    -------
    ImportReport : with notes ``visible_executions``, ``hidden_executions``, ``halts``.
    """
    sources = [src for p in paths for src in open_sources(p)]
    pairs, skipped = lobster_pairs(sources)
    if not pairs:
        names = ", ".join(src.name for src in sources)
        raise InputError(
            f"no LOBSTER message/orderbook pair in {names}; expected file names like "
            "GOOG_2012-06-21_34200000_57600000_message_10.csv",
            source=names,
        )
    if symbol is not None:
        for pair in pairs:
            if pair.symbol != symbol:
                assert pair.message is not None
                raise InputError(
                    f"{pair.message.name}: holds {pair.symbol}, not {symbol}; drop --symbol "
                    "or pass the files of that symbol",
                    source=pair.message.name,
                )
    session = ImportSession(lake, importer="lobster", venue=VENUE, memory_bytes=memory_bytes)
    job = _LobsterImport(session, book_interval_ms=book_interval_ms, depth=depth)
    try:
        for pair in pairs:
            job.run_pair(pair, counting(session, progress))
        session.notes.update(
            visible_executions=job.visible,
            hidden_executions=job.hidden,
            halts=job.halts,
            skipped_files=skipped,
        )
        return session.finish()
    except BaseException:
        session.abort()
        raise
