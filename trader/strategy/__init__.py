"""GLFT quoting: closed-form half-spreads and skew, widened and leaned, in one jitted kernel.

- :class:`StrategyParams`, :func:`from_quoting`: validated params, read from a param set's
  quoting block with conservative fallbacks; ``to_array()`` packs them (``P_*`` slots).
- :func:`glft_quote`: the allocation-free kernel ``(state, params, out) -> None`` shared by
  the backtest loop and the live trader.
- :func:`compute_quotes`, :class:`Quotes`, :func:`market_state_vector`: a readable front.
- :func:`glft_depths_reference`: the plain-Python closed form the kernel is tested against.
"""

from __future__ import annotations

from trader.strategy.glft import glft_quote, quote_depths
from trader.strategy.params import PARAMS_LEN, StrategyParams, from_quoting
from trader.strategy.quotes import Quotes, compute_quotes, market_state_vector
from trader.strategy.reference import glft_depths_reference

__all__ = [
    "PARAMS_LEN",
    "Quotes",
    "StrategyParams",
    "compute_quotes",
    "from_quoting",
    "glft_depths_reference",
    "glft_quote",
    "market_state_vector",
    "quote_depths",
]
