"""Binance USD-M futures recordings -> trades, book, bbo.

Input: text lines ``<local_recv_ts_ns> <raw JSON>`` (plain, .gz or .zip), as written by
the hftbacktest collector (see ``binance_usdm_20240808/SOURCE.txt``):

- ``<sym>@trade``: ``T`` trade time (ms), ``t`` id, ``p``, ``q``, ``m`` (buyer is maker,
  so ``m`` true means a sell aggressor: side -1);
- ``<sym>@depth@0ms``: price-level diffs with ids ``U`` (first), ``u`` (last), ``pu``
  (previous event's ``u``); size 0 removes a level;
- a REST depth snapshot (no ``stream`` key): ``lastUpdateId``, ``T``, ``bids``, ``asks``;
- ``<sym>@bookTicker``: ``u``, ``b``/``B`` best bid price/size, ``a``/``A`` ask, ``T``.

Exchange time ``T`` is ``ts`` (the recorder's clock is about 1.3 s behind it);
the local receive time is ``recv_ts``.

Book rebuild: snapshot + ``U/u/pu`` chain, gaps quarantined until the next snapshot,
never a book across a gap (:mod:`.binance_sync`).

Accounting: one input record per line. Superseded diffs are quarantined with reason
``before snapshot: ...`` (they are redundant, not wrong, but each is then traceable to
its file and line); diffs never covered by a snapshot get ``no snapshot: ...``. Book
snapshots are written at every applied diff (``book_interval_ms=0``) or at most once
per interval of exchange time, always at a (re)synchronisation; ``seq`` is ``u`` (the
snapshot's ``lastUpdateId`` for the snapshot row). bbo ``seq`` is bookTicker ``u``.

Speed: lines in the venue's usual layout are parsed from their bytes by the numba
kernels of :mod:`.binance_parse` and :mod:`.binance_kernels` (valid bookTicker and trade lines
of the file's symbol in bulk, per block of lines; depth diffs one by one through the
state machine above, into an array book); every other line (snapshots, other symbols,
anything malformed) goes through ``orjson`` and the Python checks, which give the
quarantine reasons. Both paths write identical rows (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from data_lake.importing import ImportReport, ImportSession
from data_lake.schemas import DEFAULT_BOOK_DEPTH
from data_lake.sources._rows import BboRows, TradeRows, counting
from data_lake.sources.binance.book import apply_error
from data_lake.sources.binance.json_lines import VENUE, JsonLines, _ms
from data_lake.sources.binance.kernels import (
    CHAIN_BROKEN,
    CHAIN_CROSSED,
    CHAIN_EMITTED,
    CHAIN_NOT_TAKEN,
    chained_diff,
)
from data_lake.sources.binance.parse import (
    KIND_BBO,
    KIND_DEPTH,
    KIND_OTHER,
    KIND_TRADE,
    depth_header,
    scan_chunk,
)
from data_lake.sources.binance.sync import SymbolState
from data_lake.sources.textio import (
    LineSource,
    ProgressFn,
    TruncatedInputError,
    iter_line_chunks,
    open_sources,
)

if TYPE_CHECKING:
    from data_lake.lake import Lake

__all__ = ["VENUE", "import_binance"]

FLUSH_ROWS = 100_000
FLUSH_BOOK_VALUES = 1_000_000
_MS = 1_000_000


class _BinanceImport(JsonLines):
    def __init__(
        self,
        session: ImportSession,
        *,
        symbol: str | None,
        book_interval_ms: int,
        depth: int,
    ) -> None:
        super().__init__(session, book_interval_ms=book_interval_ms)
        self.only = symbol.upper() if symbol else None
        self.depth = depth
        self.syms: dict[str, SymbolState] = {}
        self.streams: dict[str, int] = {}
        self.file_symbols: set[str] = set()
        # A depth snapshot names no symbol: one read before any event of the file is
        # held until the first depth diff says which symbol the file records.
        self.held: tuple[str, int, bytes, int, dict[str, Any]] | None = None
        self.fast: tuple[str, np.ndarray] | None = None  # symbol of the bulk path

    # -- helpers ---------------------------------------------------------------------

    def sym(self, name: str) -> SymbolState:
        st = self.syms.get(name)
        if st is None:
            st = self.syms[name] = SymbolState(name, self.depth)
        return st

    def flush(self, final: bool = False) -> None:
        book_rows = max(1_000, FLUSH_BOOK_VALUES // (4 * self.depth))
        for st in self.syms.values():
            n = len(st.trades) + st.fast_trade_rows
            if n and (final or n >= FLUSH_ROWS):
                parts = st.trade_parts + ([st.trades.to_arrow()] if len(st.trades) else [])
                self.s.add_rows("trades", st.symbol, pa.concat_tables(parts))
                st.trades, st.trade_parts, st.fast_trade_rows = TradeRows(), [], 0
            n = len(st.bbo) + st.fast_bbo_rows
            if n and (final or n >= FLUSH_ROWS):
                parts = st.bbo_parts + ([st.bbo.to_arrow()] if len(st.bbo) else [])
                self.s.add_rows("bbo", st.symbol, pa.concat_tables(parts))
                st.bbo, st.bbo_parts, st.fast_bbo_rows = BboRows(), [], 0
            if len(st.books) and (final or len(st.books) >= book_rows):
                self.s.add_rows("book", st.symbol, st.books.take())

    def release_held(self, symbol: str) -> None:
        """Apply a snapshot that arrived before any event named the file's symbol."""
        held, self.held = self.held, None
        if held is not None:
            self.rest_snapshot(*held, symbol=symbol)

    # -- the stream ------------------------------------------------------------------

    def run_source(self, src: LineSource, progress: ProgressFn | None) -> None:
        s = self.s
        name = src.name
        s.sources.append(name)
        records = 0
        self.file_symbols = set()
        if self.only is None:
            self.fast = None  # each file names its own symbol for the bulk path
        try:
            for first, block in iter_line_chunks(src, progress=counting(s, progress)):
                # Valid bookTicker and trade lines of the expected symbol are parsed in
                # bulk from the bytes; Python reads the rest (depth diffs go through the
                # book state machine, anything unusual through the JSON parser).
                (kinds, starts, ends, recv_ns, ts_ms, ident, f1, f2, f3, f4,
                 side) = scan_chunk(np.frombuffer(block, np.uint8), self.fast_symbol(block))
                records += len(kinds)
                self.add_fast_rows(kinds, recv_ns, ts_ms, ident, f1, f2, f3, f4, side)
                slow = (kinds == KIND_OTHER) | (kinds == KIND_DEPTH)
                for i in np.flatnonzero(slow).tolist():
                    line_no = first + i
                    line = block[starts[i] : ends[i]]
                    sp = line.find(b" ")
                    if kinds[i] == KIND_DEPTH and self.depth_line(name, line_no, line, sp):
                        continue
                    self.json_line(src, line_no, line, sp)
                self.flush()
            if self.held is not None:
                held, self.held = self.held, None
                self.q("book", held[0], held[1], held[2],
                       "unknown symbol: a depth snapshot names no symbol and no depth diff "
                       "in the file does; pass --symbol", None, _ms(held[4].get("T")))
        except TruncatedInputError as err:
            s.errors.append(str(err))
            if err.partial:
                records += 1
                self.q("unknown", name, err.last_good_line + 1, err.partial,
                       "truncated line: the file ends mid-line")
        finally:
            s.records_in += records

    def fast_symbol(self, block: bytes) -> np.ndarray:
        """The symbol whose bbo and trade lines take the bulk path (empty: none yet)."""
        if self.fast is None:
            name = self.only
            if name is None:
                at = block.find(b'"s":"')
                if at < 0:
                    return _NO_SYMBOL
                name = block[at + 5 : block.find(b'"', at + 5)].decode("utf-8", "replace")
            if self.check_symbol(name) is not None:
                return _NO_SYMBOL
            self.sym(name)
            self.fast = (name, np.frombuffer(name.encode(), np.uint8))
        return self.fast[1]

    def add_fast_rows(
        self, kind: np.ndarray, recv_ns: np.ndarray, ts_ms: np.ndarray, ident: np.ndarray,
        f1: np.ndarray, f2: np.ndarray, f3: np.ndarray, f4: np.ndarray, side: np.ndarray,
    ) -> None:
        if self.fast is None:
            return
        st = self.syms[self.fast[0]]
        bbo = kind == KIND_BBO
        n = int(np.count_nonzero(bbo))
        if n:
            st.bbo_parts.append(pa.table({
                "ts": pa.array(ts_ms[bbo] * _MS, pa.int64()),
                "seq": pa.array(ident[bbo], pa.int64()),
                "bid_px": pa.array(f1[bbo], pa.float64()),
                "bid_sz": pa.array(f2[bbo], pa.float64()),
                "ask_px": pa.array(f3[bbo], pa.float64()),
                "ask_sz": pa.array(f4[bbo], pa.float64()),
                "recv_ts": pa.array(recv_ns[bbo], pa.int64()),
            }))
            st.fast_bbo_rows += n
            self.accepted["bbo"] += n
        trade = kind == KIND_TRADE
        n = int(np.count_nonzero(trade))
        if n:
            st.trade_parts.append(pa.table({
                "ts": pa.array(ts_ms[trade] * _MS, pa.int64()),
                "price": pa.array(f1[trade], pa.float64()),
                "size": pa.array(f2[trade], pa.float64()),
                "side": pa.array(side[trade], pa.int8()),
                "trade_id": pa.array(ident[trade], pa.int64()).cast(pa.string()),
                "recv_ts": pa.array(recv_ns[trade], pa.int64()),
            }))
            st.fast_trade_rows += n
            self.accepted["trades"] += n

    def depth_line(self, src: str, line_no: int, line: bytes, sp: int) -> bool:
        """The fast path of a depth diff: fields and levels parsed from the bytes.

        Returns False when the line is not in the venue's usual layout, so the caller
        parses it as JSON instead.
        """
        try:
            recv = int(line[:sp])
        except ValueError:
            return False
        buf = np.frombuffer(line, np.uint8)
        if self.fast is not None and self.held is None:
            chain = self.syms[self.fast[0]]
            if chain.synced and self.chained(chain, src, line_no, line, recv, buf, sp):
                return True
        status, t_ms, U, u, pu, s0, s1, bids_start = depth_header(buf, sp + 1)
        if status:
            return False
        s_name = line[s0:s1].decode("utf-8", "replace")
        st = self.syms.get(s_name)
        if st is None:
            reason = self.check_symbol(s_name)
            if reason is not None:
                self.q("book", src, line_no, line, reason, None, t_ms * _MS)
                return True
            st = self.sym(s_name)
        if self.held is not None:
            self.release_held(s_name)
        self.file_symbols.add(s_name)
        self.on_diff(st, src, line_no, line, recv, (U, u, pu, t_ms * _MS, buf, bids_start))
        return True

    def chained(self, st: SymbolState, src: str, line_no: int, line: bytes, recv: int,
                buf: np.ndarray, sp: int) -> bool:
        """The next diff of a synchronised book in one kernel call (False: not that case)."""
        book, rows = st.book, st.books
        book.reserve(buf)
        rows.reserve()
        outcome, t_ms, u, nb, na, status, bad = chained_diff(
            buf, sp + 1, self.fast[1] if self.fast else _NO_SYMBOL, st.last_u,
            book.bid_keys, book.bid_sizes, book.bid_far, book.ask_keys, book.ask_sizes,
            book.ask_far, book.counts, self.depth, self.interval_ns, st.last_emit_ts,
            rows.bid_px, rows.bid_sz, rows.ask_px, rows.ask_sz, rows.fill,
        )
        if outcome == CHAIN_NOT_TAKEN:
            return False
        ts = t_ms * _MS
        if outcome == CHAIN_BROKEN:
            self.broken_by(st, src, line_no, line, ts, apply_error(buf, status, bad))
            return True
        st.last_u = u
        if outcome == CHAIN_CROSSED:
            self.q("book", src, line_no, line, book.crossed() or "crossed book", st.symbol, ts)
            return True
        self.accepted["book"] += 1
        if outcome == CHAIN_EMITTED:
            rows.record(ts, u, recv, nb, na)
            st.last_emit_ts = ts
        return True

    def finish(self) -> None:
        for st in self.syms.values():
            while st.pending:
                p = st.pending.popleft()
                reason = p.reason or (
                    f"no snapshot: no depth snapshot for {st.symbol} follows this diff"
                )
                self.q("book", p.source, p.line, p.raw, reason, st.symbol)
        self.flush(final=True)
        self.s.accept("trades", self.accepted["trades"])
        self.s.accept("bbo", self.accepted["bbo"])
        self.s.accept("book", self.accepted["book"])


_NO_SYMBOL = np.zeros(0, np.uint8)



def import_binance(
    lake: Lake,
    paths: Sequence[str | Path],
    *,
    symbol: str | None = None,
    book_interval_ms: int = 0,
    depth: int = DEFAULT_BOOK_DEPTH,
    progress: ProgressFn | None = None,
    memory_bytes: int = 128 << 20,
) -> ImportReport:
    """Import Binance USD-M recordings into the lake's trades, book and bbo tables.

    Parameters
    ----------
    lake : the lake to write.
    paths : recording files (plain, .gz, or .zip of such files), read in order; the book
        state carries across files, so hourly pieces of one recording rebuild as one.
    symbol : import only this symbol (others are quarantined as ``unknown symbol``);
        also names the symbol of depth snapshots, which carry none.
    book_interval_ms : write a book snapshot at most once per this many ms of exchange
        time (0 = at every applied diff).
    depth : levels per side in book rows (at most; fewer when the book has fewer).
    progress : called with on-disk bytes consumed, for progress bars.
    memory_bytes : Arrow bytes buffered before spilling to staging parts.

    Returns
    -------
    ImportReport : counts per table, quarantined rows by reason, partitions written.

    Raises
    ------
    InputError : a path is missing or unreadable (nothing is written).
    """
    sources = [src for p in paths for src in open_sources(p)]
    session = ImportSession(lake, importer="binance", venue=VENUE, memory_bytes=memory_bytes)
    job = _BinanceImport(session, symbol=symbol, book_interval_ms=book_interval_ms, depth=depth)
    try:
        for src in sources:
            job.run_source(src, progress)
        job.finish()
        return session.finish()
    except BaseException:
        session.abort()
        raise
