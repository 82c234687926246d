"""Order flow of the synthetic market: Hawkes arrivals, sizes, fill depths, informed flags.

Aggressive orders arrive as a bivariate (buy, sell) Hawkes process with exponential
kernels and an hour-of-day modulated baseline. It is simulated exactly through its
cluster representation (Hawkes & Oakes 1974): immigrants of type i form an inhomogeneous
Poisson process of rate mu_i s(h); each type-j order has Poisson(alpha_ij) type-i children
at Exp(beta_ij) lags. Each order then draws its total size and the depth its deepest print
reaches from a Gaussian copula, so both marginals are exactly the planted laws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from data_lake.sources.synthetic.config import (
    DepthLaw,
    HawkesParams,
    InformedParams,
    SizeLaw,
)

__all__ = [
    "HawkesExpectation",
    "OrderFlow",
    "depth_from_survival",
    "hawkes_expectation",
    "sample_orders",
    "simulate_hawkes",
    "size_from_survival",
]

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class OrderFlow:
    """One day of aggressive orders, sorted by time.

    times_s : seconds since the day's start (strictly increasing after ns rounding).
    side : +1 buy aggressor, -1 sell.
    size : total order size, base units (before lot rounding of its prints).
    depth_bps : planted depth of the deepest print from the mid, bps.
    informed : whether the order carries information.
    """

    times_s: np.ndarray
    side: np.ndarray
    size: np.ndarray
    depth_bps: np.ndarray
    informed: np.ndarray

    @property
    def n(self) -> int:
        return int(self.times_s.size)


@dataclass(frozen=True)
class HawkesExpectation:
    """Stationary rates and count moments of the modulated Hawkes process.

    rate_per_hour : (24, 2) stationary rate (buy, sell) per UTC hour, orders per second:
        (I - alpha)^(-1) mu s(h). It ignores the transient after each hour boundary,
        which decays at rate ~ beta (1 - branching) (seconds, against an hour).
    expected_counts : (2,) expected orders per ``duration_s``.
    count_cov : (2, 2) covariance of the counts, from the long-window Bartlett spectrum
        at zero: sum_h 3600 (I - alpha)^(-1) diag(rate_h) (I - alpha)^(-T).
    """

    rate_per_hour: np.ndarray
    expected_counts: np.ndarray
    count_cov: np.ndarray

    @property
    def expected_total(self) -> float:
        return float(self.expected_counts.sum())

    @property
    def total_sd(self) -> float:
        return float(np.sqrt(self.count_cov.sum()))

    @property
    def imbalance_var(self) -> float:
        """Var(N_buy - N_sell)."""
        c = np.array([1.0, -1.0])
        return float(c @ self.count_cov @ c)


def _hour_multipliers(hawkes: HawkesParams, duration_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Per started hour: the profile multiplier and the seconds of that hour inside the window."""
    n_hours = int(np.ceil(duration_s / SECONDS_PER_HOUR))
    hours = np.arange(n_hours)
    lengths = np.minimum(SECONDS_PER_HOUR, duration_s - hours * SECONDS_PER_HOUR)
    return hawkes.profile[hours % 24], lengths


def hawkes_expectation(hawkes: HawkesParams, duration_s: float = 86_400.0) -> HawkesExpectation:
    """Stationary rate per hour and the mean and covariance of the counts on a window.

    Parameters
    ----------
    hawkes : the planted process.
    duration_s : window length from midnight UTC, seconds.
    """
    inv = np.linalg.inv(np.eye(2) - hawkes.alpha_array)
    profile = hawkes.profile
    rate_per_hour = np.stack([inv @ (hawkes.mu_array * profile[h]) for h in range(24)])
    mult, lengths = _hour_multipliers(hawkes, duration_s)
    counts = np.zeros(2)
    cov = np.zeros((2, 2))
    for m, length in zip(mult, lengths, strict=True):
        rate = inv @ (hawkes.mu_array * m)
        counts += rate * length
        cov += length * inv @ np.diag(rate) @ inv.T
    return HawkesExpectation(rate_per_hour=rate_per_hour, expected_counts=counts, count_cov=cov)


def simulate_hawkes(
    rng: np.random.Generator, hawkes: HawkesParams, duration_s: float = 86_400.0
) -> tuple[np.ndarray, np.ndarray]:
    """Exact cluster simulation of the modulated bivariate Hawkes process on [0, duration_s).

    The day starts from an empty history (no orders before midnight excite the day).

    Returns
    -------
    times_s, kind : float64 seconds since the start, sorted; int8 0 = buy, 1 = sell.
    """
    mu = hawkes.mu_array
    alpha = hawkes.alpha_array
    beta = hawkes.beta_array
    mult, lengths = _hour_multipliers(hawkes, duration_s)
    starts = np.arange(mult.size) * SECONDS_PER_HOUR
    gen_t: list[np.ndarray] = []
    gen_k: list[np.ndarray] = []
    for i in range(2):
        counts = rng.poisson(mu[i] * mult * lengths)
        hour_of = np.repeat(np.arange(mult.size), counts)
        gen_t.append(starts[hour_of] + rng.random(hour_of.size) * lengths[hour_of])
        gen_k.append(np.full(hour_of.size, i, dtype=np.int8))
    parents_t = np.concatenate(gen_t)
    parents_k = np.concatenate(gen_k)
    all_t, all_k = [parents_t], [parents_k]
    while parents_t.size:
        child_t: list[np.ndarray] = []
        child_k: list[np.ndarray] = []
        for i in range(2):
            n_children = rng.poisson(alpha[i, parents_k])
            parent_idx = np.repeat(np.arange(parents_t.size), n_children)
            lag = rng.exponential(1.0, parent_idx.size) / beta[i, parents_k[parent_idx]]
            t = parents_t[parent_idx] + lag
            keep = t < duration_s
            child_t.append(t[keep])
            child_k.append(np.full(int(keep.sum()), i, dtype=np.int8))
        parents_t = np.concatenate(child_t)
        parents_k = np.concatenate(child_k)
        all_t.append(parents_t)
        all_k.append(parents_k)
    times = np.concatenate(all_t)
    kind = np.concatenate(all_k)
    order = np.lexsort((kind, times))
    return times[order], kind[order]


def depth_from_survival(law: DepthLaw, survival: np.ndarray) -> np.ndarray:
    """Depth (bps) whose survival probability is ``survival`` (accurate in the far tail)."""
    sf = np.asarray(survival, dtype=np.float64)
    if law.kind == "exponential":
        assert law.kappa is not None
        return -np.log(sf) / law.kappa
    assert law.alpha is not None and law.xmin_bps is not None
    return law.xmin_bps * sf ** (-1.0 / (law.alpha - 1.0))


def size_from_survival(law: SizeLaw, survival: np.ndarray) -> np.ndarray:
    """Order size (base units) whose survival probability is ``survival``."""
    sf = np.asarray(survival, dtype=np.float64)
    if law.kind == "pareto":
        return law.scale * sf ** (-1.0 / law.shape)
    return law.scale * np.exp(-law.shape * ndtri(sf))


def sample_orders(
    rng: np.random.Generator,
    times_s: np.ndarray,
    kind: np.ndarray,
    *,
    sizes: SizeLaw,
    depth: DepthLaw,
    size_depth_corr: float,
    informed: InformedParams,
) -> OrderFlow:
    """Attach size, depth and an informed flag to each order.

    Size and depth come from a Gaussian copula with correlation ``size_depth_corr``
    (bigger orders walk deeper); the informed flag is an independent Bernoulli.
    """
    n = times_s.size
    z_depth = rng.standard_normal(n)
    z_other = rng.standard_normal(n)
    z_size = size_depth_corr * z_depth + np.sqrt(1.0 - size_depth_corr**2) * z_other
    # Survival = Phi(-z): exact in the upper tail, where 1 - Phi(z) would round to 0.
    depth_bps = depth_from_survival(depth, ndtr(-z_depth))
    size = size_from_survival(sizes, ndtr(-z_size))
    flags = rng.random(n) < informed.fraction
    side = np.where(kind == 0, 1, -1).astype(np.int8)
    return OrderFlow(times_s=times_s, side=side, size=size, depth_bps=depth_bps, informed=flags)
