"""Test-side simulators for Hawkes fits: exact cluster simulation and misspecified samples."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from calibration.types import Float64Array, Int64Array

__all__ = [
    "simulate_gamma_renewal",
    "simulate_hawkes_exp",
    "simulate_regime_switching_poisson",
]


def simulate_hawkes_exp(
    mu: npt.ArrayLike,
    alpha: npt.ArrayLike,
    beta: npt.ArrayLike,
    T: float,
    seed: int,
    baseline_edges: npt.ArrayLike | None = None,
) -> tuple[Float64Array, Int64Array]:
    """Exact simulation of an exponential(-sum) kernel Hawkes process on ``[0, T]``, empty history.

    Uses the cluster (branching) representation: immigrants of type ``j`` arrive as a
    Poisson process of rate ``mu_j``; every type-``j`` event has Poisson(``alpha_ij``)
    type-``i`` children at Exp(``beta_ij``) lags (per term, for a sum of exponentials);
    children after ``T`` are dropped. With no events before 0 this is exactly the law the
    likelihood conditions on.

    Parameters
    ----------
    mu : array (d,), (d, B) or float
        Baseline intensities, events per second; ``(d, B)``: piecewise constant on the
        bins of ``baseline_edges``.
    alpha : array (d, d), (d, d, U) or float
        Branching matrix, ``alpha[i, j]`` = mean number of type-i children of a type-j event;
        with a last axis of ``U`` terms, the amplitudes of a sum-of-exponentials kernel.
    beta : array (d, d), (d, d, U) or float
        Kernel decays, 1/s (one per term).
    T : float
        Window length, seconds.
    seed : int
        Seed of the numpy Generator.
    baseline_edges : array (B + 1,) or None
        Bin edges (s) from 0 to ``T`` of a piecewise-constant baseline.

    Returns
    -------
    times, marks : Float64Array, Int64Array
        Sorted event times (s) and their component ids.
    """
    rng = np.random.default_rng(seed)
    mu_v = np.atleast_1d(np.asarray(mu, dtype=np.float64))
    d = mu_v.shape[0]
    base = mu_v.reshape(d, -1)
    edges = np.array([0.0, T]) if baseline_edges is None else np.asarray(baseline_edges, float)
    alpha_a = np.asarray(alpha, dtype=np.float64)
    beta_a = np.asarray(beta, dtype=np.float64)
    if alpha_a.ndim < 3:  # exponential kernel: one term
        alpha_a, beta_a = alpha_a[..., None], beta_a[..., None]
    n_terms = max(alpha_a.shape[-1], beta_a.shape[-1])
    alpha_m = np.broadcast_to(alpha_a, (d, d, n_terms))
    beta_m = np.broadcast_to(beta_a, (d, d, n_terms))
    gen_t: list[Float64Array] = []
    gen_m: list[Int64Array] = []
    for j in range(d):
        for b in range(base.shape[1]):
            n = rng.poisson(base[j, b] * (edges[b + 1] - edges[b]))
            gen_t.append(rng.uniform(edges[b], edges[b + 1], size=n))
            gen_m.append(np.full(n, j, dtype=np.int64))
    parents_t = np.concatenate(gen_t)
    parents_m = np.concatenate(gen_m)
    all_t = [parents_t]
    all_m = [parents_m]
    while parents_t.size:
        kids_t: list[Float64Array] = []
        kids_m: list[Int64Array] = []
        for j in range(d):
            src = parents_t[parents_m == j]
            for i in range(d):
                for u in range(n_terms):
                    counts = rng.poisson(alpha_m[i, j, u], size=src.size)
                    lags = rng.exponential(1.0 / beta_m[i, j, u], counts.sum())
                    t = np.repeat(src, counts) + lags
                    t = t[t < T]
                    kids_t.append(t)
                    kids_m.append(np.full(t.size, i, dtype=np.int64))
        parents_t = np.concatenate(kids_t)
        parents_m = np.concatenate(kids_m)
        all_t.append(parents_t)
        all_m.append(parents_m)
    times = np.concatenate(all_t)
    marks = np.concatenate(all_m)
    order = np.argsort(times, kind="stable")
    return times[order], marks[order]


def simulate_regime_switching_poisson(
    rates: tuple[float, float], mean_regime_s: float, T: float, seed: int
) -> Float64Array:
    """Univariate Poisson process whose rate switches between two levels (not Hawkes).

    Regime durations are Exp(``mean_regime_s``); within a regime arrivals are Poisson with
    that regime's rate (events per second). Used as a misspecified sample for residual tests.
    """
    rng = np.random.default_rng(seed)
    chunks: list[Float64Array] = []
    t0 = 0.0
    k = 0
    while t0 < T:
        t1 = min(T, t0 + rng.exponential(mean_regime_s))
        n = rng.poisson(rates[k % 2] * (t1 - t0))
        chunks.append(np.sort(rng.uniform(t0, t1, size=n)))
        t0 = t1
        k += 1
    return np.concatenate(chunks)


def simulate_gamma_renewal(shape: float, rate: float, T: float, seed: int) -> Float64Array:
    """Renewal process with Gamma(``shape``) gaps of mean ``1 / rate`` seconds on ``[0, T]``.

    With ``shape > 1`` it is more regular than Poisson, which no Hawkes process can be:
    a misspecified sample whose time-rescaled residuals must fail the Exp(1) test.
    """
    rng = np.random.default_rng(seed)
    n = int(rate * T * 1.2 + 10.0 * np.sqrt(rate * T) + 10)
    times = np.cumsum(rng.gamma(shape, 1.0 / (shape * rate), size=n))
    return times[times < T]
