"""The backtest loop specialised to the GLFT kernel, cached on disk.

:func:`trader.sim.loop.run_loop` takes the strategy as a first-class function, which
numba cannot cache across processes (see the note above it), so every process paid its
compilation (about 6 s) before the first GLFT backtest. This wrapper names the kernel
as a global in an inlined copy of the loop body: no function pointer, a signature of
arrays and tuples of arrays only, so its compiled code is cached like any other kernel's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from trader.sim.loop import loop_body
from trader.strategy.glft import glft_quote

__all__ = ["run_loop_glft"]


@njit(nogil=True, cache=True)
def run_loop_glft(params: np.ndarray, events: Any, sim: Any) -> None:
    """:func:`trader.sim.loop.run_loop` with ``strategy = glft_quote``."""
    loop_body(glft_quote, params, events, sim)
