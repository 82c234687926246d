"""Goodness-of-fit diagnostics of a Hawkes fit: time-rescaled residuals and their tests.

By the time-rescaling theorem the compensator increments between successive events of each
component are i.i.d. Exp(1) under the model. :func:`rescaled_residuals` computes them,
:func:`ks_exp1` tests their marginal law (Kolmogorov-Smirnov) and :func:`ljung_box` their
serial independence; :func:`intensity_path` evaluates the fitted intensity (events per
second) on a time grid (seconds). The recursions are in :mod:`calibration.hawkes.kernels`.

References
----------
Ogata, Y. (1988). Statistical models for earthquake occurrences and residual analysis for
point processes. JASA 83, 9-27 (time-rescaling residuals).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from calibration.hawkes.kernels import compensator_at_events, intensity_at
from calibration.types import Float64Array, Int64Array

__all__ = [
    "LJUNG_BOX_LAGS",
    "intensity_path",
    "ks_exp1",
    "ljung_box",
    "rescaled_residuals",
]

#: Lags of the Ljung-Box test on each component's residual sequence.
LJUNG_BOX_LAGS = 10


def rescaled_residuals(
    times: Float64Array,
    marks: Int64Array,
    mu: Float64Array,
    alpha: Float64Array,
    beta: Float64Array,
    baseline_edges: Float64Array | None = None,
) -> list[Float64Array]:
    """Time-rescaled inter-event residuals per component (Exp(1) under the model).

    ``times`` are seconds from the window start (the fit's ``times - t_start``), merged the
    same way as the fit. ``mu`` is ``(d,)``, or ``(d, B)`` per-bin baselines with
    ``baseline_edges`` (``B + 1`` edges, same origin as ``times``). ``alpha``, ``beta`` are
    ``(d, d)`` (exponential kernel) or ``(d, d, U)`` (the fit's ``alpha_terms``,
    ``beta_terms``). Element ``i`` holds ``Lambda_i(t_k) - Lambda_i(t_{k-1})`` over
    successive type-``i`` events, the first measured from 0.
    """
    base, edges, a3, b3 = _as_terms(mu, alpha, beta, baseline_edges)
    d = base.shape[0]
    comp = compensator_at_events(times, marks, np.zeros(d), a3, b3)
    for i in range(d):  # the baseline's integral is piecewise linear between the edges
        cum = np.concatenate(([0.0], np.cumsum(base[i] * np.diff(edges))))
        comp[:, i] += np.interp(times, edges, cum, left=0.0) if edges.size > 2 \
            else base[i, 0] * times
    return [np.diff(comp[marks == i, i], prepend=0.0) for i in range(d)]


def intensity_path(
    times: Float64Array,
    marks: Int64Array,
    mu: Float64Array,
    alpha: Float64Array,
    beta: Float64Array,
    grid: Float64Array,
    baseline_edges: Float64Array | None = None,
) -> Float64Array:
    """Left-limit intensities (events per second) of each component at sorted ``grid`` times.

    ``times`` and ``grid`` are seconds from the window start; ``mu``, ``alpha``, ``beta``
    and ``baseline_edges`` as in :func:`rescaled_residuals`. Returns ``(len(grid), d)``.
    """
    base, edges, a3, b3 = _as_terms(mu, alpha, beta, baseline_edges)
    grid_a = np.asarray(grid, np.float64)
    lam = intensity_at(times, marks, np.zeros(base.shape[0]), a3, b3, grid_a)
    bins = np.clip(np.searchsorted(edges, grid_a, side="right") - 1, 0, base.shape[1] - 1)
    return lam + base[:, bins].T


def _as_terms(
    mu: Float64Array, alpha: Float64Array, beta: Float64Array,
    baseline_edges: Float64Array | None,
) -> tuple[Float64Array, Float64Array, Float64Array, Float64Array]:
    base = np.asarray(mu, dtype=np.float64)
    base = base[:, None] if base.ndim == 1 else base
    d = base.shape[0]
    if baseline_edges is None:
        if base.shape[1] != 1:
            raise ValueError("a per-bin baseline needs its baseline_edges")
        edges = np.array([0.0, np.inf])
    else:
        edges = np.asarray(baseline_edges, dtype=np.float64)
        if edges.shape != (base.shape[1] + 1,):
            raise ValueError(f"{base.shape[1]} baseline bins need {base.shape[1] + 1} edges")
    a = np.asarray(alpha, dtype=np.float64)
    b = np.asarray(beta, dtype=np.float64)
    if a.ndim == 2:
        a, b = a[:, :, None], b[:, :, None]
    return (base, edges, np.ascontiguousarray(a.reshape(d, d, -1)),
            np.ascontiguousarray(b.reshape(d, d, -1)))


def ks_exp1(residuals: Float64Array) -> tuple[float, float]:
    """One-sample K-S statistic and p-value (exact law, ``kstwo``) against Exp(1).

    Same numbers as ``scipy.stats.kstest(r, "expon")`` with a single sort.
    """
    x = np.sort(residuals)
    n = x.shape[0]
    cdf = -np.expm1(-x)
    stat = float(max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n)))
    return stat, float(stats.kstwo.sf(stat, n))


def ljung_box(residuals: Float64Array, lags: int) -> tuple[float, float]:
    """Ljung-Box ``Q = n (n + 2) sum_k rho_k^2 / (n - k)`` over lags 1..``lags``, chi2 p-value."""
    x = residuals - residuals.mean()
    n = x.shape[0]
    denom = float(np.sum(x * x))
    if n <= lags + 1 or denom <= 0.0:
        return math.nan, math.nan
    # elementwise sums, not BLAS dot: threaded OpenBLAS dot is 10-100x slower on a busy box
    rho = np.array([float(np.sum(x[:-k] * x[k:])) / denom for k in range(1, lags + 1)])
    q = float(n * (n + 2) * np.sum(rho**2 / (n - np.arange(1, lags + 1))))
    return q, float(stats.chi2.sf(q, lags))
