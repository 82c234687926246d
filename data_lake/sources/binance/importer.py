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
never a book across a gap (:mod:`.sync`).

Accounting: one input record per line. Superseded diffs are quarantined with reason
``before snapshot: ...`` (they are redundant, not wrong, but each is then traceable to
its file and line); diffs never covered by a snapshot get ``no snapshot: ...``. Book
snapshots are written at every applied diff (``book_interval_ms=0``) or at most once
per interval of exchange time, always at a (re)synchronisation; ``seq`` is ``u`` (the
snapshot's ``lastUpdateId`` for the snapshot row). bbo ``seq`` is bookTicker ``u``.

Speed: lines in the venue's usual layout are parsed from their bytes by the numba
kernels of :mod:`.parse` and :mod:`.kernels` (valid bookTicker and trade lines
of the file's symbol in bulk, per block of lines; depth diffs one by one through the
state machine above, into an array book); every other line (snapshots, other symbols,
anything malformed) goes through ``orjson`` and the Python checks, which give the
quarantine reasons. Both paths write identical rows (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from data_lake.importing import ImportReport, ImportSession
from data_lake.schemas import BBO, DEFAULT_BOOK_DEPTH, TRADES
from data_lake.sources._rows import counting, parse_recv_ns
from data_lake.sources.binance.json_lines import JsonLines, SnapshotRouter
from data_lake.sources.binance.parse import (
    KIND_BBO,
    KIND_DEPTH,
    KIND_OTHER,
    KIND_TRADE,
    depth_header,
    scan_chunk,
)
from data_lake.sources.binance.symbols import VENUE, Symbols, SymbolState
from data_lake.sources.binance.sync import Quarantine
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

_MS = 1_000_000
_NO_SYMBOL = np.zeros(0, np.uint8)


class _BinanceImport:
    """Read recordings block by block: the byte kernels parse what they can, in bulk.

    Owns the import's collaborators: the quarantine, the symbols (each with its book
    sync and row buffers), the REST snapshot router and the JSON path for every line
    the kernels leave.
    """

    def __init__(
        self,
        session: ImportSession,
        *,
        symbol: str | None,
        book_interval_ms: int,
        depth: int,
    ) -> None:
        if book_interval_ms < 0:
            raise ValueError(
                f"book_interval_ms must be >= 0 (0 = every diff), not {book_interval_ms}"
            )
        self.s = session
        self.q = Quarantine(session)
        self.symbols = Symbols(
            only=symbol.upper() if symbol else None,
            depth=depth,
            interval_ns=book_interval_ms * _MS,
            quarantine=self.q,
        )
        self.snapshots = SnapshotRouter(self.symbols, self.q)
        self.json = JsonLines(self.symbols, self.snapshots, self.q)
        self.fast: tuple[SymbolState, np.ndarray] | None = None  # the bulk path's symbol

    def run_source(self, src: LineSource, progress: ProgressFn | None) -> None:
        s = self.s
        name = src.name
        s.sources.append(name)
        records = 0
        self.snapshots.start_file()
        if self.symbols.only is None:
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
                    self.json.line(name, line_no, line, sp)
                self.flush(final=False)
            self.snapshots.end_file()
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
            name = self.symbols.only
            if name is None:
                at = block.find(b'"s":"')
                if at < 0:
                    return _NO_SYMBOL
                name = block[at + 5 : block.find(b'"', at + 5)].decode("utf-8", "replace")
            if self.symbols.check(name) is not None:
                return _NO_SYMBOL
            self.fast = (self.symbols.open(name), np.frombuffer(name.encode(), np.uint8))
        return self.fast[1]

    def add_fast_rows(
        self, kind: np.ndarray, recv_ns: np.ndarray, ts_ms: np.ndarray, ident: np.ndarray,
        f1: np.ndarray, f2: np.ndarray, f3: np.ndarray, f4: np.ndarray, side: np.ndarray,
    ) -> None:
        if self.fast is None:
            return
        st = self.fast[0]
        bbo = kind == KIND_BBO
        if bbo.any():
            st.add_bulk("bbo", pa.table({
                "ts": pa.array(ts_ms[bbo] * _MS, pa.int64()),
                "seq": pa.array(ident[bbo], pa.int64()),
                "bid_px": pa.array(f1[bbo], pa.float64()),
                "bid_sz": pa.array(f2[bbo], pa.float64()),
                "ask_px": pa.array(f3[bbo], pa.float64()),
                "ask_sz": pa.array(f4[bbo], pa.float64()),
                "recv_ts": pa.array(recv_ns[bbo], pa.int64()),
            }, schema=BBO.schema))
        trade = kind == KIND_TRADE
        if trade.any():
            st.add_bulk("trades", pa.table({
                "ts": pa.array(ts_ms[trade] * _MS, pa.int64()),
                "price": pa.array(f1[trade], pa.float64()),
                "size": pa.array(f2[trade], pa.float64()),
                "side": pa.array(side[trade], pa.int8()),
                "trade_id": pa.array(ident[trade], pa.int64()).cast(pa.string()),
                "recv_ts": pa.array(recv_ns[trade], pa.int64()),
            }, schema=TRADES.schema))

    def depth_line(self, src: str, line_no: int, line: bytes, sp: int) -> bool:
        """The fast path of a depth diff: fields and levels parsed from the bytes.

        Returns False when the line is not in the venue's usual layout, so the caller
        parses it as JSON instead.
        """
        try:
            recv = parse_recv_ns(line[:sp])
        except ValueError:
            return False
        buf = np.frombuffer(line, np.uint8)
        if self.fast is not None and self.snapshots.held is None:
            chain, symbol = self.fast
            if chain.sync.chained(src, line_no, line, recv, buf, sp, symbol):
                return True
        status, t_ms, U, u, pu, s0, s1, bids_start = depth_header(buf, sp + 1)
        if status:
            return False
        s_name = line[s0:s1].decode("utf-8", "replace")
        st = self.symbols.get(s_name)
        if st is None:
            reason = self.symbols.check(s_name)
            if reason is not None:
                self.q("book", src, line_no, line, reason, None, t_ms * _MS)
                return True
            st = self.symbols.open(s_name)
        self.snapshots.depth_seen(s_name)
        st.sync.diff(src, line_no, line, recv, (U, u, pu, t_ms * _MS, buf, bids_start))
        return True

    def flush(self, *, final: bool) -> None:
        for st in self.symbols:
            st.flush(self.s, final=final)

    def finish(self) -> None:
        for st in self.symbols:
            st.sync.close()
        self.flush(final=True)
        self.s.accept("book", sum(st.sync.accepted for st in self.symbols))


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
