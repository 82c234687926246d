"""Hot recursions of the exponential-kernel Hawkes likelihood, jitted and in reference form.

Model (one target component ``i`` of a ``d``-variate process on the window ``[0, T]``,
time in seconds)::

    lambda_i(t) = mu_i + sum_j alpha_ij * beta_ij * sum_{t_k^j < t} exp(-beta_ij (t - t_k^j))

so ``alpha_ij`` (dimensionless) is the integral of the kernel j -> i, i.e. the branching
matrix, and ``beta_ij`` (1/s) the decay rate. The log-likelihood separates by target::

    L = sum_i L_i,   L_i = sum_{t_n of type i} log lambda_i(t_n) - int_0^T lambda_i(s) ds

and each ``L_i`` depends only on ``(mu_i, alpha_i., beta_i.)``. The jitted functions evaluate
``L_i``, its gradient and its Hessian in one O(N d) pass with Ozaki's (1979) recursion
for ``R_j(t) = sum_{t_k^j < t} exp(-beta_ij (t - t_k^j))`` and the two moments
``S_j = sum (t - t_k) e^{...}``, ``S2_j = sum (t - t_k)^2 e^{...}`` that the beta
derivatives need. The ``*_reference`` twins compute the same quantities straight from
the definitions with O(N^2) numpy double sums: they share no code with the recursion, so
a test that holds them equal checks the recursion itself, not just the compiler.

Parameter vector of one target row (length ``1 + 2 d``): ``[mu_i, alpha_i0..alpha_i(d-1),
beta_i0..beta_i(d-1)]``.

References
----------
Ozaki, T. (1979). Maximum likelihood estimation of Hawkes' self-exciting point processes.
Annals of the Institute of Statistical Mathematics 31, 145-155.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from calibration.types import Float64Array, Int64Array

__all__ = [
    "compensator_at_events",
    "compensator_at_events_reference",
    "intensity_at",
    "intensity_at_reference",
    "row_loglik",
    "row_loglik_reference",
]


@numba.njit(cache=True, nogil=True)
def row_loglik(
    times: Float64Array,
    marks: Int64Array,
    target: int,
    mu: float,
    alpha_row: Float64Array,
    beta_row: Float64Array,
    T: float,
    with_hess: bool,
) -> tuple[float, Float64Array, Float64Array]:  # pragma: no cover - jitted
    """Log-likelihood ``L_i`` of one target row, its gradient and (optionally) Hessian.

    Parameters
    ----------
    times : Float64Array
        Event times in seconds from the window start, sorted, all in ``[0, T]``.
    marks : Int64Array
        Component id (0..d-1) of each event.
    target : int
        The component ``i`` whose intensity this row models.
    mu : float
        Baseline intensity of ``i``, events per second.
    alpha_row, beta_row : Float64Array
        ``alpha[i, :]`` (branching ratios, dimensionless) and ``beta[i, :]`` (decays, 1/s).
    T : float
        Window length in seconds.
    with_hess : bool
        Also accumulate the Hessian (costs the ``S2`` recursion and an outer product).

    Returns
    -------
    loglik : float
        ``L_i``; ``-inf`` when the intensity is not positive at some type-``i`` event.
    grad : Float64Array
        ``(1 + 2 d,)`` gradient in the row parameter order.
    hess : Float64Array
        ``(1 + 2 d, 1 + 2 d)`` Hessian (zeros unless ``with_hess``).
    """
    d = alpha_row.shape[0]
    p = 1 + 2 * d
    R = np.zeros(d)
    S = np.zeros(d)
    S2 = np.zeros(d)
    pending = np.zeros(d)
    counts = np.zeros(d)
    grad = np.zeros(p)
    hess = np.zeros((p, p))
    g = np.zeros(p)
    ab = alpha_row * beta_row
    loglik = 0.0
    t_prev = 0.0
    for n in range(times.shape[0]):
        t = times[n]
        dt = t - t_prev
        if dt > 0.0:
            for j in range(d):
                # events tied at t_prev join only now: lag 0 does not excite (t_k < t)
                R[j] += pending[j]
                pending[j] = 0.0
                e = math.exp(-beta_row[j] * dt)
                if with_hess:
                    S2[j] = e * (S2[j] + dt * (2.0 * S[j] + dt * R[j]))
                S[j] = e * (S[j] + dt * R[j])
                R[j] = e * R[j]
        m = marks[n]
        if m == target:
            lam = mu
            for j in range(d):
                lam += ab[j] * R[j]
            if not lam > 0.0:
                return -np.inf, grad, hess
            loglik += math.log(lam)
            inv = 1.0 / lam
            g[0] = 1.0
            for j in range(d):
                g[1 + j] = beta_row[j] * R[j]
                g[1 + d + j] = alpha_row[j] * (R[j] - beta_row[j] * S[j])
            for k in range(p):
                grad[k] += g[k] * inv
            if with_hess:
                inv2 = inv * inv
                for k in range(p):
                    for q in range(k, p):
                        hess[k, q] -= g[k] * g[q] * inv2
                for j in range(d):
                    hess[1 + j, 1 + d + j] += (R[j] - beta_row[j] * S[j]) * inv
                    hess[1 + d + j, 1 + d + j] += (
                        alpha_row[j] * (beta_row[j] * S2[j] - 2.0 * S[j]) * inv
                    )
        pending[m] += 1.0
        counts[m] += 1.0
        t_prev = t
    # Compensator: int_0^T lambda_i = mu T + sum_j alpha_ij sum_k (1 - e^{-beta_ij (T - t_k)}),
    # and the sums of e^{-beta u}, u e^{-beta u}, u^2 e^{-beta u} are R, S, S2 decayed to T.
    dt = T - t_prev
    for j in range(d):
        R[j] += pending[j]
        e = math.exp(-beta_row[j] * dt)
        if with_hess:
            S2[j] = e * (S2[j] + dt * (2.0 * S[j] + dt * R[j]))
        S[j] = e * (S[j] + dt * R[j])
        R[j] = e * R[j]
    loglik -= mu * T
    grad[0] -= T
    for j in range(d):
        loglik -= alpha_row[j] * (counts[j] - R[j])
        grad[1 + j] -= counts[j] - R[j]
        grad[1 + d + j] -= alpha_row[j] * S[j]
        if with_hess:
            hess[1 + j, 1 + d + j] -= S[j]
            hess[1 + d + j, 1 + d + j] += alpha_row[j] * S2[j]
    if with_hess:
        for k in range(p):
            for q in range(k + 1, p):
                hess[q, k] = hess[k, q]
    return loglik, grad, hess


def row_loglik_reference(
    times: Float64Array,
    marks: Int64Array,
    target: int,
    mu: float,
    alpha_row: Float64Array,
    beta_row: Float64Array,
    T: float,
) -> tuple[float, Float64Array, Float64Array]:
    """Reference twin of :func:`row_loglik`: O(N^2) direct sums from the definitions.

    Same parameters and returns as :func:`row_loglik` (the Hessian is always computed).
    Only for tests on small samples.
    """
    d = alpha_row.shape[0]
    p = 1 + 2 * d
    ti = times[marks == target]
    lam = np.full(ti.shape[0], mu)
    g = np.zeros((ti.shape[0], p))
    g[:, 0] = 1.0
    h_ab = np.zeros((ti.shape[0], d))  # d2 lambda / d alpha_j d beta_j
    h_bb = np.zeros((ti.shape[0], d))  # d2 lambda / d beta_j^2
    loglik = -mu * T
    grad = np.zeros(p)
    grad[0] = -T
    hess = np.zeros((p, p))
    for j in range(d):
        a, b = alpha_row[j], beta_row[j]
        tj = times[marks == j]
        lag = ti[:, None] - tj[None, :]
        past = lag > 0.0
        lag_pos = np.where(past, lag, 0.0)
        kern = np.where(past, np.exp(-b * lag_pos), 0.0)
        r = kern.sum(axis=1)
        s = (lag_pos * kern).sum(axis=1)
        s2 = (lag_pos**2 * kern).sum(axis=1)
        lam += a * b * r
        g[:, 1 + j] = b * r
        g[:, 1 + d + j] = a * (r - b * s)
        h_ab[:, j] = r - b * s
        h_bb[:, j] = a * (b * s2 - 2.0 * s)
        u = T - tj
        eu = np.exp(-b * u)
        loglik -= a * np.sum(1.0 - eu)
        grad[1 + j] -= np.sum(1.0 - eu)
        grad[1 + d + j] -= a * np.sum(u * eu)
        hess[1 + j, 1 + d + j] -= np.sum(u * eu)
        hess[1 + d + j, 1 + d + j] += a * np.sum(u**2 * eu)
    if np.any(lam <= 0.0):
        return -np.inf, np.zeros(p), np.zeros((p, p))
    loglik += float(np.sum(np.log(lam)))
    grad += (g / lam[:, None]).sum(axis=0)
    hess -= (g / lam[:, None]).T @ (g / lam[:, None])
    for j in range(d):
        hess[1 + j, 1 + d + j] += np.sum(h_ab[:, j] / lam)
        hess[1 + d + j, 1 + d + j] += np.sum(h_bb[:, j] / lam)
    upper = np.triu(hess, 1)
    hess = np.triu(hess) + upper.T
    return float(loglik), grad, hess


@numba.njit(cache=True, nogil=True)
def compensator_at_events(
    times: Float64Array,
    marks: Int64Array,
    mu: Float64Array,
    alpha: Float64Array,
    beta: Float64Array,
) -> Float64Array:  # pragma: no cover - jitted
    """Compensators ``Lambda_i(t_n) = int_0^{t_n} lambda_i(s) ds`` at every event.

    Parameters
    ----------
    times : Float64Array
        Event times in seconds from the window start, sorted, non-negative.
    marks : Int64Array
        Component id of each event.
    mu : Float64Array
        ``(d,)`` baselines, 1/s.
    alpha, beta : Float64Array
        ``(d, d)`` branching matrix and decays (1/s).

    Returns
    -------
    Float64Array
        ``(N, d)``; by the time-rescaling theorem the increments of column ``i`` between
        successive type-``i`` events are i.i.d. Exp(1) under the model.
    """
    d = mu.shape[0]
    n_events = times.shape[0]
    out = np.empty((n_events, d))
    R = np.zeros((d, d))  # R[i, j]: decayed count of past j events seen by target i
    cum = np.zeros(d)
    t_prev = 0.0
    for n in range(n_events):
        dt = times[n] - t_prev
        for i in range(d):
            cum[i] += mu[i] * dt
            for j in range(d):
                e = math.exp(-beta[i, j] * dt)
                # int over (t_prev, t] of alpha beta R e^{-beta s} ds = alpha R (1 - e)
                cum[i] += alpha[i, j] * R[i, j] * (1.0 - e)
                R[i, j] *= e
            out[n, i] = cum[i]
        m = marks[n]
        for i in range(d):
            R[i, m] += 1.0
        t_prev = times[n]
    return out


def compensator_at_events_reference(
    times: Float64Array,
    marks: Int64Array,
    mu: Float64Array,
    alpha: Float64Array,
    beta: Float64Array,
) -> Float64Array:
    """Reference twin of :func:`compensator_at_events` by direct O(N^2) sums."""
    d = mu.shape[0]
    out = np.empty((times.shape[0], d))
    for i in range(d):
        cum = mu[i] * times
        for j in range(d):
            tj = times[marks == j]
            lag = times[:, None] - tj[None, :]
            contrib = np.where(lag > 0.0, 1.0 - np.exp(-beta[i, j] * np.maximum(lag, 0.0)), 0.0)
            cum = cum + alpha[i, j] * contrib.sum(axis=1)
        out[:, i] = cum
    return out


@numba.njit(cache=True, nogil=True)
def intensity_at(
    times: Float64Array,
    marks: Int64Array,
    mu: Float64Array,
    alpha: Float64Array,
    beta: Float64Array,
    grid: Float64Array,
) -> Float64Array:  # pragma: no cover - jitted
    """Left-limit intensities ``lambda_i(t-)`` at sorted grid times (seconds).

    Events at exactly a grid time are not counted (left limit), matching the likelihood.

    Returns
    -------
    Float64Array
        ``(len(grid), d)`` intensities in events per second.
    """
    d = mu.shape[0]
    out = np.empty((grid.shape[0], d))
    R = np.zeros((d, d))
    t_state = 0.0
    n = 0
    for g in range(grid.shape[0]):
        tg = grid[g]
        while n < times.shape[0] and times[n] < tg:
            dt = times[n] - t_state
            for i in range(d):
                for j in range(d):
                    R[i, j] *= math.exp(-beta[i, j] * dt)
                R[i, marks[n]] += 1.0
            t_state = times[n]
            n += 1
        dt = tg - t_state
        for i in range(d):
            lam = mu[i]
            for j in range(d):
                lam += alpha[i, j] * beta[i, j] * R[i, j] * math.exp(-beta[i, j] * dt)
            out[g, i] = lam
    return out


def intensity_at_reference(
    times: Float64Array,
    marks: Int64Array,
    mu: Float64Array,
    alpha: Float64Array,
    beta: Float64Array,
    grid: Float64Array,
) -> Float64Array:
    """Reference twin of :func:`intensity_at` by direct O(N G) sums."""
    d = mu.shape[0]
    out = np.tile(mu.astype(np.float64), (grid.shape[0], 1))
    for i in range(d):
        for j in range(d):
            tj = times[marks == j]
            lag = grid[:, None] - tj[None, :]
            kern = np.where(lag > 0.0, np.exp(-beta[i, j] * np.maximum(lag, 0.0)), 0.0)
            out[:, i] += alpha[i, j] * beta[i, j] * kern.sum(axis=1)
    return out
