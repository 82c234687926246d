"""The Binance L2 book state machine of one symbol: snapshots, the U/u/pu chain, gaps.

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

from data_lake.importing import ImportSession
from data_lake.sources._rows import recv_ts_of
from data_lake.sources.binance.book import BookBuffer, L2Book, apply_error
from data_lake.sources.binance.kernels import (
    CHAIN_BROKEN,
    CHAIN_CROSSED,
    CHAIN_EMITTED,
    CHAIN_NOT_TAKEN,
    chained_diff,
)
from data_lake.sources.binance.parse import depth_header

__all__ = [
    "MAX_PENDING_DIFFS",
    "BookSync",
    "Diff",
    "Quarantine",
    "diff_of_data",
    "diff_of_line",
]

MAX_PENDING_DIFFS = 5_000
_MS = 1_000_000

# (U, u, pu, ts_ns, line bytes as uint8, index of the bids' "[")
Diff = tuple[int, int, int, int, np.ndarray, int]


class Quarantine:
    """Quarantine one recording line in the session, on the day of its receive time.

    Shared by the book sync and the line readers of one import.
    """

    def __init__(self, session: ImportSession) -> None:
        self.session = session

    def __call__(self, table: str, src: str, line: int, raw: bytes, reason: str,
                 symbol: str | None = None, ts: int | None = None) -> None:
        self.session.quarantine(table, src, line, raw, reason, symbol=symbol, ts=ts,
                                day_ts=recv_ts_of(raw))


@dataclass
class _Pending:
    source: str
    line: int
    recv_ts: int
    raw: bytes
    reason: str | None  # the gap that put it here; None = before the first snapshot


class BookSync:
    """One symbol's L2 book kept in step with the venue; writes its book rows.

    Parameters
    ----------
    symbol : the symbol (book rows and quarantined diffs carry it).
    depth : levels per side in book rows.
    interval_ns : at most one book row per this many ns of exchange time (0 = every
        applied diff); a (re)synchronisation always writes one.
    quarantine : where rejected lines go.
    """

    def __init__(self, symbol: str, depth: int, *, interval_ns: int,
                 quarantine: Quarantine) -> None:
        self.symbol = symbol
        self.interval_ns = interval_ns
        self.q = quarantine
        self.book = L2Book(depth)
        self.rows = BookBuffer(depth)
        self.snapshot_id: int | None = None  # set while awaiting the first diff
        self.synced = False
        self.last_u = 0
        self.gap_reason: str | None = None  # set while awaiting a snapshot after a break
        self.pending: deque[_Pending] = deque()
        self.last_emit_ts = -1
        self.accepted = 0  # depth records (snapshots and diffs) taken into the book

    def _emit(self, ts: int, seq: int, recv: int, force: bool) -> None:
        if force or self.interval_ns == 0 or ts - self.last_emit_ts >= self.interval_ns:
            self.rows.append(self.book, ts, seq, recv)
            self.last_emit_ts = ts

    def _break(self, reason: str) -> None:
        self.synced = False
        self.snapshot_id = None
        self.gap_reason = reason

    def snapshot(self, src: str, line: int, raw: bytes, recv: int, m: dict[str, Any]) -> None:
        """A depth snapshot: rebase the book on it, then replay the diffs held for it.

        Raises KeyError, TypeError, ValueError or IndexError on a malformed snapshot
        (the caller quarantines it, see :meth:`bad_snapshot`).
        """
        last_id = m["lastUpdateId"]
        ts = m["T"] * _MS
        bids, asks = m["bids"], m["asks"]
        if not isinstance(last_id, int) or not isinstance(ts, int):
            raise TypeError("lastUpdateId and T must be integers")
        if self.synced and last_id <= self.last_u:
            # The live book is already past this snapshot: nothing to rebase.
            self.accepted += 1
            return
        err = self.book.load(bids, asks)
        if err is not None:
            self.book.load((), ())
            self._break(f"{err} in snapshot at line {line}")
            self.q("book", src, line, raw, err, self.symbol, ts)
            return
        crossed = self.book.crossed()
        if crossed is not None:
            self._break(f"{crossed} in snapshot at line {line}")
            self.q("book", src, line, raw, crossed, self.symbol, ts)
            return
        self.synced = False
        self.snapshot_id = last_id
        self.gap_reason = None
        self.accepted += 1
        self._emit(ts, last_id, recv, force=True)
        pending, self.pending = self.pending, deque()
        for p in pending:
            try:
                diff = diff_of_line(p.raw)
            except (KeyError, TypeError, ValueError, orjson.JSONDecodeError) as exc:
                self.q("book", p.source, p.line, p.raw, f"bad value: {exc}", self.symbol)
                continue
            self.diff(p.source, p.line, p.raw, p.recv_ts, diff, replay=p)

    def bad_snapshot(self, src: str, line: int, raw: bytes, exc: Exception) -> None:
        """A snapshot whose values could not be read: empty book, resync at the next."""
        self.book.load((), ())
        self._break(f"bad value in snapshot at line {line}: {exc}")
        self.q("book", src, line, raw, f"bad value: {exc}", self.symbol)

    def diff(self, src: str, line: int, raw: bytes, recv: int, diff: Diff,
             replay: _Pending | None = None) -> None:
        """One depth diff: hold it, apply it, or quarantine it (a gap or a bad level)."""
        U, u, pu, ts, buf, bids_start = diff
        if not self.synced and self.snapshot_id is None:
            # Awaiting a snapshot: hold the diff (it may bridge the coming snapshot).
            self.pending.append(_Pending(src, line, recv, raw, self.gap_reason))
            if len(self.pending) > MAX_PENDING_DIFFS:
                old = self.pending.popleft()
                self.q("book", old.source, old.line, old.raw,
                       old.reason or f"no snapshot: none within {MAX_PENDING_DIFFS} diffs",
                       self.symbol)
            return
        if not self.synced:
            snap = self.snapshot_id
            assert snap is not None
            if u < snap:
                reason = (replay.reason if replay and replay.reason else
                          f"before snapshot: u={u} < lastUpdateId={snap}, superseded")
                self.q("book", src, line, raw, reason, self.symbol, ts)
                return
            if snap < U:
                reason = f"broken sequence: first diff U={U} > snapshot lastUpdateId={snap}"
                self._break(reason + f" (span from line {line})")
                self.q("book", src, line, raw, reason, self.symbol, ts)
                return
            self.synced = True
            self.snapshot_id = None
        elif pu != self.last_u:
            reason = f"broken sequence: pu={pu} != previous u={self.last_u}"
            self._break(reason + f" (span from line {line}, until the next snapshot)")
            self.q("book", src, line, raw, reason, self.symbol, ts)
            return
        err = self.book.apply(buf, bids_start)
        if err is not None:
            self._broken_by(src, line, raw, ts, err)
            return
        self.last_u = u
        crossed = self.book.crossed()
        if crossed is not None:
            self.q("book", src, line, raw, crossed, self.symbol, ts)
            return
        self.accepted += 1
        self._emit(ts, u, recv, force=False)

    def chained(self, src: str, line: int, raw: bytes, recv: int, buf: np.ndarray, sp: int,
                symbol: np.ndarray) -> bool:
        """The next diff of a synchronised book in one kernel call (False: not that case).

        ``buf`` is the line's bytes, ``sp`` the offset of the space after the receive
        time, ``symbol`` this book's symbol as bytes. False leaves everything unchanged:
        the caller parses the diff and calls :meth:`diff`.
        """
        if not self.synced:
            return False
        book, rows = self.book, self.rows
        book.reserve(buf)
        rows.reserve()
        outcome, t_ms, u, nb, na, status, bad = chained_diff(
            buf, sp + 1, symbol, self.last_u,
            book.bid_keys, book.bid_sizes, book.bid_far, book.ask_keys, book.ask_sizes,
            book.ask_far, book.counts, rows.depth, self.interval_ns, self.last_emit_ts,
            rows.bid_px, rows.bid_sz, rows.ask_px, rows.ask_sz, rows.fill,
        )
        if outcome == CHAIN_NOT_TAKEN:
            return False
        ts = t_ms * _MS
        if outcome == CHAIN_BROKEN:
            self._broken_by(src, line, raw, ts, apply_error(buf, status, bad))
            return True
        self.last_u = u
        if outcome == CHAIN_CROSSED:
            self.q("book", src, line, raw, book.crossed() or "crossed book", self.symbol, ts)
            return True
        self.accepted += 1
        if outcome == CHAIN_EMITTED:
            rows.record(ts, u, recv, nb, na)
            self.last_emit_ts = ts
        return True

    def _broken_by(self, src: str, line: int, raw: bytes, ts: int, err: str) -> None:
        """A diff whose levels could not be applied: quarantine it, resync at a snapshot."""
        err = _json_error(raw) or err
        self._break(f"{err} (book broken at line {line}, until the next snapshot)")
        self.q("book", src, line, raw, err, self.symbol, ts)

    def close(self) -> None:
        """The input ended: quarantine the diffs still waiting for a snapshot."""
        while self.pending:
            p = self.pending.popleft()
            reason = p.reason or (
                f"no snapshot: no depth snapshot for {self.symbol} follows this diff"
            )
            self.q("book", p.source, p.line, p.raw, reason, self.symbol)


def diff_of_data(d: dict[str, Any]) -> Diff:
    """A diff from parsed JSON (the fallback): levels re-serialised for the kernel."""
    U, u, pu, t_ms = d["U"], d["u"], d["pu"], d["T"]
    for name, value in (("U", U), ("u", u), ("pu", pu), ("T", t_ms)):
        if type(value) is not int:
            raise TypeError(f"{name} must be an integer, not {value!r}")
    payload = b'{"b":' + orjson.dumps(d["b"]) + b',"a":' + orjson.dumps(d["a"]) + b"}"
    return U, u, pu, t_ms * _MS, np.frombuffer(payload, np.uint8), 5


def diff_of_line(raw: bytes) -> Diff:
    """A diff from a ``<recv_ts_ns> <json>`` line: its header from the bytes if it can."""
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
