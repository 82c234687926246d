"""The Binance L2 book state machine: snapshots, the U/u/pu chain, gaps and resyncs.

Binance's "how to manage a local order book": diffs are held until a depth snapshot
arrives (the diff that bridges a snapshot is often received *before* the snapshot
line); then diffs with ``u < lastUpdateId`` are superseded (quarantined as ``before
snapshot``), the first applied diff has ``U <= lastUpdateId <= u``, and every later
one must have ``pu`` equal to the previous ``u``. A break quarantines every diff until
the next snapshot (``broken sequence: ...``) and no book row is written across it; a
diff with a malformed level breaks the book the same way. A crossed rebuilt book is
quarantined (``crossed book: ...``) and the rebuild goes on.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from data_lake.importing import ImportSession
from data_lake.sources._rows import BboRows, TradeRows, recv_ts_of
from data_lake.sources.binance.book import BookBuffer, L2Book
from data_lake.sources.binance.parse import depth_header

__all__ = ["MAX_PENDING_DIFFS", "BookSync", "Diff", "SymbolState", "diff_of_data", "diff_of_line"]

MAX_PENDING_DIFFS = 5_000
_MS = 1_000_000


@dataclass
class _Pending:
    source: str
    line: int
    recv_ts: int
    raw: bytes
    reason: str | None  # the gap that put it here; None = before the first snapshot


class SymbolState:
    """Per-symbol state: the book rebuild and the row buffers."""

    def __init__(self, symbol: str, depth: int) -> None:
        self.symbol = symbol
        self.book = L2Book(depth)
        self.snapshot_id: int | None = None  # set while awaiting the first diff
        self.synced = False
        self.last_u = 0
        self.gap_reason: str | None = None  # set while awaiting a snapshot after a break
        self.pending: deque[_Pending] = deque()
        self.last_emit_ts = -1
        self.books = BookBuffer(depth)
        self.trades = TradeRows()
        self.bbo = BboRows()
        self.trade_parts: list[pa.Table] = []  # rows parsed in bulk
        self.bbo_parts: list[pa.Table] = []
        self.fast_trade_rows = 0
        self.fast_bbo_rows = 0


class BookSync:
    """Book rebuild per symbol; subclasses read the lines and call the ``on_*`` methods.

    Parameters
    ----------
    session : the import session (quarantine, accounting).
    book_interval_ms : at most one book row per this many ms of exchange time (0 = every
        applied diff); a (re)synchronisation always writes one.
    """

    def __init__(self, session: ImportSession, *, book_interval_ms: int) -> None:
        if book_interval_ms < 0:
            raise ValueError(
                f"book_interval_ms must be >= 0 (0 = every diff), not {book_interval_ms}"
            )
        self.s = session
        self.interval_ns = book_interval_ms * _MS
        self.accepted = {"trades": 0, "book": 0, "bbo": 0}

    def q(self, table: str, src: str, line: int, raw: bytes, reason: str,
          symbol: str | None = None, ts: int | None = None) -> None:
        self.s.quarantine(table, src, line, raw, reason, symbol=symbol, ts=ts,
                          day_ts=recv_ts_of(raw))

    # -- the book --------------------------------------------------------------------

    def emit(self, st: SymbolState, ts: int, seq: int, recv: int, force: bool) -> None:
        if force or self.interval_ns == 0 or ts - st.last_emit_ts >= self.interval_ns:
            st.books.append(st.book, ts, seq, recv)
            st.last_emit_ts = ts

    def break_book(self, st: SymbolState, reason: str) -> None:
        st.synced = False
        st.snapshot_id = None
        st.gap_reason = reason

    def on_snapshot(self, st: SymbolState, src: str, line: int, raw: bytes, recv: int,
                    m: dict[str, Any]) -> None:
        last_id = m["lastUpdateId"]
        ts = m["T"] * _MS
        bids, asks = m["bids"], m["asks"]
        if not isinstance(last_id, int) or not isinstance(ts, int):
            raise TypeError("lastUpdateId and T must be integers")
        if st.synced and last_id <= st.last_u:
            # The live book is already past this snapshot: nothing to rebase.
            self.accepted["book"] += 1
            return
        err = st.book.load(bids, asks)
        if err is not None:
            st.book.load((), ())
            self.break_book(st, f"{err} in snapshot at line {line}")
            self.q("book", src, line, raw, err, st.symbol, ts)
            return
        crossed = st.book.crossed()
        if crossed is not None:
            self.break_book(st, f"{crossed} in snapshot at line {line}")
            self.q("book", src, line, raw, crossed, st.symbol, ts)
            return
        st.synced = False
        st.snapshot_id = last_id
        st.gap_reason = None
        self.accepted["book"] += 1
        self.emit(st, ts, last_id, recv, force=True)
        pending, st.pending = st.pending, deque()
        for p in pending:
            try:
                diff = diff_of_line(p.raw)
            except (KeyError, TypeError, ValueError, orjson.JSONDecodeError) as exc:
                self.q("book", p.source, p.line, p.raw, f"bad value: {exc}", st.symbol)
                continue
            self.on_diff(st, p.source, p.line, p.raw, p.recv_ts, diff, replay=p)

    def on_diff(self, st: SymbolState, src: str, line: int, raw: bytes, recv: int,
                diff: Diff, replay: _Pending | None = None) -> None:
        U, u, pu, ts, buf, bids_start = diff
        if not st.synced and st.snapshot_id is None:
            # Awaiting a snapshot: hold the diff (it may bridge the coming snapshot).
            held = _Pending(src, line, recv, raw, st.gap_reason)
            st.pending.append(held)
            if len(st.pending) > MAX_PENDING_DIFFS:
                old = st.pending.popleft()
                self.q("book", old.source, old.line, old.raw,
                       old.reason or f"no snapshot: none within {MAX_PENDING_DIFFS} diffs",
                       st.symbol)
            return
        if not st.synced:
            snap = st.snapshot_id
            assert snap is not None
            if u < snap:
                reason = (replay.reason if replay and replay.reason else
                          f"before snapshot: u={u} < lastUpdateId={snap}, superseded")
                self.q("book", src, line, raw, reason, st.symbol, ts)
                return
            if snap < U:
                reason = f"broken sequence: first diff U={U} > snapshot lastUpdateId={snap}"
                self.break_book(st, reason + f" (span from line {line})")
                self.q("book", src, line, raw, reason, st.symbol, ts)
                return
            st.synced = True
            st.snapshot_id = None
        elif pu != st.last_u:
            reason = f"broken sequence: pu={pu} != previous u={st.last_u}"
            self.break_book(st, reason + f" (span from line {line}, until the next snapshot)")
            self.q("book", src, line, raw, reason, st.symbol, ts)
            return
        book = st.book
        err = book.apply(buf, bids_start)
        if err is not None:
            self.broken_by(st, src, line, raw, ts, err)
            return
        st.last_u = u
        crossed = book.crossed()
        if crossed is not None:
            self.q("book", src, line, raw, crossed, st.symbol, ts)
            return
        self.accepted["book"] += 1
        self.emit(st, ts, u, recv, force=False)

    def broken_by(self, st: SymbolState, src: str, line: int, raw: bytes, ts: int,
                  err: str) -> None:
        """A diff whose levels could not be applied: quarantine it, resync at a snapshot."""
        err = _json_error(raw) or err
        self.break_book(st, f"{err} (book broken at line {line}, until the next snapshot)")
        self.q("book", src, line, raw, err, st.symbol, ts)

# (U, u, pu, ts_ns, line bytes as uint8, index of the bids' "[")
Diff = tuple[int, int, int, int, np.ndarray, int]


def diff_of_data(d: dict[str, Any]) -> Diff:
    """A diff from parsed JSON (the fallback): levels re-serialised for the kernel."""
    U, u, pu, t_ms = d["U"], d["u"], d["pu"], d["T"]
    for name, value in (("U", U), ("u", u), ("pu", pu), ("T", t_ms)):
        if type(value) is not int:
            raise TypeError(f"{name} must be an integer, not {value!r}")
    payload = b'{"b":' + orjson.dumps(d["b"]) + b',"a":' + orjson.dumps(d["a"]) + b"}"
    return U, u, pu, t_ms * _MS, np.frombuffer(payload, np.uint8), 5


def diff_of_line(raw: bytes) -> Diff:
    sp = raw.find(b" ")
    buf = np.frombuffer(raw, np.uint8)
    status, t_ms, U, u, pu, _, _, bids_start = depth_header(buf, sp + 1)
    if status == 0:
        return U, u, pu, t_ms * _MS, buf, bids_start
    data: dict[str, Any] = orjson.loads(raw[sp + 1 :])["data"]
    return diff_of_data(data)


def _json_error(raw: bytes) -> str | None:
    """'bad JSON: ...' if the line does not parse (a cut line), else None."""
    try:
        orjson.loads(raw[raw.find(b" ") + 1 :])
    except orjson.JSONDecodeError as exc:
        return f"bad JSON: {exc}"
    return None
