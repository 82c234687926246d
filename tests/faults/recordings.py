"""Random valid recordings of each venue, with the rows the lake must hold after import.

Hypothesis strategies: each draws a recording (lines of the venue's format) and the
exact rows the importer must write for it, so a valid recording round-trips exactly.
Prices and sizes are drawn as decimal strings whose float value is the expected one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import orjson
from hypothesis import strategies as st

DAY_MS = 1_723_075_200_000  # 2024-08-08T00:00:00Z
MS = 1_000_000


@dataclass
class Recording:
    """Lines of one recording (without newlines) and the rows expected per table."""

    lines: list[bytes]
    expected: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    records: int = 0  # input records: lines, trades array elements, or LOBSTER row pairs
    files: dict[str, list[bytes]] = field(default_factory=dict)  # for two-file formats


def _decimal(draw: st.DrawFn, lo: int, hi: int, places: int) -> tuple[str, float]:
    mantissa = draw(st.integers(lo, hi))
    text = f"{mantissa / 10**places:.{places}f}"
    return text, float(text)


@st.composite
def binance_recordings(draw: st.DrawFn) -> Recording:
    """bookTicker and trade lines of BTCUSDT: every line gives one bbo or trade row."""
    n = draw(st.integers(1, 30))
    lines: list[bytes] = []
    trades: list[dict[str, Any]] = []
    bbo: list[dict[str, Any]] = []
    t_ms = DAY_MS + draw(st.integers(0, 80_000_000))
    for i in range(n):
        t_ms += draw(st.integers(1, 50_000))
        recv = t_ms * MS - draw(st.integers(0, 2_000_000_000))
        if draw(st.booleans()):
            p, pf = _decimal(draw, 1, 10**9, 2)
            q, qf = _decimal(draw, 1, 10**7, 3)
            m = draw(st.booleans())
            data = {
                "e": "trade",
                "E": t_ms,
                "T": t_ms,
                "s": "BTCUSDT",
                "t": 1000 + i,
                "p": p,
                "q": q,
                "X": "MARKET",
                "m": m,
            }
            stream = "btcusdt@trade"
            trades.append(
                {
                    "ts": t_ms * MS,
                    "price": pf,
                    "size": qf,
                    "side": -1 if m else 1,
                    "trade_id": str(1000 + i),
                    "recv_ts": recv,
                }
            )
        else:
            bid, bidf = _decimal(draw, 1, 10**9, 2)
            spread = draw(st.integers(1, 10**4))
            ask = f"{(round(bidf * 100) + spread) / 100:.2f}"
            askf = float(ask)
            bsz, bszf = _decimal(draw, 1, 10**7, 3)
            asz, aszf = _decimal(draw, 1, 10**7, 3)
            data = {
                "e": "bookTicker",
                "u": 5000 + i,
                "s": "BTCUSDT",
                "b": bid,
                "B": bsz,
                "a": ask,
                "A": asz,
                "T": t_ms,
                "E": t_ms,
            }
            stream = "btcusdt@bookTicker"
            bbo.append(
                {
                    "ts": t_ms * MS,
                    "seq": 5000 + i,
                    "bid_px": bidf,
                    "bid_sz": bszf,
                    "ask_px": askf,
                    "ask_sz": aszf,
                    "recv_ts": recv,
                }
            )
        lines.append(f"{recv} ".encode() + orjson.dumps({"stream": stream, "data": data}))
    return Recording(lines, {"trades": trades, "bbo": bbo}, records=n)


@st.composite
def hyperliquid_recordings(draw: st.DrawFn) -> Recording:
    """l2Book snapshots (book and bbo rows), trades arrays and activeAssetCtx (funding)."""
    n = draw(st.integers(1, 20))
    lines: list[bytes] = []
    exp: dict[str, list[dict[str, Any]]] = {"book": [], "bbo": [], "trades": [], "funding": []}
    t_ms = DAY_MS + draw(st.integers(0, 80_000_000))
    tid = 1
    for _ in range(n):
        t_ms += draw(st.integers(1, 50_000))
        recv = t_ms * MS + draw(st.integers(0, 900_000_000))
        kind = draw(st.sampled_from(["l2Book", "trades", "activeAssetCtx"]))
        if kind == "l2Book":
            mid = draw(st.integers(10_000, 10**7))
            nb, na = draw(st.integers(1, 5)), draw(st.integers(1, 5))
            bids = [(f"{(mid - 1 - k)}.0", _decimal(draw, 1, 10**6, 3)) for k in range(nb)]
            asks = [(f"{(mid + 1 + k)}.0", _decimal(draw, 1, 10**6, 3)) for k in range(na)]
            levels = [[{"n": 1, "px": p, "sz": s} for p, (s, _) in side] for side in (bids, asks)]
            data = {"coin": "BTC", "time": t_ms, "levels": levels}
            exp["book"].append(
                {
                    "ts": t_ms * MS,
                    "seq": t_ms,
                    "bid_px": [float(p) for p, _ in bids],
                    "bid_sz": [f for _, (_, f) in bids],
                    "ask_px": [float(p) for p, _ in asks],
                    "ask_sz": [f for _, (_, f) in asks],
                    "recv_ts": recv,
                }
            )
            exp["bbo"].append(
                {
                    "ts": t_ms * MS,
                    "seq": t_ms,
                    "bid_px": float(bids[0][0]),
                    "bid_sz": bids[0][1][1],
                    "ask_px": float(asks[0][0]),
                    "ask_sz": asks[0][1][1],
                    "recv_ts": recv,
                }
            )
        elif kind == "trades":
            data_list = []
            for _ in range(draw(st.integers(1, 4))):
                px, pxf = _decimal(draw, 1, 10**8, 1)
                sz, szf = _decimal(draw, 1, 10**6, 3)
                side = draw(st.sampled_from(["A", "B"]))
                data_list.append(
                    {
                        "coin": "BTC",
                        "side": side,
                        "px": px,
                        "sz": sz,
                        "time": t_ms,
                        "tid": tid,
                        "hash": "0x0",
                    }
                )
                exp["trades"].append(
                    {
                        "ts": t_ms * MS,
                        "price": pxf,
                        "size": szf,
                        "side": 1 if side == "B" else -1,
                        "trade_id": str(tid),
                        "recv_ts": recv,
                    }
                )
                tid += 1
            data = data_list  # type: ignore[assignment]
        else:
            rate, ratef = _decimal(draw, -(10**6), 10**6, 10)
            mark, markf = _decimal(draw, 1, 10**8, 1)
            oracle, oraclef = _decimal(draw, 1, 10**8, 1)
            data = {
                "coin": "BTC",
                "ctx": {"funding": rate, "markPx": mark, "oraclePx": oracle, "openInterest": "1"},
            }
            exp["funding"].append(
                {
                    "ts": recv,
                    "rate": ratef,
                    "interval_s": 3600,
                    "mark_px": markf,
                    "oracle_px": oraclef,
                    "recv_ts": recv,
                }
            )
        lines.append(f"{recv} ".encode() + orjson.dumps({"channel": kind, "data": data}))
    records = len(exp["book"]) + len(exp["trades"]) + len(exp["funding"])
    return Recording(lines, exp, records=records)


LOBSTER_STEM = "GOOG_2012-06-21_34200000_57600000"
_OPEN_UTC_NS = int(dt.datetime(2012, 6, 21, 13, 30, tzinfo=dt.UTC).timestamp()) * 10**9
_OPEN_NY_S = 34_200


@st.composite
def lobster_recordings(draw: st.DrawFn) -> Recording:
    """Message and 2-level orderbook rows: book and bbo per pair, trades per execution."""
    n = draw(st.integers(1, 25))
    msgs: list[bytes] = []
    books: list[bytes] = []
    exp: dict[str, list[dict[str, Any]]] = {"trades": [], "book": []}
    t_ns = draw(st.integers(0, 3_600 * 10**9))
    for row in range(1, n + 1):
        t_ns += draw(st.integers(0, 10**9))
        kind = draw(st.sampled_from([1, 2, 3, 4, 5]))
        oid = 0 if kind == 5 else draw(st.integers(1, 10**8))
        size = draw(st.integers(1, 10**4))
        price = draw(st.integers(1, 10**7)) * 100
        direction = draw(st.sampled_from([-1, 1]))
        secs = f"{_OPEN_NY_S + t_ns // 10**9}.{t_ns % 10**9:09d}"
        msgs.append(f"{secs},{kind},{oid},{size},{price},{direction}".encode())
        bid = draw(st.integers(10_000, 10**7)) * 100
        ask = bid + draw(st.integers(1, 1000)) * 100
        levels = [
            (ask, draw(st.integers(1, 10**4)), bid, draw(st.integers(1, 10**4))),
            (ask + 100, draw(st.integers(1, 10**4)), bid - 100, draw(st.integers(1, 10**4))),
        ]
        books.append(",".join(str(v) for lvl in levels for v in lvl).encode())
        ts = _OPEN_UTC_NS + t_ns
        exp["book"].append(
            {
                "ts": ts,
                "seq": row,
                "bid_px": [lvl[2] / 10_000 for lvl in levels],
                "ask_px": [lvl[0] / 10_000 for lvl in levels],
            }
        )
        if kind in (4, 5):
            exp["trades"].append(
                {
                    "ts": ts,
                    "price": price / 10_000,
                    "size": float(size),
                    "side": -direction,
                    "trade_id": f"{oid}-{row}",
                }
            )
    rec = Recording([], exp, records=n)
    rec.files = {f"{LOBSTER_STEM}_message_2.csv": msgs, f"{LOBSTER_STEM}_orderbook_2.csv": books}
    return rec
