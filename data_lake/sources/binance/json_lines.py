"""The JSON path of the Binance importer: every line the byte-level kernels leave.

REST depth snapshots, other symbols, unknown streams and anything malformed are parsed
with ``orjson`` and checked field by field here; this is where quarantine reasons
come from (``bad JSON``, ``missing field``, ``non-positive price or size``, ``crossed
book``, ``unknown stream``, ``unknown symbol``). It writes the same rows as the bulk
path for valid lines (tested).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import orjson

from data_lake.sources.binance.sync import BookSync, SymbolState, diff_of_data
from data_lake.sources.textio import LineSource
from data_lake.writer import PartitionKey

__all__ = ["VENUE", "JsonLines"]

VENUE = "binance"
_MS = 1_000_000
_INF = math.inf
_TRADE, _DEPTH, _BBO = 1, 2, 3
_TABLE = {_TRADE: "trades", _DEPTH: "book", _BBO: "bbo"}
_EPOCH = dt.date(1970, 1, 1)


class JsonLines(BookSync):
    """Line-by-line parsing with ``orjson``; the importer sets the attributes below."""

    only: str | None
    syms: dict[str, SymbolState]
    streams: dict[str, int]
    file_symbols: set[str]
    held: tuple[str, int, bytes, int, dict[str, Any]] | None

    def sym(self, name: str) -> SymbolState:
        raise NotImplementedError

    def release_held(self, symbol: str) -> None:
        raise NotImplementedError

    def json_line(self, src: LineSource, line_no: int, line: bytes, sp: int) -> None:
        """Parse one line as ``<recv_ts_ns> <json>`` and route it, or quarantine it."""
        name = src.name
        try:
            recv = int(line[:sp])
            msg = orjson.loads(line[sp + 1 :])
        except (ValueError, orjson.JSONDecodeError) as exc:
            self.q("unknown", name, line_no, line, _bad_line(line, sp, exc))
            return
        try:
            stream = msg["stream"]
            d = msg["data"]
            s_name = d["s"]
        except (KeyError, TypeError):
            self.other_message(src, line_no, line, recv, msg)
            return
        kind = self.stream_kind(stream) if type(stream) is str else 0
        st = self.syms.get(s_name)
        if st is None:
            reason = self.check_symbol(s_name)
            if reason is not None:
                self.q(_TABLE.get(kind, "unknown"), name, line_no, line, reason,
                       None, _ms(d.get("T")))
                return
            st = self.sym(s_name)
        if kind == _BBO:
            try:
                ts = d["T"] * _MS
                seq = d["u"]
                bp = float(d["b"])
                bs = float(d["B"])
                ap = float(d["a"])
                az = float(d["A"])
            except KeyError as exc:
                self.q("bbo", name, line_no, line, f"missing field: {exc.args[0]}",
                       s_name)
                return
            except (TypeError, ValueError) as exc:
                self.q("bbo", name, line_no, line, f"bad value: {exc}", s_name)
                return
            if not (0.0 < bp < _INF and 0.0 < ap < _INF and 0.0 <= bs < _INF
                    and 0.0 <= az < _INF) or type(seq) is not int:
                self.q("bbo", name, line_no, line,
                       f"non-positive price or size: bid {bp} x {bs}, ask {ap} x {az}",
                       s_name, ts)
                return
            if bp >= ap:
                self.q("bbo", name, line_no, line,
                       f"crossed book: bid {bp} >= ask {ap}", s_name, ts)
                return
            b = st.bbo
            b.ts.append(ts)
            b.seq.append(seq)
            b.bid_px.append(bp)
            b.bid_sz.append(bs)
            b.ask_px.append(ap)
            b.ask_sz.append(az)
            b.recv_ts.append(recv)
            self.accepted["bbo"] += 1
        elif kind == _TRADE:
            try:
                ts = d["T"] * _MS
                tid = d["t"]
                px = float(d["p"])
                qty = float(d["q"])
                maker = d["m"]
            except KeyError as exc:
                self.q("trades", name, line_no, line,
                       f"missing field: {exc.args[0]}", s_name)
                return
            except (TypeError, ValueError) as exc:
                self.q("trades", name, line_no, line, f"bad value: {exc}", s_name)
                return
            if not (0.0 < px < _INF and 0.0 < qty < _INF):
                self.q("trades", name, line_no, line,
                       f"non-positive price or size: price {px}, size {qty}",
                       s_name, ts)
                return
            if maker is not True and maker is not False:
                self.q("trades", name, line_no, line,
                       f"missing field: m must be true or false, not {maker!r}",
                       s_name, ts)
                return
            t = st.trades
            t.ts.append(ts)
            t.price.append(px)
            t.size.append(qty)
            t.side.append(-1 if maker else 1)
            t.trade_id.append(str(tid))
            t.recv_ts.append(recv)
            self.accepted["trades"] += 1
        elif kind == _DEPTH:
            if self.held is not None:
                self.release_held(s_name)
            self.file_symbols.add(s_name)
            try:
                self.on_diff(st, name, line_no, line, recv, diff_of_data(d))
            except KeyError as exc:
                self.q("book", name, line_no, line, f"missing field: {exc.args[0]}",
                       s_name, _ms(d.get("T")))
            except (TypeError, ValueError, IndexError) as exc:
                self.q("book", name, line_no, line, f"bad value: {exc}", s_name,
                       _ms(d.get("T")))
        else:
            self.q("unknown", name, line_no, line, f"unknown stream: {stream!r}",
                   s_name, _ms(d.get("T")))

    def stream_kind(self, stream: str) -> int:
        kind = self.streams.get(stream)
        if kind is None:
            suffix = stream.partition("@")[2]
            kind = {"trade": _TRADE, "bookTicker": _BBO}.get(suffix, 0)
            if suffix.startswith("depth"):
                kind = _DEPTH
            self.streams[stream] = kind
        return kind

    def check_symbol(self, s_name: Any) -> str | None:
        if not isinstance(s_name, str):
            return f"missing field: s (symbol) is {s_name!r}"
        if self.only is not None and s_name != self.only:
            return f"unknown symbol: {s_name} (importing only {self.only})"
        try:
            PartitionKey(VENUE, s_name, _EPOCH)
        except ValueError:
            return f"unknown symbol: {s_name!r} cannot name a partition"
        return None

    def other_message(self, src: LineSource, line_no: int, line: bytes, recv: int,
                      msg: Any) -> None:
        """A line that is not a stream event: the REST snapshot, or something unknown."""
        name = src.name
        if not isinstance(msg, dict):
            self.q("unknown", name, line_no, line, "bad JSON: the message is not an object")
            return
        if "stream" in msg:
            stream = msg["stream"]
            data = msg.get("data")
            if not isinstance(data, dict):
                self.q("unknown", name, line_no, line, "missing field: data")
            elif self.stream_kind(str(stream)) == 0:
                self.q("unknown", name, line_no, line, f"unknown stream: {stream!r}",
                       None, _ms(data.get("T")))
            else:
                self.q(_TABLE[self.stream_kind(str(stream))], name, line_no, line,
                       "missing field: s", None, _ms(data.get("T")))
            return
        if "lastUpdateId" not in msg:
            self.q("unknown", name, line_no, line,
                   "unknown stream: neither a stream event nor a depth snapshot")
            return
        if self.only is not None:
            self.rest_snapshot(name, line_no, line, recv, msg, symbol=self.only)
        elif len(self.file_symbols) == 1:
            self.rest_snapshot(name, line_no, line, recv, msg, symbol=next(iter(self.file_symbols)))
        elif self.file_symbols:
            self.q("book", name, line_no, line,
                   "unknown symbol: a depth snapshot names no symbol and the file has "
                   f"several ({', '.join(sorted(self.file_symbols))}); pass --symbol",
                   None, _ms(msg.get("T")))
        else:
            if self.held is not None:
                old = self.held
                self.q("book", old[0], old[1], old[2],
                       f"before snapshot: superseded by the snapshot at line {line_no}",
                       None, _ms(old[4].get("T")))
            self.held = (name, line_no, line, recv, msg)

    def rest_snapshot(self, name: str, line_no: int, line: bytes, recv: int,
                      msg: dict[str, Any], *, symbol: str) -> None:
        reason = self.check_symbol(symbol)
        if reason is not None:
            self.q("book", name, line_no, line, reason, None, _ms(msg.get("T")))
            return
        st = self.sym(symbol)
        try:
            self.on_snapshot(st, name, line_no, line, recv, msg)
        except KeyError as exc:
            self.q("book", name, line_no, line, f"missing field: {exc.args[0]}", symbol)
        except (TypeError, ValueError, IndexError) as exc:
            st.book.load((), ())
            self.break_book(st, f"bad value in snapshot at line {line_no}: {exc}")
            self.q("book", name, line_no, line, f"bad value: {exc}", symbol)



def _ms(value: Any) -> int | None:
    return value * _MS if type(value) is int else None


def _bad_line(line: bytes, sp: int, exc: Exception) -> str:
    if not line.strip():
        return "bad JSON: empty line"
    if sp <= 0:
        return "bad JSON: expected '<recv_ts_ns> <json>', found no receive timestamp"
    if isinstance(exc, orjson.JSONDecodeError):
        return f"bad JSON: {exc}"
    return f"bad JSON: receive timestamp {line[:sp][:30]!r} is not an integer"
