"""Plain-numpy reference twins of the Hawkes recursions in :mod:`calibration.hawkes.kernels`.

Each twin computes the same quantity as its jitted counterpart straight from the
definitions, with O(N^2) (or O(N G)) numpy double sums. They share no code with the
recursions, so a test that holds them equal checks the recursion itself, not just the
compiler. Only for tests on small samples. Times in seconds, intensities in events per
second, decays in 1/s.
"""

from __future__ import annotations

import numpy as np

from calibration.types import Float64Array, Int64Array

__all__ = [
    "compensator_at_events_reference",
    "intensity_at_reference",
    "row_loglik_reference",
]


def row_loglik_reference(
    times: Float64Array,
    marks: Int64Array,
    target: int,
    mu: Float64Array,
    bin_of_event: Int64Array,
    bin_len: Float64Array,
    alpha_row: Float64Array,
    beta_row: Float64Array,
    n_terms: int,
    T: float,
) -> tuple[float, Float64Array, Float64Array]:
    """Reference twin of :func:`~calibration.hawkes.kernels.row_loglik`: O(N^2) direct sums.

    Same parameters and returns as :func:`~calibration.hawkes.kernels.row_loglik` (the
    Hessian is always computed), straight from the definitions.
    Only for tests on small samples.
    """
    n_bins = mu.shape[0]
    n_ch = alpha_row.shape[0]
    p = n_bins + 2 * n_ch
    is_target = marks == target
    ti = times[is_target]
    bins = bin_of_event[is_target]
    lam = mu[bins].astype(np.float64)
    g = np.zeros((ti.shape[0], p))
    g[np.arange(ti.shape[0]), bins] = 1.0
    h_ab = np.zeros((ti.shape[0], n_ch))  # d2 lambda / d alpha_c d beta_c
    h_bb = np.zeros((ti.shape[0], n_ch))  # d2 lambda / d beta_c^2
    loglik = -float(mu @ bin_len)
    grad = np.zeros(p)
    grad[:n_bins] = -bin_len
    hess = np.zeros((p, p))
    for c in range(n_ch):
        a, b = alpha_row[c], beta_row[c]
        ia, ib = n_bins + c, n_bins + n_ch + c
        tj = times[marks == c // n_terms]
        lag = ti[:, None] - tj[None, :]
        past = lag > 0.0
        lag_pos = np.where(past, lag, 0.0)
        kern = np.where(past, np.exp(-b * lag_pos), 0.0)
        r = kern.sum(axis=1)
        s = (lag_pos * kern).sum(axis=1)
        s2 = (lag_pos**2 * kern).sum(axis=1)
        lam += a * b * r
        g[:, ia] = b * r
        g[:, ib] = a * (r - b * s)
        h_ab[:, c] = r - b * s
        h_bb[:, c] = a * (b * s2 - 2.0 * s)
        u = T - tj
        eu = np.exp(-b * u)
        loglik -= a * np.sum(1.0 - eu)
        grad[ia] -= np.sum(1.0 - eu)
        grad[ib] -= a * np.sum(u * eu)
        hess[ia, ib] -= np.sum(u * eu)
        hess[ib, ib] += a * np.sum(u**2 * eu)
    if np.any(lam <= 0.0):
        return -np.inf, np.zeros(p), np.zeros((p, p))
    loglik += float(np.sum(np.log(lam)))
    grad += (g / lam[:, None]).sum(axis=0)
    hess -= (g / lam[:, None]).T @ (g / lam[:, None])
    for c in range(n_ch):
        ia, ib = n_bins + c, n_bins + n_ch + c
        hess[ia, ib] += np.sum(h_ab[:, c] / lam)
        hess[ib, ib] += np.sum(h_bb[:, c] / lam)
    upper = np.triu(hess, 1)
    hess = np.triu(hess) + upper.T
    return float(loglik), grad, hess


def compensator_at_events_reference(
    times: Float64Array,
    marks: Int64Array,
    mu: Float64Array,
    alpha: Float64Array,
    beta: Float64Array,
) -> Float64Array:
    """Reference twin of :func:`~calibration.hawkes.kernels.compensator_at_events`, O(N^2)."""
    d = mu.shape[0]
    out = np.empty((times.shape[0], d))
    for i in range(d):
        cum = mu[i] * times
        for j in range(d):
            tj = times[marks == j]
            lag = np.maximum(times[:, None] - tj[None, :], 0.0)
            for u in range(alpha.shape[2]):
                cum = cum + alpha[i, j, u] * (1.0 - np.exp(-beta[i, j, u] * lag)).sum(axis=1)
        out[:, i] = cum
    return out


def intensity_at_reference(
    times: Float64Array,
    marks: Int64Array,
    mu: Float64Array,
    alpha: Float64Array,
    beta: Float64Array,
    grid: Float64Array,
) -> Float64Array:
    """Reference twin of :func:`~calibration.hawkes.kernels.intensity_at`, O(N G) sums."""
    d = mu.shape[0]
    out = np.tile(mu.astype(np.float64), (grid.shape[0], 1))
    for i in range(d):
        for j in range(d):
            tj = times[marks == j]
            lag = grid[:, None] - tj[None, :]
            for u in range(alpha.shape[2]):
                b = beta[i, j, u]
                kern = np.where(lag > 0.0, np.exp(-b * np.maximum(lag, 0.0)), 0.0)
                out[:, i] += alpha[i, j, u] * b * kern.sum(axis=1)
    return out
