"""numba kernels of the Binance L2 book: apply a diff's levels straight from its bytes.

Each side keeps its best levels in an ascending array of keys (bid price, or minus the
ask price) with sizes, so both best levels are last and inserts near the touch shift
few elements. Every deeper level sits in an open-addressing hash table (a
``(capacity + 1, 2)`` float array: row 0 holds the entry count, then ``[key, size]``
slots, NaN keys empty, linear probing with backward-shift deletion) and moves into the
array only when the touch comes near it: half of the real diffs' new or vanishing
levels lie more than 256 levels from the touch, where a sorted array would shift
thousands of elements.
"""

from __future__ import annotations

import numba
import numpy as np

from data_lake.sources.binance.parse import (
    _COMMA,
    _KEY_A,
    _LBRACKET,
    _RBRACKET,
    depth_header,
    parse_decimal,
)

__all__ = [
    "APPLY_BAD_LEVEL",
    "APPLY_OK",
    "APPLY_UNPARSEABLE",
    "CHAIN_APPLIED",
    "CHAIN_BROKEN",
    "CHAIN_CROSSED",
    "CHAIN_EMITTED",
    "CHAIN_NOT_TAKEN",
    "apply_diff",
    "chained_diff",
    "emit_book",
    "emit_top",
    "far_clear",
    "far_len",
    "far_rehash",
    "load_side",
]

APPLY_OK = 0
APPLY_BAD_LEVEL = 1  # a non-positive price or negative / non-finite size
APPLY_UNPARSEABLE = 2

# chained_diff outcomes
CHAIN_NOT_TAKEN = -1  # not the common case: nothing changed, use the general path
CHAIN_APPLIED = 0  # applied, no book row (throttled)
CHAIN_EMITTED = 1  # applied and a book row written
CHAIN_CROSSED = 2  # applied; the book is crossed (quarantine the diff, go on)
CHAIN_BROKEN = 3  # a level failed: the book is partly updated and must resync


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
        px, pos, ok = parse_decimal(buf, pos + 1)
        if not ok or pos >= n_buf or buf[pos] != _COMMA:
            counts[side] = n
            return APPLY_UNPARSEABLE, pos, level_at
        sz, pos, ok = parse_decimal(buf, pos + 1)
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
def chained_diff(
    buf: np.ndarray, start: int, symbol: np.ndarray, last_u: int,
    bid_keys: np.ndarray, bid_sizes: np.ndarray, bid_far: np.ndarray,
    ask_keys: np.ndarray, ask_sizes: np.ndarray, ask_far: np.ndarray,
    counts: np.ndarray, depth: int, interval_ns: int, last_emit_ns: int,
    bid_px: np.ndarray, bid_sz: np.ndarray, ask_px: np.ndarray, ask_sz: np.ndarray,
    fill: np.ndarray,
) -> tuple[int, int, int, int, int, int, int]:
    """The common case of a synchronised book in one call: the next diff of the chain.

    Parses the header; if the symbol is ``symbol`` and ``pu == last_u``, applies the
    levels, checks the book is not crossed and (unless throttled) writes the best
    ``depth`` levels at ``fill`` like :func:`emit_book`.

    Returns
    -------
    (outcome, T ms, u, bids written, asks written, apply status, bad level position)
    """
    status, t_ms, _, u, pu, s0, s1, bids_start = depth_header(buf, start)
    if status != 0 or pu != last_u or s1 - s0 != symbol.shape[0]:
        return CHAIN_NOT_TAKEN, 0, 0, 0, 0, 0, 0
    for k in range(symbol.shape[0]):
        if buf[s0 + k] != symbol[k]:
            return CHAIN_NOT_TAKEN, 0, 0, 0, 0, 0, 0
    applied, bad = apply_diff(
        buf, bids_start, bid_keys, bid_sizes, bid_far, ask_keys, ask_sizes, ask_far, counts,
        depth,
    )
    if applied != APPLY_OK:
        return CHAIN_BROKEN, t_ms, u, 0, 0, applied, bad
    nb = counts[0]
    na = counts[1]
    if nb > 0 and na > 0 and bid_keys[nb - 1] >= -ask_keys[na - 1]:
        return CHAIN_CROSSED, t_ms, u, 0, 0, 0, 0
    ts = t_ms * 1_000_000
    if interval_ns > 0 and ts - last_emit_ns < interval_ns:
        return CHAIN_APPLIED, t_ms, u, 0, 0, 0, 0
    wb, wa = emit_book(
        bid_keys, bid_sizes, ask_keys, ask_sizes, counts, depth, bid_px, bid_sz, ask_px, ask_sz,
        fill,
    )
    return CHAIN_EMITTED, t_ms, u, wb, wa, 0, 0
