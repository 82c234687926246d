"""numba kernels for Binance depth diffs: parse the raw line, apply it to an array book.

A depth line is mostly its price levels; parsing them with a general JSON parser and
converting each decimal string with ``float()`` dominated the import. These kernels
read the compact JSON the venue sends directly from the line's bytes:

- :func:`depth_header` finds ``T``, ``s``, ``U``, ``u``, ``pu`` and the start of the
  ``"b":[`` array, scanning forward once (keys in the venue's order; anything else
  returns a non-zero status and the caller falls back to the JSON parser);
- :func:`apply_diff` parses the bid and ask levels and applies them to the book.

Decimals parse exactly as Python's ``float(str)`` does for up to 17 significant digits:
the integer mantissa (< 2**53 checked) divided by a power of ten is correctly rounded.
Longer mantissas return "unparseable" and go through the fallback.

The book: each side keeps its best levels in an ascending array of keys (bid price,
or minus the ask price) with sizes, so both best levels are last and inserts near the
touch shift few elements; every deeper level sits in an open-addressing hash table
(a ``(capacity + 1, 2)`` float array: row 0 holds the count, then ``[key, size]``
slots, NaN keys empty, linear probing with backward-shift deletion) and moves into the
array only when the touch comes near it. (Half of the real diffs'
new or vanishing levels lie more than 256 levels from the touch.)
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "APPLY_BAD_LEVEL",
    "APPLY_OK",
    "APPLY_UNPARSEABLE",
    "KIND_BBO",
    "KIND_DEPTH",
    "KIND_OTHER",
    "KIND_TRADE",
    "apply_diff",
    "depth_header",
    "emit_book",
    "emit_top",
    "far_clear",
    "far_len",
    "far_rehash",
    "load_side",
    "scan_chunk",
]

APPLY_OK = 0
APPLY_BAD_LEVEL = 1  # a non-positive price or negative / non-finite size
APPLY_UNPARSEABLE = 2

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
def _parse_decimal(buf: np.ndarray, pos: int) -> tuple[float, int, bool]:
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


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@numba.njit(cache=True)
def _home(far: np.ndarray, key: float) -> int:
    """Home slot (0-based) of a key in the open-addressing table ``far``."""
    x = key * 1048576.0
    if not -9.0e18 < x < 9.0e18:
        x = 0.0  # absurd keys share a slot: still correct, just slower
    u = np.uint64(np.int64(x)) * _GOLDEN
    return np.int64((u >> np.uint64(32)) & np.uint64(far.shape[0] - 2))  # type: ignore[return-value]


@numba.njit(cache=True)
def far_len(far: np.ndarray) -> int:
    """Entries in a far table (row 0 holds the count; rows 1.. the slots)."""
    return int(far[0, 0])


@numba.njit(cache=True)
def far_clear(far: np.ndarray) -> None:
    far[1:, 0] = np.nan
    far[0, 0] = 0.0


@numba.njit(cache=True)
def _far_set(far: np.ndarray, key: float, value: float) -> None:
    mask = far.shape[0] - 2
    s = _home(far, key)
    while True:
        k = far[s + 1, 0]
        if k != k:
            far[0, 0] += 1.0
            break
        if k == key:
            break
        s = (s + 1) & mask
    far[s + 1, 0] = key
    far[s + 1, 1] = value


@numba.njit(cache=True)
def _far_pop(far: np.ndarray, key: float) -> float:
    """Remove a key (backward-shift deletion); its value, or NaN if absent."""
    mask = far.shape[0] - 2
    s = _home(far, key)
    while True:
        k = far[s + 1, 0]
        if k != k:
            return np.nan
        if k == key:
            break
        s = (s + 1) & mask
    value = far[s + 1, 1]
    i = s
    j = s
    while True:
        j = (j + 1) & mask
        kj = far[j + 1, 0]
        if kj != kj:
            break
        h = _home(far, kj)
        stays = (i < h <= j) if i <= j else (h > i or h <= j)
        if stays:
            continue
        far[i + 1, 0] = kj
        far[i + 1, 1] = far[j + 1, 1]
        i = j
    far[i + 1, 0] = np.nan
    far[0, 0] -= 1.0
    return value


@numba.njit(cache=True)
def far_rehash(old: np.ndarray, new: np.ndarray) -> None:
    """Copy every entry of ``old`` into the empty, larger table ``new``."""
    far_clear(new)
    for r in range(1, old.shape[0]):
        if old[r, 0] == old[r, 0]:
            _far_set(new, old[r, 0], old[r, 1])


@numba.njit(cache=True)
def _refill(keys: np.ndarray, sizes: np.ndarray, n: int, far: np.ndarray, window: int) -> int:
    """Move the best far levels into the near array (rare: the touch moved far)."""
    count = far_len(far)
    if count == 0:
        return n
    far_keys = np.empty(count)
    i = 0
    for r in range(1, far.shape[0]):
        if far[r, 0] == far[r, 0]:
            far_keys[i] = far[r, 0]
            i += 1
    far_keys.sort()
    take = min(window, count)
    best = far_keys[count - take :]
    # Every far key is worse than every near key: they go below, in order.
    for j in range(n - 1, -1, -1):
        keys[j + take] = keys[j]
        sizes[j + take] = sizes[j]
    for j in range(take):
        keys[j] = best[j]
        sizes[j] = _far_pop(far, best[j])
    return n + take


@numba.njit(cache=True)
def _spill(keys: np.ndarray, sizes: np.ndarray, n: int, far: np.ndarray, window: int) -> int:
    """Move the worst near levels to the far table, keeping the best ``window``."""
    drop = n - window
    for j in range(drop):
        _far_set(far, keys[j], sizes[j])
    for j in range(window):
        keys[j] = keys[j + drop]
        sizes[j] = sizes[j + drop]
    return window


@numba.njit(cache=True)
def _apply_level(
    keys: np.ndarray, sizes: np.ndarray, n: int, far: np.ndarray, key: float, size: float,
    window: int,
) -> int:
    """Set, insert or (size 0) remove one level; returns the new near count.

    The near array holds the best ``n`` levels sorted ascending (best last); every
    other level is in ``far``, a hash table, and is worse than all near levels. Deep
    levels therefore cost a hash operation, not a shift of the whole side.
    """
    if n == 0 and far_len(far) > 0:
        n = _refill(keys, sizes, n, far, window)
    if n > 0 and key < keys[0]:
        if size == 0.0:
            _far_pop(far, key)
        else:
            _far_set(far, key, size)
        return n
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    found = lo < n and keys[lo] == key
    if size == 0.0:
        if found:
            for j in range(lo, n - 1):
                keys[j] = keys[j + 1]
                sizes[j] = sizes[j + 1]
            return n - 1
        return n
    if found:
        sizes[lo] = size
        return n
    for j in range(n, lo, -1):
        keys[j] = keys[j - 1]
        sizes[j] = sizes[j - 1]
    keys[lo] = key
    sizes[lo] = size
    n += 1
    if n >= keys.shape[0] - 1:
        n = _spill(keys, sizes, n, far, window)
    return n


@numba.njit(cache=True)
def _apply_side(
    buf: np.ndarray,
    pos: int,
    keys: np.ndarray,
    sizes: np.ndarray,
    far: np.ndarray,
    counts: np.ndarray,
    side: int,
    sign: float,
    window: int,
) -> tuple[int, int, int]:
    """Apply the levels array at ``buf[pos] == '['``; (status, end position, bad level)."""
    n_buf = buf.shape[0]
    if pos >= n_buf or buf[pos] != _LBRACKET:
        return APPLY_UNPARSEABLE, pos, pos
    pos += 1
    if pos < n_buf and buf[pos] == _RBRACKET:
        return APPLY_OK, pos + 1, -1
    n = counts[side]
    while True:
        if pos >= n_buf or buf[pos] != _LBRACKET:
            counts[side] = n
            return APPLY_UNPARSEABLE, pos, pos
        level_at = pos
        px, pos, ok = _parse_decimal(buf, pos + 1)
        if not ok or pos >= n_buf or buf[pos] != _COMMA:
            counts[side] = n
            return APPLY_UNPARSEABLE, pos, level_at
        sz, pos, ok = _parse_decimal(buf, pos + 1)
        if not ok or pos >= n_buf or buf[pos] != _RBRACKET:
            counts[side] = n
            return APPLY_UNPARSEABLE, pos, level_at
        pos += 1
        if not (sz >= 0.0 and px > 0.0):
            counts[side] = n
            return APPLY_BAD_LEVEL, pos, level_at
        n = _apply_level(keys, sizes, n, far, sign * px, sz, window)
        if pos < n_buf and buf[pos] == _COMMA:
            pos += 1
            continue
        if pos < n_buf and buf[pos] == _RBRACKET:
            counts[side] = n
            return APPLY_OK, pos + 1, -1
        counts[side] = n
        return APPLY_UNPARSEABLE, pos, level_at


@numba.njit(cache=True)
def apply_diff(
    buf: np.ndarray,
    bids_start: int,
    bid_keys: np.ndarray,
    bid_sizes: np.ndarray,
    bid_far: np.ndarray,
    ask_keys: np.ndarray,
    ask_sizes: np.ndarray,
    ask_far: np.ndarray,
    counts: np.ndarray,
    depth: int,
) -> tuple[int, int]:
    """Apply ``"b":[...],"a":[...]`` starting at the bids' ``[``; (status, bad level pos).

    ``counts`` holds the near level counts (bids, asks) and is updated in place; after
    the diff each near array holds at least ``depth`` levels when the side has them.
    On a non-zero status the book is partly updated: the caller must resynchronise.
    """
    window = (bid_keys.shape[0] - 2) // 2
    status, pos, bad = _apply_side(
        buf, bids_start, bid_keys, bid_sizes, bid_far, counts, 0, 1.0, window
    )
    if status != APPLY_OK:
        return status, bad
    pat = _KEY_A
    n_buf = buf.shape[0]
    if pos + 5 > n_buf:
        return APPLY_UNPARSEABLE, pos
    for k in range(5):
        if buf[pos + k] != pat[k]:
            return APPLY_UNPARSEABLE, pos
    status, pos, bad = _apply_side(
        buf, pos + 5, ask_keys, ask_sizes, ask_far, counts, 1, -1.0, window
    )
    _top_up(bid_keys, bid_sizes, bid_far, counts, 0, depth, window)
    _top_up(ask_keys, ask_sizes, ask_far, counts, 1, depth, window)
    return status, bad


@numba.njit(cache=True)
def _top_up(
    keys: np.ndarray, sizes: np.ndarray, far: np.ndarray, counts: np.ndarray, side: int,
    depth: int, window: int,
) -> None:
    if counts[side] < depth and far_len(far) > 0:
        counts[side] = _refill(keys, sizes, counts[side], far, window)


@numba.njit(cache=True)
def load_side(
    prices: np.ndarray, sizes: np.ndarray, keys_out: np.ndarray, sizes_out: np.ndarray,
    far: np.ndarray, sign: float,
) -> int:
    """Fill one side from snapshot levels (any order); the near count, or -1 if invalid.

    ``far`` must have room for every level (:func:`far_capacity_for`).
    """
    far_clear(far)
    for i in range(prices.shape[0]):
        px = prices[i]
        sz = sizes[i]
        if not (px > 0.0 and sz >= 0.0 and px < np.inf and sz < np.inf):
            return -1
        if sz > 0.0:
            _far_set(far, sign * px, sz)
    return _refill(keys_out, sizes_out, 0, far, (keys_out.shape[0] - 2) // 2)


@numba.njit(cache=True)
def emit_book(
    bid_keys: np.ndarray, bid_sizes: np.ndarray, ask_keys: np.ndarray, ask_sizes: np.ndarray,
    counts: np.ndarray, depth: int, bid_px: np.ndarray, bid_sz: np.ndarray,
    ask_px: np.ndarray, ask_sz: np.ndarray, fill: np.ndarray,
) -> tuple[int, int]:
    """Append both sides' best ``depth`` levels at ``fill`` (bids, asks; updated)."""
    nb = emit_top(bid_keys, bid_sizes, counts[0], 1.0, depth, bid_px, bid_sz, fill[0])
    na = emit_top(ask_keys, ask_sizes, counts[1], -1.0, depth, ask_px, ask_sz, fill[1])
    fill[0] += nb
    fill[1] += na
    return nb, na


@numba.njit(cache=True)
def emit_top(
    keys: np.ndarray, sizes: np.ndarray, n: int, sign: float, depth: int,
    px_out: np.ndarray, sz_out: np.ndarray, at: int,
) -> int:
    """Write the best ``depth`` levels (best first) at ``px_out[at:]``; returns the count."""
    m = min(depth, n)
    for k in range(m):
        px_out[at + k] = sign * keys[n - 1 - k]
        sz_out[at + k] = sizes[n - 1 - k]
    return m


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
        vals[k], pos, ok = _parse_decimal(buf[:end], pos)
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
    price, pos, ok = _parse_decimal(buf[:end], pos)
    if not ok:
        return False
    pos = _find(buf, _KEY_Q, pos, end)
    if pos < 0:
        return False
    qty, pos, ok = _parse_decimal(buf[:end], pos)
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
