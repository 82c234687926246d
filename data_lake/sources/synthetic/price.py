"""The synthetic mid price: Heston diffusion, jumps, informed drift, imbalance signal, ticks.

The efficient log price on a grid of ``step_s`` steps is

    log X_k = log X_0 + sum_{i < k} (d_i + J_i + F_i) + S_k * 1e-4

with d the Heston full-truncation Euler increments (Lord, Koekkoek & van Dijk 2010),
J compound-Poisson jumps, F the informed-flow ramps (permanent) and S the transient
imbalance signal (bps, mean-reverting). Step k's value holds on [k dt, (k+1) dt).
The quoted best bid is X rounded to the tick grid so that the mid stays within half a
tick of X; the book is never crossed because the spread is a fixed number of ticks.
"""

from __future__ import annotations

import zlib

import numba
import numpy as np

from data_lake.sources.synthetic.config import (
    SECONDS_PER_YEAR,
    HestonParams,
    InformedParams,
    JumpParams,
    MarketConfig,
)

__all__ = [
    "correlated_driver",
    "exclusive_cumsum",
    "heston_euler",
    "informed_increments",
    "quote_bid_ticks",
    "signal_level_bps",
    "simulate_heston",
    "simulate_jumps",
    "stream_rng",
]


def stream_rng(seed: int, symbol: str, day_ordinal: int, stream: str) -> np.random.Generator:
    """An independent, reproducible Generator per (seed, symbol, day, stream).

    Symbol and stream names enter through CRC-32, stable across processes (unlike hash()).
    """
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    entropy = [
        int(seed),
        zlib.crc32(symbol.encode()),
        int(day_ordinal),
        zlib.crc32(stream.encode()),
    ]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def correlated_driver(
    market: MarketConfig, symbol: str, seed: int, day_ordinal: int, n_steps: int
) -> np.ndarray:
    """Standard normal price shocks of ``symbol``, correlated across the market's symbols.

    Symbol i's shocks are sum_{j <= i} L_ij eps_j, eps_j drawn from symbol j's own stream, so
    the result does not depend on which other symbols are being generated.
    """
    idx = market.index(symbol)
    chol = market.cholesky()
    z = np.zeros(n_steps)
    for j in range(idx + 1):
        eps = stream_rng(seed, market.names[j], day_ordinal, "diffusion").standard_normal(n_steps)
        z += chol[idx, j] * eps
    return z


@numba.njit(cache=True)
def heston_euler(
    zx: np.ndarray, zv: np.ndarray, v0: float, kappa: float, theta: float, xi: float, dt: float
) -> tuple[np.ndarray, np.ndarray, float]:  # pragma: no cover - jitted; reference is py_func
    """Full-truncation Euler of (log price, variance); dt in years.

    Returns the log-price increment of each step, the (truncated) variance used in it,
    and the variance after the last step.
    """
    n = zx.size
    incr = np.empty(n)
    var = np.empty(n)
    v = v0
    sq = np.sqrt(dt)
    for k in range(n):
        vp = v if v > 0.0 else 0.0
        var[k] = vp
        s = np.sqrt(vp)
        incr[k] = -0.5 * vp * dt + s * sq * zx[k]
        v = v + kappa * (theta - vp) * dt + xi * s * sq * zv[k]
    return incr, var, v


def simulate_heston(
    zx: np.ndarray,
    rng: np.random.Generator,
    heston: HestonParams,
    v0: float,
    step_s: float,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Heston log increments driven by ``zx``; the variance shock is rho zx + sqrt(1-rho^2) z.

    Returns (log increments, annualised variance per step, variance at the end).
    """
    z_perp = rng.standard_normal(zx.size)
    zv = heston.rho * zx + np.sqrt(1.0 - heston.rho**2) * z_perp
    dt_years = step_s / SECONDS_PER_YEAR
    incr, var, v_end = heston_euler(
        zx, zv, float(v0), heston.kappa, heston.theta, heston.xi, dt_years
    )
    return incr, var, float(v_end)


def simulate_jumps(
    rng: np.random.Generator, jumps: JumpParams, n_steps: int, step_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compound-Poisson jumps with double-exponential sizes.

    Returns (log increment per step, jump times in seconds, jump sizes in bps).
    """
    duration_s = n_steps * step_s
    n = int(rng.poisson(jumps.rate_per_day * duration_s / 86_400.0))
    times = np.sort(rng.random(n) * duration_s)
    up = rng.random(n) < jumps.up_prob
    magnitude = rng.exponential(1.0, n)
    sizes_bps = np.where(up, magnitude * jumps.up_mean_bps, -magnitude * jumps.down_mean_bps)
    incr = np.zeros(n_steps)
    steps = np.minimum((times / step_s).astype(np.int64), n_steps - 1)
    np.add.at(incr, steps, sizes_bps * 1e-4)
    return incr, times, sizes_bps


def informed_increments(
    order_step: np.ndarray,
    side: np.ndarray,
    informed: np.ndarray,
    params: InformedParams,
    n_steps: int,
    step_s: float,
) -> np.ndarray:
    """Log increments of the informed ramps: m bps spread evenly over the next horizon.

    An informed order in step k moves the price of steps k+1 .. k+n by m j / n (j = 1..n,
    n = horizon_s / step_s), so the markout at h = j step_s is exactly m min(h, tau) / tau.
    Ramps that run past the end of the day are cut there.
    """
    n_ramp = max(1, round(params.horizon_s / step_s))
    per_step = params.markout_bps * 1e-4 / n_ramp
    k0 = order_step[informed]
    signed = side[informed].astype(np.float64) * per_step
    diff = np.zeros(n_steps + n_ramp + 1)
    np.add.at(diff, k0, signed)
    np.add.at(diff, k0 + n_ramp, -signed)
    return np.cumsum(diff)[:n_steps]


@numba.njit(cache=True)
def _signal_level(
    pulses_bps: np.ndarray, steps_per_snapshot: int, n_rise: int, phi: float, n_steps: int
) -> np.ndarray:  # pragma: no cover - jitted; reference is py_func
    level = np.empty(n_steps)
    done = 0.0
    for k in range(n_steps):
        done *= phi
        k0 = k - n_rise
        if k0 >= 0 and k0 % steps_per_snapshot == 0:
            done += pulses_bps[k0 // steps_per_snapshot]
        rising = 0.0
        for j in range(1, n_rise):
            k1 = k - j
            if k1 >= 0 and k1 % steps_per_snapshot == 0:
                rising += pulses_bps[k1 // steps_per_snapshot] * j / n_rise
        level[k] = done + rising
    return level


def signal_level_bps(
    imbalance: np.ndarray,
    coef_bps: float,
    steps_per_snapshot: int,
    horizon_steps: int,
    decay_steps: float,
    n_steps: int,
) -> np.ndarray:
    """The transient price component (bps) driven by each snapshot's top-1 imbalance.

    The snapshot at step k adds a pulse b I_k that rises linearly over the next
    ``horizon_steps`` steps (so E[move over the horizon | I_k] = b I_k, the other pulses
    being independent of I_k) and then decays by exp(-1 / decay_steps) per step.
    """
    phi = float(np.exp(-1.0 / decay_steps)) if decay_steps > 0 else 0.0
    pulses = np.ascontiguousarray(coef_bps * imbalance, dtype=np.float64)
    return _signal_level(pulses, int(steps_per_snapshot), int(horizon_steps), phi, int(n_steps))


def exclusive_cumsum(incr: np.ndarray) -> np.ndarray:
    """out[k] = sum_{i < k} incr[i] (the level at step k before step k's move)."""
    out = np.empty_like(incr)
    out[0] = 0.0
    np.cumsum(incr[:-1], out=out[1:])
    return out


def quote_bid_ticks(price: np.ndarray, tick_size: float, spread_ticks: int) -> np.ndarray:
    """Best bid in ticks, placed so that the mid (bid + spread/2) is within half a tick of price."""
    return np.floor(price / tick_size - spread_ticks / 2.0 + 0.5).astype(np.int64)
