"""numba parsers of Binance USD-M recording lines, reading the JSON's bytes directly.

A general JSON parser plus ``float()`` on every decimal string dominated the import.
These kernels read the compact JSON the venue sends:

- :func:`scan_chunk` splits a block of lines, classifies each (bookTicker, trade, depth
  diff, other) and parses every valid bookTicker and trade line of one symbol in bulk;
- :func:`depth_header` finds a diff's ``T``, ``s``, ``U``, ``u``, ``pu`` and the start
  of its ``"b":[`` array, scanning forward once.

Keys are expected in the venue's order; a line in any other layout, or failing a
check, is left to the caller's JSON path, which gives the quarantine reasons.
Decimals parse exactly as Python's ``float(str)`` does for up to 17 significant digits:
the integer mantissa (< 2**53, checked) divided by a power of ten is correctly rounded.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "KIND_BBO",
    "KIND_DEPTH",
    "KIND_OTHER",
    "KIND_TRADE",
    "depth_header",
    "parse_decimal",
    "scan_chunk",
]

_QUOTE = 34  # "
_COLON = 58
_COMMA = 44
_LBRACKET = 91
_RBRACKET = 93
_MINUS = 45
_DOT = 46
_MAX_EXACT = 2**53
_POW10 = np.array([10.0**k for k in range(23)])
# Byte patterns of the keys, in the order the venue writes them (module constants,
# frozen into the compiled code).
_KEY_T = np.frombuffer(b'"T":', np.uint8)
_KEY_S = np.frombuffer(b'"s":"', np.uint8)
_KEY_U = np.frombuffer(b'"U":', np.uint8)
_KEY_LU = np.frombuffer(b'"u":', np.uint8)
_KEY_PU = np.frombuffer(b'"pu":', np.uint8)
_KEY_B = np.frombuffer(b'"b":[', np.uint8)
_KEY_A = np.frombuffer(b',"a":', np.uint8)
_KEY_LB = np.frombuffer(b'"b":', np.uint8)
_KEY_UB = np.frombuffer(b'"B":', np.uint8)
_KEY_LA = np.frombuffer(b'"a":', np.uint8)
_KEY_UA = np.frombuffer(b'"A":', np.uint8)
_KEY_LT = np.frombuffer(b'"t":', np.uint8)
_KEY_P = np.frombuffer(b'"p":', np.uint8)
_KEY_Q = np.frombuffer(b'"q":', np.uint8)
_KEY_M = np.frombuffer(b'"m":', np.uint8)
_STREAM = np.frombuffer(b'{"stream":"', np.uint8)
_SUFFIX_DEPTH = np.frombuffer(b"@depth", np.uint8)
_SUFFIX_BBO = np.frombuffer(b'@bookTicker"', np.uint8)
_SUFFIX_TRADE = np.frombuffer(b'@trade"', np.uint8)
_TRUE = np.frombuffer(b"true", np.uint8)
_FALSE = np.frombuffer(b"false", np.uint8)

KIND_OTHER = 0  # parse in Python (snapshots, unknown streams, anything unusual)
KIND_BBO = 1  # a valid bookTicker of the expected symbol, parsed
KIND_TRADE = 2  # a valid trade of the expected symbol, parsed
KIND_DEPTH = 3  # a depth diff: the caller's state machine takes it


@numba.njit(cache=True)
def _find(buf: np.ndarray, pat: np.ndarray, start: int, end: int = -1) -> int:
    """Index just after the first ``pat`` in ``buf[start:end]``, or -1."""
    n = buf.shape[0] if end < 0 else end
    m = pat.shape[0]
    first = pat[0]
    i = start
    while i <= n - m:
        if buf[i] == first:
            j = 1
            while j < m and buf[i + j] == pat[j]:
                j += 1
            if j == m:
                return i + m
        i += 1
    return -1


@numba.njit(cache=True)
def _parse_int(buf: np.ndarray, pos: int) -> tuple[int, int, bool]:
    n = buf.shape[0]
    neg = False
    if pos < n and buf[pos] == _MINUS:
        neg = True
        pos += 1
    start = pos
    value = 0
    while pos < n and 48 <= buf[pos] <= 57:
        value = value * 10 + (buf[pos] - 48)
        pos += 1
    digits = pos - start
    if digits == 0 or digits > 19 or (digits == 19 and buf[start] > 56):
        return 0, pos, False  # empty, or could overflow int64
    return (-value if neg else value), pos, True


@numba.njit(cache=True)
def parse_decimal(buf: np.ndarray, pos: int) -> tuple[float, int, bool]:
    """A JSON number or a quoted decimal string; (value, position after it, ok)."""
    n = buf.shape[0]
    quoted = pos < n and buf[pos] == _QUOTE
    if quoted:
        pos += 1
    neg = False
    if pos < n and buf[pos] == _MINUS:
        neg = True
        pos += 1
    mantissa = 0
    digits = 0
    decimals = 0
    seen_dot = False
    while pos < n:
        c = buf[pos]
        if 48 <= c <= 57:
            mantissa = mantissa * 10 + (c - 48)
            digits += 1
            if seen_dot:
                decimals += 1
            if digits > 17:
                return 0.0, pos, False
        elif c == _DOT and not seen_dot:
            seen_dot = True
        else:
            break
        pos += 1
    if digits == 0 or mantissa >= _MAX_EXACT or decimals > 22:
        return 0.0, pos, False
    if quoted:
        if pos >= n or buf[pos] != _QUOTE:
            return 0.0, pos, False  # exponent, 'nan', junk: let Python decide
        pos += 1
    value = mantissa / _POW10[decimals]
    return (-value if neg else value), pos, True


@numba.njit(cache=True)
def depth_header(buf: np.ndarray, start: int) -> tuple[int, int, int, int, int, int, int, int]:
    """Parse a depth diff's fields from ``buf[start:]`` (the JSON after the timestamp).

    Returns
    -------
    (status, T, U, u, pu, symbol_start, symbol_end, bids_start) : status 0 when every
        field was found in the venue's order; ``bids_start`` indexes the ``[`` of
        the bids array.
    """
    pos = _find(buf, _KEY_T, start)
    if pos < 0:
        return 1, 0, 0, 0, 0, 0, 0, 0
    t, pos, ok = _parse_int(buf, pos)
    if not ok:
        return 1, 0, 0, 0, 0, 0, 0, 0
    s0 = _find(buf, _KEY_S, pos)
    if s0 < 0:
        return 1, 0, 0, 0, 0, 0, 0, 0
    s1 = s0
    while s1 < buf.shape[0] and buf[s1] != _QUOTE:
        s1 += 1
    pos = _find(buf, _KEY_U, s1)
    if pos < 0:
        return 1, 0, 0, 0, 0, 0, 0, 0
    first, pos, ok = _parse_int(buf, pos)
    if not ok:
        return 1, 0, 0, 0, 0, 0, 0, 0
    pos = _find(buf, _KEY_LU, pos)
    if pos < 0:
        return 1, 0, 0, 0, 0, 0, 0, 0
    last, pos, ok = _parse_int(buf, pos)
    if not ok:
        return 1, 0, 0, 0, 0, 0, 0, 0
    pos = _find(buf, _KEY_PU, pos)
    if pos < 0:
        return 1, 0, 0, 0, 0, 0, 0, 0
    prev, pos, ok = _parse_int(buf, pos)
    if not ok:
        return 1, 0, 0, 0, 0, 0, 0, 0
    pos = _find(buf, _KEY_B, pos)
    if pos < 0:
        return 1, 0, 0, 0, 0, 0, 0, 0
    return 0, t, first, last, prev, s0, s1, pos - 1


@numba.njit(cache=True)
def _starts_with(buf: np.ndarray, pos: int, end: int, pat: np.ndarray) -> bool:
    m = pat.shape[0]
    if pos + m > end:
        return False
    for k in range(m):  # noqa: SIM110 - a plain loop compiles tighter in numba
        if buf[pos + k] != pat[k]:
            return False
    return True


@numba.njit(cache=True)
def _scan_bbo(
    buf: np.ndarray, pos: int, end: int, symbol: np.ndarray, i: int, ident: np.ndarray,
    ts_ms: np.ndarray, f1: np.ndarray, f2: np.ndarray, f3: np.ndarray, f4: np.ndarray,
) -> bool:
    pos = _find(buf, _KEY_LU, pos, end)
    if pos < 0:
        return False
    u, pos, ok = _parse_int(buf, pos)
    if not ok:
        return False
    pos = _find(buf, _KEY_S, pos, end)
    if pos < 0 or not _starts_with(buf, pos, end, symbol):
        return False
    pos += symbol.shape[0]
    if pos >= end or buf[pos] != _QUOTE:
        return False
    vals = np.empty(4)
    for k, key in enumerate((_KEY_LB, _KEY_UB, _KEY_LA, _KEY_UA)):
        pos = _find(buf, key, pos, end)
        if pos < 0:
            return False
        vals[k], pos, ok = parse_decimal(buf[:end], pos)
        if not ok:
            return False
    pos = _find(buf, _KEY_T, pos, end)
    if pos < 0:
        return False
    t, pos, ok = _parse_int(buf, pos)
    if not ok:
        return False
    bid, bid_sz, ask, ask_sz = vals[0], vals[1], vals[2], vals[3]
    if not (bid > 0.0 and ask > bid and bid_sz >= 0.0 and ask_sz >= 0.0):
        return False  # Python quarantines it with the exact reason
    ident[i] = u
    ts_ms[i] = t
    f1[i] = bid
    f2[i] = bid_sz
    f3[i] = ask
    f4[i] = ask_sz
    return True


@numba.njit(cache=True)
def _scan_trade(
    buf: np.ndarray, pos: int, end: int, symbol: np.ndarray, i: int, ident: np.ndarray,
    ts_ms: np.ndarray, f1: np.ndarray, f2: np.ndarray, side: np.ndarray,
) -> bool:
    pos = _find(buf, _KEY_T, pos, end)
    if pos < 0:
        return False
    t, pos, ok = _parse_int(buf, pos)
    if not ok:
        return False
    pos = _find(buf, _KEY_S, pos, end)
    if pos < 0 or not _starts_with(buf, pos, end, symbol):
        return False
    pos += symbol.shape[0]
    if pos >= end or buf[pos] != _QUOTE:
        return False
    pos = _find(buf, _KEY_LT, pos, end)
    if pos < 0:
        return False
    trade_id, pos, ok = _parse_int(buf, pos)
    if not ok:
        return False
    pos = _find(buf, _KEY_P, pos, end)
    if pos < 0:
        return False
    price, pos, ok = parse_decimal(buf[:end], pos)
    if not ok:
        return False
    pos = _find(buf, _KEY_Q, pos, end)
    if pos < 0:
        return False
    qty, pos, ok = parse_decimal(buf[:end], pos)
    if not ok:
        return False
    pos = _find(buf, _KEY_M, pos, end)
    if pos < 0:
        return False
    if _starts_with(buf, pos, end, _TRUE):
        side[i] = -1  # the buyer was the maker: a seller took liquidity
    elif _starts_with(buf, pos, end, _FALSE):
        side[i] = 1
    else:
        return False
    if not (price > 0.0 and qty > 0.0):
        return False
    ident[i] = trade_id
    ts_ms[i] = t
    f1[i] = price
    f2[i] = qty
    return True


@numba.njit(cache=True)
def scan_chunk(buf: np.ndarray, symbol: np.ndarray) -> tuple[
    np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
    np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
]:
    """Classify the lines of a block and parse valid bookTicker and trade lines.

    Parameters
    ----------
    buf : lines joined by ``\\n`` (``<recv_ts_ns> <json>`` each).
    symbol : the symbol whose bookTicker and trade lines may take the fast path (empty:
        none may); other symbols go to Python, which checks them.

    Returns
    -------
    (kind, starts, ends, recv_ns, ts_ms, ident, f1, f2, f3, f4, side) : per line, its
        ``KIND_*``, its byte span (a trailing ``\\r`` excluded), and for parsed lines:
        bbo ``u``, ``T``, bid, bid size, ask, ask size; trade ``t``, ``T``, price, size
        and aggressor side (+1 buy, -1 sell).
    """
    n_buf = buf.shape[0]
    n = 1
    for k in range(n_buf):
        if buf[k] == 10:
            n += 1
    starts = np.empty(n, np.int64)
    ends = np.empty(n, np.int64)
    line = 0
    starts[0] = 0
    for k in range(n_buf):
        if buf[k] == 10:
            ends[line] = k
            line += 1
            starts[line] = k + 1
    ends[n - 1] = n_buf
    kind = np.zeros(n, np.int8)
    recv = np.zeros(n, np.int64)
    ts_ms = np.zeros(n, np.int64)
    ident = np.zeros(n, np.int64)
    f1 = np.zeros(n)
    f2 = np.zeros(n)
    f3 = np.zeros(n)
    f4 = np.zeros(n)
    side = np.zeros(n, np.int8)
    fast = symbol.shape[0] > 0
    for i in range(n):
        s = starts[i]
        e = ends[i]
        if e > s and buf[e - 1] == 13:
            e -= 1
            ends[i] = e
        sp = s
        while sp < e and sp - s < 21 and buf[sp] != 32:
            sp += 1
        if sp == s or sp >= e or buf[sp] != 32:
            continue
        r, after, ok = _parse_int(buf[:sp], s)
        if not ok or after != sp:
            continue
        recv[i] = r
        pos = sp + 1
        if not _starts_with(buf, pos, e, _STREAM):
            continue
        pos += _STREAM.shape[0]
        at = pos
        while at < e and at - pos < 48 and buf[at] != 64:  # '@'
            at += 1
        if _starts_with(buf, at, e, _SUFFIX_DEPTH):
            kind[i] = KIND_DEPTH
        elif not fast:
            continue
        elif _starts_with(buf, at, e, _SUFFIX_BBO):
            if _scan_bbo(buf, at, e, symbol, i, ident, ts_ms, f1, f2, f3, f4):
                kind[i] = KIND_BBO
        elif _starts_with(buf, at, e, _SUFFIX_TRADE) and _scan_trade(
            buf, at, e, symbol, i, ident, ts_ms, f1, f2, side
        ):
            kind[i] = KIND_TRADE
    return kind, starts, ends, recv, ts_ms, ident, f1, f2, f3, f4, side
