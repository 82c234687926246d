"""Synthetic funding: an Ornstein-Uhlenbeck rate sampled exactly at each funding interval.

r_{n+1} = theta + (r_n - theta) e^(-kappa dt) + sigma sqrt((1 - e^(-2 kappa dt)) / (2 kappa)) eps,
dt = interval_s seconds, so the sampled series is an AR(1) with coefficient e^(-kappa dt),
mean theta and stationary sd sigma / sqrt(2 kappa), whatever the interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_lake.sources.synthetic.config import FundingParams

__all__ = ["FundingDay", "simulate_funding"]


@dataclass(frozen=True)
class FundingDay:
    """One day of funding prints.

    offsets_s : seconds after midnight of each print (0, interval_s, ...).
    rate : funding rate per interval (fraction) published at each print.
    rate_end : the OU state carried into the next day.
    """

    offsets_s: np.ndarray
    rate: np.ndarray
    rate_end: float


def simulate_funding(
    rng: np.random.Generator,
    params: FundingParams,
    rate_start: float,
    duration_s: float = 86_400.0,
) -> FundingDay:
    """Funding prints at 0, interval_s, ... < duration_s; the first print is ``rate_start``
    moved one interval forward (the previous day's last state is one interval earlier)."""
    n = int(np.ceil(duration_s / params.interval_s))
    phi = np.exp(-params.kappa_per_s * params.interval_s)
    step_sd = params.sigma_per_sqrt_s * np.sqrt(
        -np.expm1(-2.0 * params.kappa_per_s * params.interval_s) / (2.0 * params.kappa_per_s)
    )
    eps = rng.standard_normal(n)
    rate = np.empty(n)
    r = rate_start
    for i in range(n):
        r = params.theta + (r - params.theta) * phi + step_sd * eps[i]
        rate[i] = r
    offsets = np.arange(n, dtype=np.float64) * params.interval_s
    return FundingDay(offsets_s=offsets, rate=rate, rate_end=float(r))
