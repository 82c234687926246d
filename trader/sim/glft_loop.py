"""The backtest loop specialised to the GLFT kernel, cached on disk.

:func:`trader.sim.loop.run_loop` takes the strategy as a first-class function, which
numba cannot cache across processes (see the note above it), so every process paid its
compilation (about 6 s) before the first GLFT backtest. This wrapper names the kernel
as a global in an inlined copy of the loop body: no function pointer, a signature of
arrays only, so its compiled code is cached like any other kernel's.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trader.sim.loop import loop_body
from trader.strategy.glft import glft_quote

__all__ = ["run_loop_glft"]


@njit(nogil=True, cache=True)
def run_loop_glft(
    params: np.ndarray,
    ts: np.ndarray, loc_ts: np.ndarray, rec_lat: np.ndarray, kind: np.ndarray,
    price: np.ndarray, size: np.ndarray, side: np.ndarray, level_row: np.ndarray,
    interval_s: np.ndarray, bid_px: np.ndarray, bid_sz: np.ndarray, ask_px: np.ndarray,
    ask_sz: np.ndarray, cfg: np.ndarray, cfg_ns: np.ndarray,
    orders: np.ndarray, book: np.ndarray, acct: np.ndarray, counts: np.ndarray,
    fill_ts: np.ndarray, fills: np.ndarray, eq_ts: np.ndarray, eq: np.ndarray,
    mids: np.ndarray, vring_ts: np.ndarray, vring: np.ndarray, rring_ts: np.ndarray,
    rring: np.ndarray, state: np.ndarray, out: np.ndarray, ints: np.ndarray,
) -> None:
    """:func:`trader.sim.loop.run_loop` with ``strategy = glft_quote``."""
    loop_body(
        glft_quote, params,
        (ts, loc_ts, rec_lat, kind, price, size, side, level_row, interval_s,
         bid_px, bid_sz, ask_px, ask_sz),
        (cfg, cfg_ns, orders, book, acct, counts, fill_ts, fills, eq_ts, eq, mids,
         vring_ts, vring, rring_ts, rring, state, out, ints),
    )
