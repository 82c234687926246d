"""Hot recursions of the Hawkes likelihood, compiled with numba.

Model (target component ``i`` of a ``d``-variate process on the window ``[0, T]``, time in
seconds), with kernels that are sums of ``U`` exponential terms (``U = 1``: the plain
exponential kernel)::

    lambda_i(t) = mu_i + sum_j sum_u alpha_iju beta_iju sum_{t_k^j < t} exp(-beta_iju (t - t_k^j))

``alpha_iju`` (dimensionless) integrate to the branching matrix ``alpha_ij = sum_u alpha_iju``
and ``beta_iju`` (1/s) are the decay rates. Each (source j, term u) is a *channel*
``c = j * U + u`` with its own amplitude and decay. The log-likelihood separates by target::

    L = sum_i L_i,   L_i = sum_{t_n of type i} log lambda_i(t_n) - int_0^T lambda_i(s) ds

and each ``L_i`` depends only on row ``i`` of the parameters. :func:`row_loglik` evaluates
``L_i``, its gradient and its Hessian in one O(N d U) pass with Ozaki's (1979) recursion
for ``R_c(t) = sum_{t_k < t} exp(-beta_c (t - t_k))`` and the moments ``S_c = sum (t - t_k)
e^{...}``, ``S2_c = sum (t - t_k)^2 e^{...}`` that the decay derivatives need. Their
plain-numpy twins, which share no code with these recursions, are in
:mod:`tests.calibration.hawkes_reference`; the row solver that maximises ``L_i`` is in
:mod:`calibration.hawkes.solver`.

The baseline ``mu_i`` may be piecewise constant on ``B`` bins of the window (``B = 1``: a
constant). Row parameter vector (length ``B + 2 d U``): ``[mu_ib for b in bins, alpha_c for c
in channels, beta_c for c in channels]``. Events tied in time do not excite each other
(the sum is over ``t_k < t``).

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
    "intensity_at",
    "row_loglik",
]


@numba.njit(cache=True, nogil=True)
def row_loglik(
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
    mu : Float64Array
        ``(B,)`` piecewise-constant baseline of ``i`` on ``B`` bins, events per second
        (``B = 1``: a constant baseline).
    bin_of_event : Int64Array
        Baseline bin (0..B-1) of each event.
    bin_len : Float64Array
        ``(B,)`` bin lengths in seconds, summing to ``T``.
    alpha_row, beta_row : Float64Array
        ``(d * n_terms,)``: amplitudes (branching ratios, dimensionless) and decays (1/s) of
        the channels ``c = j * n_terms + u``, term ``u`` of the kernel from source ``j``.
    n_terms : int
        Exponential terms per kernel (1 for the plain exponential kernel).
    T : float
        Window length in seconds.
    with_hess : bool
        Also accumulate the Hessian (costs the ``S2`` recursion and an outer product).

    Returns
    -------
    loglik : float
        ``L_i``; ``-inf`` when the intensity is not positive at some type-``i`` event.
    grad : Float64Array
        ``(B + 2 d U,)`` gradient in the row parameter order ``[mu, alpha, beta]``.
    hess : Float64Array
        ``(B + 2 d U, B + 2 d U)`` Hessian (zeros unless ``with_hess``).
    """
    n_bins = mu.shape[0]
    n_ch = alpha_row.shape[0]
    d = n_ch // n_terms
    q_ex = 2 * n_ch  # excitation parameters follow the B baselines
    p = n_bins + q_ex
    R = np.zeros(n_ch)
    S = np.zeros(n_ch)
    S2 = np.zeros(n_ch)
    pending = np.zeros(d)
    counts = np.zeros(d)
    grad = np.zeros(p)
    hess = np.zeros((p, p))
    g = np.zeros(q_ex)
    ab = alpha_row * beta_row
    loglik = 0.0
    t_prev = 0.0
    for n in range(times.shape[0]):
        t = times[n]
        dt = t - t_prev
        if dt > 0.0:
            for c in range(n_ch):
                # events tied at t_prev join only now: lag 0 does not excite (t_k < t)
                R[c] += pending[c // n_terms]
                e = math.exp(-beta_row[c] * dt)
                if with_hess:
                    S2[c] = e * (S2[c] + dt * (2.0 * S[c] + dt * R[c]))
                S[c] = e * (S[c] + dt * R[c])
                R[c] = e * R[c]
            for j in range(d):
                pending[j] = 0.0
        m = marks[n]
        if m == target:
            b = bin_of_event[n]
            lam = mu[b]
            for c in range(n_ch):
                lam += ab[c] * R[c]
            if not lam > 0.0:
                return -np.inf, grad, hess
            loglik += math.log(lam)
            inv = 1.0 / lam
            for c in range(n_ch):
                g[c] = beta_row[c] * R[c]
                g[n_ch + c] = alpha_row[c] * (R[c] - beta_row[c] * S[c])
            grad[b] += inv
            for k in range(q_ex):
                grad[n_bins + k] += g[k] * inv
            if with_hess:
                inv2 = inv * inv
                hess[b, b] -= inv2
                for k in range(q_ex):
                    hess[b, n_bins + k] -= g[k] * inv2
                    for q in range(k, q_ex):
                        hess[n_bins + k, n_bins + q] -= g[k] * g[q] * inv2
                for c in range(n_ch):
                    ia, ib = n_bins + c, n_bins + n_ch + c
                    hess[ia, ib] += (R[c] - beta_row[c] * S[c]) * inv
                    hess[ib, ib] += alpha_row[c] * (beta_row[c] * S2[c] - 2.0 * S[c]) * inv
        pending[m] += 1.0
        counts[m] += 1.0
        t_prev = t
    # Compensator: int_0^T lambda_i = sum_b mu_b len_b + sum_c alpha_c sum_k (1 - e^{-beta_c
    # (T - t_k)}); the sums of e^{-beta u}, u e^{-beta u}, u^2 e^{-beta u} are R, S, S2 at T.
    dt = T - t_prev
    for c in range(n_ch):
        R[c] += pending[c // n_terms]
        e = math.exp(-beta_row[c] * dt)
        if with_hess:
            S2[c] = e * (S2[c] + dt * (2.0 * S[c] + dt * R[c]))
        S[c] = e * (S[c] + dt * R[c])
        R[c] = e * R[c]
    for b in range(n_bins):
        loglik -= mu[b] * bin_len[b]
        grad[b] -= bin_len[b]
    for c in range(n_ch):
        ia, ib = n_bins + c, n_bins + n_ch + c
        n_src = counts[c // n_terms]
        loglik -= alpha_row[c] * (n_src - R[c])
        grad[ia] -= n_src - R[c]
        grad[ib] -= alpha_row[c] * S[c]
        if with_hess:
            hess[ia, ib] -= S[c]
            hess[ib, ib] += alpha_row[c] * S2[c]
    if with_hess:
        for k in range(p):
            for q in range(k + 1, p):
                hess[q, k] = hess[k, q]
    return loglik, grad, hess


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
        ``(d, d, U)`` amplitudes (dimensionless) and decays (1/s) of the ``U`` exponential
        terms of each kernel j -> i (``U = 1`` for the exponential kernel).

    Returns
    -------
    Float64Array
        ``(N, d)``; by the time-rescaling theorem the increments of column ``i`` between
        successive type-``i`` events are i.i.d. Exp(1) under the model.
    """
    d = mu.shape[0]
    n_terms = alpha.shape[2]
    n_events = times.shape[0]
    out = np.empty((n_events, d))
    R = np.zeros((d, d, n_terms))  # decayed count of past j events seen by target i, term u
    cum = np.zeros(d)
    t_prev = 0.0
    for n in range(n_events):
        dt = times[n] - t_prev
        for i in range(d):
            cum[i] += mu[i] * dt
            for j in range(d):
                for u in range(n_terms):
                    e = math.exp(-beta[i, j, u] * dt)
                    # int over (t_prev, t] of alpha beta R e^{-beta s} ds = alpha R (1 - e)
                    cum[i] += alpha[i, j, u] * R[i, j, u] * (1.0 - e)
                    R[i, j, u] *= e
            out[n, i] = cum[i]
        m = marks[n]
        for i in range(d):
            for u in range(n_terms):
                R[i, m, u] += 1.0
        t_prev = times[n]
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

    ``alpha``, ``beta`` are ``(d, d, U)`` as in :func:`compensator_at_events`. Events at
    exactly a grid time are not counted (left limit), matching the likelihood.

    Returns
    -------
    Float64Array
        ``(len(grid), d)`` intensities in events per second.
    """
    d = mu.shape[0]
    n_terms = alpha.shape[2]
    out = np.empty((grid.shape[0], d))
    R = np.zeros((d, d, n_terms))
    t_state = 0.0
    n = 0
    for k in range(grid.shape[0]):
        tg = grid[k]
        while n < times.shape[0] and times[n] < tg:
            dt = times[n] - t_state
            for i in range(d):
                for j in range(d):
                    for u in range(n_terms):
                        R[i, j, u] *= math.exp(-beta[i, j, u] * dt)
                for u in range(n_terms):
                    R[i, marks[n], u] += 1.0
            t_state = times[n]
            n += 1
        dt = tg - t_state
        for i in range(d):
            lam = mu[i]
            for j in range(d):
                for u in range(n_terms):
                    b = beta[i, j, u]
                    lam += alpha[i, j, u] * b * R[i, j, u] * math.exp(-b * dt)
            out[k, i] = lam
    return out
