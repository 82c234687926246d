"""Hyperliquid WebSocket recordings -> book, bbo, trades, funding.

Input: text lines ``<local_recv_ts_ns> <raw JSON>`` (plain, .gz or .zip), as written by
the hftbacktest collector and by ``lake record hyperliquid``:

- ``l2Book``: full snapshots ``{"coin", "time": ms, "levels": [[bids], [asks]]}``, each
  level ``{"px": str, "sz": str, "n": orders}``, best first. One book row per snapshot
  (throttled like Binance's by ``book_interval_ms``), truncated to ``depth`` levels;
  ``seq`` is the snapshot's ``time`` in ms (Hyperliquid sends no sequence id, and a
  later snapshot with the same ms replaces an earlier one on merge). The same snapshot
  gives a bbo row from its first levels.
- ``trades``: ``data`` is a list of trades ``{"coin", "side": "B"|"A", "px", "sz",
  "time": ms, "tid"}``; ``B`` is a buy aggressor (+1), ``A`` a sell (-1). Each element
  is one input record. The first message after subscribing replays recent trades
  (older than the book); they are real trades and merge by ``tid``.
- ``activeAssetCtx``: ``{"coin", "ctx": {"funding", "markPx", "oraclePx", ...}}`` ->
  funding rows: ``rate`` is ``ctx.funding``, the hourly rate (``interval_s`` 3600).
  The message carries no exchange time, so ``ts`` is the local receive time.

Anything else (``subscriptionResponse``, ``pong``...) is quarantined as
``unknown stream`` so that every line is accounted for.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from data_lake.importing import ImportReport, ImportSession
from data_lake.partitions import PartitionKey
from data_lake.schemas import DEFAULT_BOOK_DEPTH
from data_lake.sources._rows import (
    BboRows,
    FundingRows,
    TradeRows,
    counting,
    ms_to_ns,
    parse_recv_ns,
    recv_ts_of,
)
from data_lake.sources.binance.book import BookRows
from data_lake.sources.textio import (
    LineSource,
    ProgressFn,
    TruncatedInputError,
    iter_line_batches,
    open_sources,
)

if TYPE_CHECKING:
    from data_lake.lake import Lake

__all__ = ["FUNDING_INTERVAL_S", "VENUE", "import_hyperliquid"]

VENUE = "hyperliquid"
FUNDING_INTERVAL_S = 3600
FLUSH_ROWS = 50_000
_MS = 1_000_000
_INF = math.inf
_SIDES = {"B": 1, "A": -1}


class _BadRecordError(Exception):
    """A record to quarantine: ``args[0]`` is the reason."""


class _Coin:
    def __init__(self) -> None:
        self.book = BookRows()
        self.bbo = BboRows()
        self.trades = TradeRows()
        self.funding = FundingRows()
        self.last_book_ts = -1


def _levels(side: Any, depth: int, name: str) -> tuple[list[float], list[float]]:
    if not isinstance(side, list):
        raise _BadRecordError(f"missing field: levels[{name}] is not a list")
    px: list[float] = []
    sz: list[float] = []
    for level in side[:depth]:
        try:
            p = float(level["px"])
            s = float(level["sz"])
        except (KeyError, TypeError) as exc:
            raise _BadRecordError(
                f"missing field: {name} level {level!r} lacks px/sz ({exc})"
            ) from None
        except ValueError as exc:
            raise _BadRecordError(f"bad value: {name} level {level!r}: {exc}") from None
        if not (0.0 < p < _INF and 0.0 < s < _INF):
            raise _BadRecordError(f"non-positive price or size: {name} level px={p} sz={s}")
        px.append(p)
        sz.append(s)
    return px, sz


class _HyperliquidImport:
    def __init__(
        self, session: ImportSession, *, symbol: str | None, book_interval_ms: int, depth: int
    ) -> None:
        if book_interval_ms < 0:
            raise ValueError(f"book_interval_ms must be >= 0, not {book_interval_ms}")
        if depth < 1:
            raise ValueError(f"book depth must be at least 1 level, not {depth}")
        self.s = session
        self.only = symbol or None  # coins are case-sensitive (kPEPE)
        self.interval_ns = book_interval_ms * _MS
        self.depth = depth
        self.coins: dict[str, _Coin] = {}
        self.accepted = {"book": 0, "trades": 0, "funding": 0}

    def coin(self, data: Any) -> tuple[str, _Coin]:
        if not isinstance(data, dict) or "coin" not in data:
            raise _BadRecordError("missing field: coin")
        name = data["coin"]
        if not isinstance(name, str):
            raise _BadRecordError(f"missing field: coin is {name!r}")
        if self.only is not None and name != self.only:
            raise _BadRecordError(f"unknown symbol: {name} (importing only {self.only})")
        state = self.coins.get(name)
        if state is None:
            try:
                PartitionKey(VENUE, name, _EPOCH)
            except ValueError:
                raise _BadRecordError(f"unknown symbol: {name!r} cannot name a partition") from None
            state = self.coins[name] = _Coin()
        return name, state

    def on_book(self, recv: int, data: Any) -> None:
        _, c = self.coin(data)
        try:
            ts = ms_to_ns(data["time"])
            bids, asks = data["levels"]
        except KeyError as exc:
            raise _BadRecordError(f"missing field: {exc.args[0]}") from None
        except ValueError as exc:
            if "time" in str(exc):
                raise _BadRecordError(f"bad value: {exc}") from None
            raise _BadRecordError("missing field: levels must be [[bids], [asks]]") from None
        except TypeError:
            raise _BadRecordError("missing field: levels must be [[bids], [asks]]") from None
        bid_px, bid_sz = _levels(bids, self.depth, "bid")
        ask_px, ask_sz = _levels(asks, self.depth, "ask")
        if bid_px and ask_px and bid_px[0] >= ask_px[0]:
            raise _BadRecordError(f"crossed book: best bid {bid_px[0]} >= best ask {ask_px[0]}")
        if bid_px != sorted(bid_px, reverse=True) or ask_px != sorted(ask_px):
            raise _BadRecordError("bad value: levels are not ordered best first")
        if self.interval_ns == 0 or ts - c.last_book_ts >= self.interval_ns:
            rows = c.book
            rows.ts.append(ts)
            rows.seq.append(ts // _MS)
            rows.recv_ts.append(recv)
            rows.bid_px.extend(bid_px)
            rows.bid_sz.extend(bid_sz)
            rows.bid_n.append(len(bid_px))
            rows.ask_px.extend(ask_px)
            rows.ask_sz.extend(ask_sz)
            rows.ask_n.append(len(ask_px))
            c.last_book_ts = ts
        if bid_px and ask_px:
            b = c.bbo
            b.ts.append(ts)
            b.seq.append(ts // _MS)
            b.bid_px.append(bid_px[0])
            b.bid_sz.append(bid_sz[0])
            b.ask_px.append(ask_px[0])
            b.ask_sz.append(ask_sz[0])
            b.recv_ts.append(recv)
        self.accepted["book"] += 1

    def on_trade(self, recv: int, trade: Any) -> None:
        _, c = self.coin(trade)
        try:
            ts = ms_to_ns(trade["time"])
            px = float(trade["px"])
            sz = float(trade["sz"])
            side = _SIDES.get(trade["side"])
            tid = trade["tid"]
        except KeyError as exc:
            raise _BadRecordError(f"missing field: {exc.args[0]}") from None
        except (TypeError, ValueError) as exc:
            raise _BadRecordError(f"bad value: {exc}") from None
        if side is None:
            raise _BadRecordError(f"bad value: side {trade['side']!r} is neither 'B' nor 'A'")
        if not (0.0 < px < _INF and 0.0 < sz < _INF):
            raise _BadRecordError(f"non-positive price or size: px={px} sz={sz}")
        t = c.trades
        t.ts.append(ts)
        t.price.append(px)
        t.size.append(sz)
        t.side.append(side)
        t.trade_id.append(str(tid))
        t.recv_ts.append(recv)
        self.accepted["trades"] += 1

    def on_ctx(self, recv: int, data: Any) -> None:
        _, c = self.coin(data)
        ctx = data.get("ctx")
        if not isinstance(ctx, dict) or "funding" not in ctx:
            raise _BadRecordError("missing field: ctx.funding")
        try:
            rate = float(ctx["funding"])
            mark = float(ctx["markPx"]) if ctx.get("markPx") is not None else None
            oracle = float(ctx["oraclePx"]) if ctx.get("oraclePx") is not None else None
        except (TypeError, ValueError) as exc:
            raise _BadRecordError(f"bad value: {exc}") from None
        if not math.isfinite(rate):
            raise _BadRecordError(f"bad value: funding rate {rate}")
        for name, px in (("markPx", mark), ("oraclePx", oracle)):
            if px is not None and not (0.0 < px < _INF):
                raise _BadRecordError(f"non-positive price or size: {name}={px}")
        f = c.funding
        f.ts.append(recv)
        f.rate.append(rate)
        f.interval_s.append(FUNDING_INTERVAL_S)
        f.mark_px.append(mark)
        f.oracle_px.append(oracle)
        f.recv_ts.append(recv)
        self.accepted["funding"] += 1

    def flush(self, final: bool = False) -> None:
        for name, c in self.coins.items():
            for table, attr in (("book", "book"), ("bbo", "bbo"), ("trades", "trades"),
                                ("funding", "funding")):
                rows = getattr(c, attr)
                if len(rows) and (final or len(rows) >= FLUSH_ROWS):
                    self.s.add_rows(table, name, rows.to_arrow())
                    setattr(c, attr, type(rows)())

    def run_source(self, src: LineSource, progress: ProgressFn | None) -> None:
        s = self.s
        name = src.name
        s.sources.append(name)
        records = 0
        try:
            for first, lines in iter_line_batches(src, progress=counting(s, progress)):
                for line_no, line in enumerate(lines, first):
                    records += self.on_line(name, line_no, line)
                self.flush()
        except TruncatedInputError as err:
            s.errors.append(str(err))
            if err.partial:
                records += 1
                s.quarantine("unknown", name, err.last_good_line + 1, err.partial,
                             "truncated line: the file ends mid-line")
        finally:
            s.records_in += records

    def on_line(self, src: str, line_no: int, line: bytes) -> int:
        """Handle one line; returns the number of input records it held."""
        s = self.s
        day = recv_ts_of(line)
        sp = line.find(b" ")
        try:
            recv = parse_recv_ns(line[:sp])
            msg = orjson.loads(line[sp + 1 :])
        except (ValueError, orjson.JSONDecodeError) as exc:
            reason = ("bad JSON: empty line" if not line.strip() else
                      f"bad JSON: {exc}" if isinstance(exc, orjson.JSONDecodeError) else
                      "bad JSON: expected '<recv_ts_ns> <json>'")
            s.quarantine("unknown", src, line_no, line, reason, day_ts=day)
            return 1
        channel = msg.get("channel") if isinstance(msg, dict) else None
        data = msg.get("data") if isinstance(msg, dict) else None
        if channel == "trades" and isinstance(data, list):
            for trade in data:
                try:
                    self.on_trade(recv, trade)
                except _BadRecordError as bad:
                    sym = trade.get("coin") if isinstance(trade, dict) else None
                    s.quarantine("trades", src, line_no, orjson.dumps(trade), bad.args[0],
                                 symbol=sym if isinstance(sym, str) else None, day_ts=recv)
            return len(data)
        table = {"l2Book": "book", "activeAssetCtx": "funding"}.get(str(channel), "unknown")
        try:
            if channel == "l2Book":
                self.on_book(recv, data)
            elif channel == "activeAssetCtx":
                self.on_ctx(recv, data)
            elif channel == "trades":
                raise _BadRecordError("missing field: trades data must be a list")
            elif channel is None:
                raise _BadRecordError("unknown stream: no 'channel' in the message")
            else:
                raise _BadRecordError(f"unknown stream: channel {channel!r}")
        except _BadRecordError as bad:
            sym = data.get("coin") if isinstance(data, dict) else None
            s.quarantine(table, src, line_no, line, bad.args[0],
                         symbol=sym if isinstance(sym, str) else None, day_ts=recv)
        return 1

    def finish(self) -> None:
        self.flush(final=True)
        for table, n in self.accepted.items():
            self.s.accept(table, n)


_EPOCH = dt.date(1970, 1, 1)


def import_hyperliquid(
    lake: Lake,
    paths: Sequence[str | Path],
    *,
    symbol: str | None = None,
    book_interval_ms: int = 0,
    depth: int = DEFAULT_BOOK_DEPTH,
    progress: ProgressFn | None = None,
    memory_bytes: int = 128 << 20,
) -> ImportReport:
    """Import Hyperliquid recordings into book, bbo, trades and funding.

    Parameters
    ----------
    lake : the lake to write.
    paths : recording files (plain, .gz, or .zip of such files).
    symbol : import only this coin (others are quarantined as ``unknown symbol``).
    book_interval_ms : write a book row at most once per this many ms of exchange time
        (0 = every snapshot).
    depth : levels per side kept in book rows (at most).
    progress : called with on-disk bytes consumed.
    memory_bytes : Arrow bytes buffered before spilling to staging parts.

    Returns
    -------
    ImportReport : counts per table, quarantined records by reason, partitions written.
    """
    sources = [src for p in paths for src in open_sources(p)]
    session = ImportSession(lake, importer="hyperliquid", venue=VENUE, memory_bytes=memory_bytes)
    job = _HyperliquidImport(session, symbol=symbol, book_interval_ms=book_interval_ms,
                             depth=depth)
    try:
        for src in sources:
            job.run_source(src, progress)
        job.finish()
        return session.finish()
    except BaseException:
        session.abort()
        raise
