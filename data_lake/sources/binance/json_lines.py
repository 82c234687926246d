"""The JSON path of the Binance importer: every line the byte-level kernels leave.

REST depth snapshots, other symbols, unknown streams and anything malformed are parsed
with ``orjson`` and checked field by field here; this is where quarantine reasons
come from (``bad JSON``, ``missing field``, ``non-positive price or size``, ``crossed
book``, ``unknown stream``, ``unknown symbol``). It writes the same rows as the bulk
path for valid lines (tested).

Two classes: :class:`JsonLines` parses one line and routes it (a row into its symbol's
buffers, a depth diff or snapshot to the symbol's book sync, anything else to the
quarantine); :class:`SnapshotRouter` finds the symbol of a REST depth snapshot, which
names none.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from data_lake.sources._rows import ms_to_ns, parse_recv_ns
from data_lake.sources.binance.symbols import Symbols, SymbolState
from data_lake.sources.binance.sync import Quarantine, diff_of_data

__all__ = ["JsonLines", "SnapshotRouter"]

_MS = 1_000_000
_INF = math.inf
_TRADE, _DEPTH, _BBO = 1, 2, 3
_TABLE = {_TRADE: "trades", _DEPTH: "book", _BBO: "bbo"}

# A snapshot read before the file named its symbol: (source, line no, line, recv_ts, msg)
_Held = tuple[str, int, bytes, int, dict[str, Any]]


class SnapshotRouter:
    """Send each REST depth snapshot (which names no symbol) to its symbol's book sync.

    The symbol is ``--symbol`` when given, else the one symbol whose depth diffs the
    file records. A snapshot read before any diff of the file is held until the first
    diff names the symbol; a file with diffs of several symbols cannot say.
    """

    def __init__(self, symbols: Symbols, quarantine: Quarantine) -> None:
        self.symbols = symbols
        self.q = quarantine
        self.file_symbols: set[str] = set()
        self.held: _Held | None = None

    def start_file(self) -> None:
        self.file_symbols = set()

    def depth_seen(self, symbol: str) -> None:
        """The file records depth diffs of ``symbol``: a held snapshot is its."""
        if self.held is not None:
            held, self.held = self.held, None
            self.apply(*held, symbol=symbol)
        self.file_symbols.add(symbol)

    def snapshot(self, src: str, line_no: int, line: bytes, recv: int,
                 msg: dict[str, Any]) -> None:
        """A REST snapshot line: apply it to its symbol, hold it, or quarantine it."""
        if self.symbols.only is not None:
            self.apply(src, line_no, line, recv, msg, symbol=self.symbols.only)
        elif len(self.file_symbols) == 1:
            self.apply(src, line_no, line, recv, msg, symbol=next(iter(self.file_symbols)))
        elif self.file_symbols:
            self.q("book", src, line_no, line,
                   "unknown symbol: a depth snapshot names no symbol and the file has "
                   f"several ({', '.join(sorted(self.file_symbols))}); pass --symbol",
                   None, _ms(msg.get("T")))
        else:
            if self.held is not None:
                old = self.held
                self.q("book", old[0], old[1], old[2],
                       f"before snapshot: superseded by the snapshot at line {line_no}",
                       None, _ms(old[4].get("T")))
            self.held = (src, line_no, line, recv, msg)

    def apply(self, src: str, line_no: int, line: bytes, recv: int, msg: dict[str, Any],
              *, symbol: str) -> None:
        reason = self.symbols.check(symbol)
        if reason is not None:
            self.q("book", src, line_no, line, reason, None, _ms(msg.get("T")))
            return
        sync = self.symbols.open(symbol).sync
        try:
            sync.snapshot(src, line_no, line, recv, msg)
        except KeyError as exc:
            self.q("book", src, line_no, line, f"missing field: {exc.args[0]}", symbol)
        except (TypeError, ValueError, IndexError) as exc:
            sync.bad_snapshot(src, line_no, line, exc)

    def end_file(self) -> None:
        """A snapshot still held names no symbol the file ever showed: quarantine it."""
        if self.held is not None:
            held, self.held = self.held, None
            self.q("book", held[0], held[1], held[2],
                   "unknown symbol: a depth snapshot names no symbol and no depth diff "
                   "in the file does; pass --symbol", None, _ms(held[4].get("T")))


class JsonLines:
    """Parse ``<recv_ts_ns> <json>`` lines with ``orjson``, check them, route them.

    Parameters
    ----------
    symbols : the import's symbols (checked names, row buffers, book syncs).
    snapshots : where REST depth snapshots go.
    quarantine : where rejected lines go.
    """

    def __init__(self, symbols: Symbols, snapshots: SnapshotRouter,
                 quarantine: Quarantine) -> None:
        self.symbols = symbols
        self.snapshots = snapshots
        self.q = quarantine
        self.streams: dict[str, int] = {}  # stream name -> kind, cached

    def line(self, name: str, line_no: int, line: bytes, sp: int) -> None:
        """Parse one line (``sp``: offset of the first space) and route it, or quarantine it."""
        try:
            recv = parse_recv_ns(line[:sp])
            msg = orjson.loads(line[sp + 1 :])
        except (ValueError, orjson.JSONDecodeError) as exc:
            self.q("unknown", name, line_no, line, _bad_line(line, sp, exc))
            return
        try:
            stream = msg["stream"]
            d = msg["data"]
            s_name = d["s"]
        except (KeyError, TypeError):
            self._other_message(name, line_no, line, recv, msg)
            return
        kind = self._stream_kind(stream) if type(stream) is str else 0
        st = self.symbols.get(s_name)
        if st is None:
            reason = self.symbols.check(s_name)
            if reason is not None:
                self.q(_TABLE.get(kind, "unknown"), name, line_no, line, reason,
                       None, _ms(d.get("T")))
                return
            st = self.symbols.open(s_name)
        if kind == _BBO:
            self._bbo(st, name, line_no, line, recv, d)
        elif kind == _TRADE:
            self._trade(st, name, line_no, line, recv, d)
        elif kind == _DEPTH:
            self.snapshots.depth_seen(s_name)
            try:
                st.sync.diff(name, line_no, line, recv, diff_of_data(d))
            except KeyError as exc:
                self.q("book", name, line_no, line, f"missing field: {exc.args[0]}",
                       s_name, _ms(d.get("T")))
            except (TypeError, ValueError, IndexError) as exc:
                self.q("book", name, line_no, line, f"bad value: {exc}", s_name,
                       _ms(d.get("T")))
        else:
            self.q("unknown", name, line_no, line, f"unknown stream: {stream!r}",
                   s_name, _ms(d.get("T")))

    def _bbo(self, st: SymbolState, name: str, line_no: int, line: bytes, recv: int,
             d: dict[str, Any]) -> None:
        s_name = st.symbol
        try:
            ts = ms_to_ns(d["T"])
            seq = d["u"]
            bp = float(d["b"])
            bs = float(d["B"])
            ap = float(d["a"])
            az = float(d["A"])
        except KeyError as exc:
            self.q("bbo", name, line_no, line, f"missing field: {exc.args[0]}", s_name)
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
            self.q("bbo", name, line_no, line, f"crossed book: bid {bp} >= ask {ap}", s_name, ts)
            return
        b = st.bbo
        b.ts.append(ts)
        b.seq.append(seq)
        b.bid_px.append(bp)
        b.bid_sz.append(bs)
        b.ask_px.append(ap)
        b.ask_sz.append(az)
        b.recv_ts.append(recv)

    def _trade(self, st: SymbolState, name: str, line_no: int, line: bytes, recv: int,
               d: dict[str, Any]) -> None:
        s_name = st.symbol
        try:
            ts = ms_to_ns(d["T"])
            tid = d["t"]
            px = float(d["p"])
            qty = float(d["q"])
            maker = d["m"]
        except KeyError as exc:
            self.q("trades", name, line_no, line, f"missing field: {exc.args[0]}", s_name)
            return
        except (TypeError, ValueError) as exc:
            self.q("trades", name, line_no, line, f"bad value: {exc}", s_name)
            return
        if not (0.0 < px < _INF and 0.0 < qty < _INF):
            self.q("trades", name, line_no, line,
                   f"non-positive price or size: price {px}, size {qty}", s_name, ts)
            return
        if maker is not True and maker is not False:
            self.q("trades", name, line_no, line,
                   f"missing field: m must be true or false, not {maker!r}", s_name, ts)
            return
        t = st.trades
        t.ts.append(ts)
        t.price.append(px)
        t.size.append(qty)
        t.side.append(-1 if maker else 1)
        t.trade_id.append(str(tid))
        t.recv_ts.append(recv)

    def _stream_kind(self, stream: str) -> int:
        kind = self.streams.get(stream)
        if kind is None:
            suffix = stream.partition("@")[2]
            kind = {"trade": _TRADE, "bookTicker": _BBO}.get(suffix, 0)
            if suffix.startswith("depth"):
                kind = _DEPTH
            self.streams[stream] = kind
        return kind

    def _other_message(self, name: str, line_no: int, line: bytes, recv: int,
                       msg: Any) -> None:
        """A line that is not a stream event: the REST snapshot, or something unknown."""
        if not isinstance(msg, dict):
            self.q("unknown", name, line_no, line, "bad JSON: the message is not an object")
            return
        if "stream" in msg:
            stream = msg["stream"]
            data = msg.get("data")
            if not isinstance(data, dict):
                self.q("unknown", name, line_no, line, "missing field: data")
            elif self._stream_kind(str(stream)) == 0:
                self.q("unknown", name, line_no, line, f"unknown stream: {stream!r}",
                       None, _ms(data.get("T")))
            else:
                self.q(_TABLE[self._stream_kind(str(stream))], name, line_no, line,
                       "missing field: s", None, _ms(data.get("T")))
            return
        if "lastUpdateId" not in msg:
            self.q("unknown", name, line_no, line,
                   "unknown stream: neither a stream event nor a depth snapshot")
            return
        self.snapshots.snapshot(name, line_no, line, recv, msg)


def _ms(value: Any) -> int | None:
    try:
        return ms_to_ns(value)
    except ValueError:
        return None


def _bad_line(line: bytes, sp: int, exc: Exception) -> str:
    if not line.strip():
        return "bad JSON: empty line"
    if sp <= 0:
        return "bad JSON: expected '<recv_ts_ns> <json>', found no receive timestamp"
    if isinstance(exc, orjson.JSONDecodeError):
        return f"bad JSON: {exc}"
    return f"bad JSON: receive timestamp {line[:sp][:30]!r} is not an int64 integer"
