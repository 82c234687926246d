"""The GLFT quote kernel: one allocation-free jitted function of (state, params) -> quotes.

The numba backtest loop and the live trader both call :func:`glft_quote` on every
requote, so a backtest quotes exactly as the trader would.

Closed form (Guéant, Lehalle and Fernandez-Tapia 2013, the asymptotic approximation of
section 5 with a unit order size; depths in bps of mid from the centre, ``q = inventory /
order_size``), with each side's own ``(A, kappa, sigma)``::

    c1 = (1/gamma) ln(1 + gamma/kappa)
    c2 = sqrt( gamma / (2 A kappa) * (1 + gamma/kappa) ** (1 + kappa/gamma) )
    bid depth = c1 + (2q + 1)/2 * sigma * c2
    ask depth = c1 - (2q - 1)/2 * sigma * c2

so each side's half-spread at ``q = 0`` is ``h = c1 + sigma c2 / 2`` and inventory skews
both sides by ``q sigma c2`` (a long quotes a deeper bid and a shallower ask).

Then, in order (each documented where it is applied): the fat-tail and live scaling of
sigma, Hawkes widening on the side being hit, jump-regime widening, funding-carry lean,
the adverse-selection add-on at the quoted depth, the clamps, inventory limits, and
rounding away from the centre.

Defence: a NaN, infinite or out-of-domain model parameter or live input sends the
affected side(s) to the max clamp; an unusable mid, inventory, size or clamp switches
both sides off (price NaN, size 0). The result is never NaN with a size, never negative
and never crossed.

References
----------
Guéant, O., Lehalle, C.-A. and Fernandez-Tapia, J. (2013). Dealing with the inventory
risk: a solution to the market making problem. Mathematics and Financial Economics 7(4).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from trader.market_state import (
    OUT_ASK_PX,
    OUT_ASK_SZ,
    OUT_BID_PX,
    OUT_BID_SZ,
    S_BEST_ASK,
    S_BEST_BID,
    S_FAIR_PX,
    S_FUNDING_PER_HOUR,
    S_HAWKES_BUY_RATIO,
    S_HAWKES_SELL_RATIO,
    S_INVENTORY,
    S_JUMP_REGIME,
    S_MID,
    S_SIGMA_SCALE,
    S_VPIN_SCALE_ASK,
    S_VPIN_SCALE_BID,
)
from trader.strategy.params import (
    AS_CURVE_POINTS,
    MAX_HALF_SPREAD_LIMIT_BPS,
    P_A_ASK,
    P_A_BID,
    P_AS_ADDON_0,
    P_AS_DEPTH_0,
    P_CARRY_HORIZON_S,
    P_FUNDING_PER_HOUR,
    P_FUNDING_UNCERTAINTY_PER_HOUR,
    P_GAMMA,
    P_HAWKES_MIN_RATIO,
    P_HAWKES_TOXICITY_BPS,
    P_HAWKES_WIDENING,
    P_JUMP_WIDENING,
    P_KAPPA_ASK,
    P_KAPPA_BID,
    P_LOT_SIZE,
    P_MAX_HALF_SPREAD_BPS,
    P_MAX_POSITION,
    P_MIN_HALF_SPREAD_BPS,
    P_ORDER_SIZE,
    P_SIGMA_ASK,
    P_SIGMA_BID,
    P_STUDENT_T_DF,
    P_TICK_SIZE,
    P_USE_MICROPRICE,
)

__all__ = [
    "FAT_TAIL_MAX_FACTOR",
    "ROUNDING_SLACK",
    "addon_at_depth_bps",
    "fat_tail_factor",
    "glft_core_bps",
    "glft_quote",
    "quote_depths",
]

FAT_TAIL_MAX_FACTOR = 3.0
"""Largest sigma multiplier for fat tails, reached at ``df = 2.25`` and used for ``df <= 2``."""
_FAT_TAIL_DF_AT_CAP = 2.0 * FAT_TAIL_MAX_FACTOR**2 / (FAT_TAIL_MAX_FACTOR**2 - 1.0)
ROUNDING_SLACK = 1e-9
"""Fraction of a tick (or lot) under which a price (size) already counts as on the grid.

Without it ``0.3 / 0.1 = 2.9999999999999996`` would round a price already on the tick a
whole tick further; the cost is that rounding may land up to 1e-9 tick inside the raw
price, far below any venue's resolution.
"""
_SMALL_GAMMA_OVER_KAPPA = 1e-12
_BPS = 1e-4
_SECONDS_PER_HOUR = 3600.0


@njit(cache=True, inline="always")
def glft_core_bps(gamma: float, kappa: float, a: float) -> tuple[float, float]:
    """The closed form's ``(c1, c2)`` for one side: depth ``c1``, inventory slope ``c2``.

    Parameters
    ----------
    gamma : float
        Risk aversion per bps per order size, >= 0.
    kappa : float
        Fill-intensity decay, per bps, > 0.
    a : float
        Fill intensity at zero depth, fills per second, > 0.

    Returns
    -------
    tuple of float
        ``c1`` in bps and ``c2`` in sqrt(s) (so ``sigma * c2`` is in bps).

    Notes
    -----
    As ``gamma/kappa -> 0``, ``c1 -> 1/kappa`` and ``(1 + r)^(1 + 1/r) -> e``; below
    ``r = 1e-12`` the first-order series is used, because ``1/r`` overflows for denormal
    ``r`` and the exact form loses nothing measurable there.
    """
    r = gamma / kappa
    if r < _SMALL_GAMMA_OVER_KAPPA:
        c1 = (1.0 - 0.5 * r) / kappa
        power = math.e * (1.0 - 0.5 * r)
    else:
        log_term = math.log1p(r)
        c1 = log_term / gamma
        power = math.exp((1.0 + 1.0 / r) * log_term)
    c2 = math.sqrt(gamma / (2.0 * a * kappa) * power)
    return c1, c2


@njit(cache=True, inline="always")
def fat_tail_factor(student_t_df: float) -> float:
    """Multiplier of sigma for Student-t returns with ``student_t_df`` degrees of freedom.

    The closed form sees returns only through their variance (the inventory penalty
    ``gamma sigma^2 q^2 / 2`` of the HJB), so a Student-t law is matched by its variance:
    sigma is read as the law's scale and multiplied by ``sqrt(df / (df - 2))``, its
    standard deviation over its scale. That factor is >= 1 (fat tails never narrow) and
    grows without bound as ``df -> 2``, so it is capped at :data:`FAT_TAIL_MAX_FACTOR`
    (reached at ``df = 2.25``); ``df <= 2`` (infinite variance) takes the cap. ``inf``
    is Gaussian (factor 1). NaN or ``df <= 0`` returns NaN: the caller widens to the clamp.
    """
    if not student_t_df > 0.0:
        return math.nan
    if math.isinf(student_t_df):
        return 1.0
    if student_t_df <= _FAT_TAIL_DF_AT_CAP:
        return FAT_TAIL_MAX_FACTOR
    return min(math.sqrt(student_t_df / (student_t_df - 2.0)), FAT_TAIL_MAX_FACTOR)


@njit(cache=True, inline="always")
def addon_at_depth_bps(params: np.ndarray, depth_bps: float) -> float:
    """The adverse-selection add-on at ``depth_bps``, interpolated on the params' curve.

    Linear between the curve's points, flat beyond its ends. NaN when the curve is
    unusable (no point, a non-finite or negative value, depths not increasing).
    """
    n = 0
    for i in range(AS_CURVE_POINTS):
        if math.isnan(params[P_AS_DEPTH_0 + i]):
            break
        n += 1
    if n == 0:
        return math.nan
    previous = -math.inf
    for i in range(n):
        depth = params[P_AS_DEPTH_0 + i]
        addon = params[P_AS_ADDON_0 + i]
        if not (math.isfinite(depth) and depth >= 0.0 and depth > previous):
            return math.nan
        if not (math.isfinite(addon) and addon >= 0.0):
            return math.nan
        previous = depth
    if not depth_bps > params[P_AS_DEPTH_0]:
        return params[P_AS_ADDON_0]
    for i in range(1, n):
        right = params[P_AS_DEPTH_0 + i]
        if depth_bps <= right:
            left = params[P_AS_DEPTH_0 + i - 1]
            w = (depth_bps - left) / (right - left)
            return (1.0 - w) * params[P_AS_ADDON_0 + i - 1] + w * params[P_AS_ADDON_0 + i]
    return params[P_AS_ADDON_0 + n - 1]


@njit(cache=True, inline="always")
def _positive(x: float) -> bool:
    return math.isfinite(x) and x > 0.0


@njit(cache=True, inline="always")
def _excess_intensity(ratio: float, floor: float) -> float:
    # NaN means "unknown" in the state contract (read as calm); a ratio under 1 never
    # narrows: widening reacts to bursts only.
    if math.isnan(ratio):
        ratio = 1.0
    return max(ratio, floor) - 1.0


@njit(cache=True, inline="always")
def _burst_widening(excess: float, half: float, toxicity_bps: float, fraction: float) -> float:
    """Extra depth in a burst, bps: the calibrated toxicity per unit excess intensity, or
    (not calibrated) ``fraction`` of the half-spread per unit excess."""
    if toxicity_bps == toxicity_bps:
        return toxicity_bps * excess
    return fraction * excess * half


@njit(cache=True, inline="always")
def _clamp_depth(depth: float, usable: bool, low: float, high: float) -> float:
    if not usable or not math.isfinite(depth):
        return high
    return min(max(depth, low), high)


@njit(cache=True, inline="always")
def quote_depths(state: np.ndarray, params: np.ndarray) -> tuple[float, float, float, float]:
    """Centre, reference mid and the clamped bid and ask depths before rounding.

    Parameters
    ----------
    state : float64 array
        Market-state vector (``trader.market_state`` slots).
    params : float64 array
        Packed strategy params (``trader.strategy.params`` slots).

    Returns
    -------
    tuple of float
        ``(centre_px, mid_px, bid_depth_bps, ask_depth_bps)``; prices in quote currency,
        depths in bps of ``mid_px`` from ``centre_px``, each in ``[min, max]`` half-spread.
        ``centre_px`` is NaN when nothing can be quoted (no usable mid, inventory, size
        or clamps).
    """
    nan = math.nan
    best_bid, best_ask = state[S_BEST_BID], state[S_BEST_ASK]
    book_ok = _positive(best_bid) and _positive(best_ask) and best_bid < best_ask
    mid = state[S_MID]
    if not _positive(mid):
        if not book_ok:
            return nan, nan, nan, nan
        mid = 0.5 * (best_bid + best_ask)
    order_size, max_position = params[P_ORDER_SIZE], params[P_MAX_POSITION]
    low, high = params[P_MIN_HALF_SPREAD_BPS], params[P_MAX_HALF_SPREAD_BPS]
    inventory = state[S_INVENTORY]
    if not (
        _positive(order_size)
        and _positive(max_position)
        and _positive(low)
        and _positive(high)
        and low <= high <= MAX_HALF_SPREAD_LIMIT_BPS
        and math.isfinite(inventory)
    ):
        return nan, nan, nan, nan

    centre = mid
    if params[P_USE_MICROPRICE] > 0.5:
        fair = state[S_FAIR_PX]
        if _positive(fair):
            # A micro-price outside the touch is a model fault, not information.
            centre = min(max(fair, best_bid), best_ask) if book_ok else fair

    gamma = params[P_GAMMA]
    tail = fat_tail_factor(params[P_STUDENT_T_DF])
    sigma_scale = state[S_SIGMA_SCALE]
    # Live VPIN's re-weighted sigma blend per side; unknown reads as the published blend.
    vpin_bid = state[S_VPIN_SCALE_BID]
    vpin_ask = state[S_VPIN_SCALE_ASK]
    if not _positive(vpin_bid):
        vpin_bid = 1.0
    if not _positive(vpin_ask):
        vpin_ask = 1.0
    hawkes_widening = params[P_HAWKES_WIDENING]
    hawkes_floor = params[P_HAWKES_MIN_RATIO]
    toxicity = params[P_HAWKES_TOXICITY_BPS]
    if not toxicity >= 0.0:  # NaN: not calibrated, the setting widens instead
        toxicity = math.nan
    jump_widening = params[P_JUMP_WIDENING]
    horizon_h = params[P_CARRY_HORIZON_S] / _SECONDS_PER_HOUR
    funding = state[S_FUNDING_PER_HOUR]
    funding_uncertainty = 0.0
    if math.isnan(funding):
        # No live rate: lean on the calibrated one, widened by its uncertainty if unusable.
        funding = params[P_FUNDING_PER_HOUR]
        funding_uncertainty = params[P_FUNDING_UNCERTAINTY_PER_HOUR]
    shared_ok = (
        math.isfinite(gamma)
        and gamma >= 0.0
        and math.isfinite(tail)
        and _positive(sigma_scale)
        and math.isfinite(hawkes_widening)
        and hawkes_widening >= 0.0
        and math.isfinite(hawkes_floor)
        and hawkes_floor >= 1.0
        and math.isfinite(jump_widening)
        and jump_widening >= 1.0
        and math.isfinite(horizon_h)
        and horizon_h >= 0.0
        and math.isfinite(funding)
        and math.isfinite(funding_uncertainty)
        and funding_uncertainty >= 0.0
    )
    kappa_b, a_b, sigma_b = params[P_KAPPA_BID], params[P_A_BID], params[P_SIGMA_BID]
    kappa_a, a_a, sigma_a = params[P_KAPPA_ASK], params[P_A_ASK], params[P_SIGMA_ASK]
    bid_ok = shared_ok and _positive(kappa_b) and _positive(a_b) and _positive(sigma_b)
    ask_ok = shared_ok and _positive(kappa_a) and _positive(a_a) and _positive(sigma_a)
    if not (bid_ok or ask_ok):
        return centre, mid, high, high

    # Past the limit the closed form has no meaning; the size rule below stops the side.
    q_limit = max_position / order_size
    q = min(max(inventory / order_size, -q_limit), q_limit)

    bid_depth = high
    ask_depth = high
    if bid_ok:
        c1, c2 = glft_core_bps(gamma, kappa_b, a_b)
        # Fat tails and the live vol regime scale the same variance the closed form prices.
        slope = sigma_b * tail * sigma_scale * vpin_bid * c2
        half = c1 + 0.5 * slope
        bid_depth = half + q * slope
        # Sellers hitting our bid in a burst are the flow the Hawkes fit says clusters and
        # moves the price after it: step back by what a fill then costs (the calibrated
        # burst toxicity per unit excess), or by a share of the half-spread.
        excess = _excess_intensity(state[S_HAWKES_SELL_RATIO], hawkes_floor)
        bid_depth += _burst_widening(excess, half, toxicity, hawkes_widening)
        if state[S_JUMP_REGIME] != 0.0:  # NaN counts as a jump: unknown is not calm
            bid_depth += (jump_widening - 1.0) * half
    if ask_ok:
        c1, c2 = glft_core_bps(gamma, kappa_a, a_a)
        slope = sigma_a * tail * sigma_scale * vpin_ask * c2
        half = c1 + 0.5 * slope
        ask_depth = half - q * slope
        excess = _excess_intensity(state[S_HAWKES_BUY_RATIO], hawkes_floor)
        ask_depth += _burst_widening(excess, half, toxicity, hawkes_widening)
        if state[S_JUMP_REGIME] != 0.0:
            ask_depth += (jump_widening - 1.0) * half

    # Funding over the expected holding time is a drift against the payer: positive funding
    # (longs pay) moves the centre down so we buy less eagerly and sell more eagerly. An
    # unknown rate cannot lean either way, so it widens both sides by its bound instead.
    lean_bps = funding * horizon_h / _BPS
    unsure_bps = funding_uncertainty * horizon_h / _BPS
    bid_depth += lean_bps + unsure_bps
    ask_depth += unsure_bps - lean_bps

    # Fills at a depth carry the adverse selection measured at that depth (markouts).
    if bid_ok:
        bid_depth += addon_at_depth_bps(params, bid_depth)
    if ask_ok:
        ask_depth += addon_at_depth_bps(params, ask_depth)

    bid_depth = _clamp_depth(bid_depth, bid_ok, low, high)
    ask_depth = _clamp_depth(ask_depth, ask_ok, low, high)
    return centre, mid, bid_depth, ask_depth


@njit(cache=True, inline="always")
def _round_down(x: float, step: float) -> float:
    return math.floor(x / step + ROUNDING_SLACK) * step


@njit(cache=True, inline="always")
def _round_up(x: float, step: float) -> float:
    return math.ceil(x / step - ROUNDING_SLACK) * step


@njit(cache=True, inline="always")
def _size_within(room: float, order_size: float, lot: float) -> float:
    """The order size cut to what keeps |inventory| within the limit, down to the lot."""
    size = min(order_size, room)
    if not size > 0.0:
        return 0.0
    return _round_down(size, lot)


@njit(cache=True)
def glft_quote(state: np.ndarray, params: np.ndarray, out: np.ndarray) -> None:
    """Write the wanted bid and ask into ``out`` (``trader.market_state`` OUT_* slots).

    Parameters
    ----------
    state : float64 array of length STATE_LEN
        Market state (mid, touch, fair price, inventory, live Hawkes ratios, jump regime,
        funding, sigma scale).
    params : float64 array of length PARAMS_LEN
        :meth:`~trader.strategy.params.StrategyParams.to_array`.
    out : float64 array of length QUOTE_LEN
        Overwritten: prices in quote currency, sizes in base units; a side that is off has
        size 0 and price NaN.

    Notes
    -----
    The bid is rounded down and the ask up to the tick (rounding never narrows), sizes
    down to the lot. A side whose full order would take |inventory| past the max
    position is cut to what fits, and is off when less than a lot fits. Allocates nothing.
    """
    out[OUT_BID_PX] = math.nan
    out[OUT_BID_SZ] = 0.0
    out[OUT_ASK_PX] = math.nan
    out[OUT_ASK_SZ] = 0.0
    centre, mid, bid_depth, ask_depth = quote_depths(state, params)
    tick, lot = params[P_TICK_SIZE], params[P_LOT_SIZE]
    if math.isnan(centre) or not (_positive(tick) and _positive(lot)):
        return
    bid_px = _round_down(centre - bid_depth * _BPS * mid, tick)
    ask_px = _round_up(centre + ask_depth * _BPS * mid, tick)
    if not bid_px < ask_px:  # only reachable through the rounding slack on a huge tick
        bid_px = ask_px - tick
    inventory, order_size = state[S_INVENTORY], params[P_ORDER_SIZE]
    max_position = params[P_MAX_POSITION]
    bid_sz = _size_within(max_position - inventory, order_size, lot)
    ask_sz = _size_within(max_position + inventory, order_size, lot)
    if bid_sz > 0.0 and _positive(bid_px):
        out[OUT_BID_PX] = bid_px
        out[OUT_BID_SZ] = bid_sz
    if ask_sz > 0.0 and _positive(ask_px):
        out[OUT_ASK_PX] = ask_px
        out[OUT_ASK_SZ] = ask_sz
