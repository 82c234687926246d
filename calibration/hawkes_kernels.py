"""Hot recursions of the Hawkes likelihood (jitted, with reference twins) and the row solver.

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
e^{...}``, ``S2_c = sum (t - t_k)^2 e^{...}`` that the decay derivatives need. The
``*_reference`` twins compute the same quantities straight from the definitions with
O(N^2) numpy double sums: they share no code with the recursions, so a test that holds them
equal checks the recursion itself, not just the compiler. :func:`fit_row` maximises one
``L_i``; :func:`row_covariance` inverts its observed information.

The baseline ``mu_i`` may be piecewise constant on ``B`` bins of the window (``B = 1``: a
constant). Row parameter vector (length ``B + 2 d U``): ``[mu_ib for b in bins, alpha_c for c
in channels, beta_c for c in channels]``. Events tied in time do not excite each other
(the sum is over ``t_k < t``).

References
----------
Ozaki, T. (1979). Maximum likelihood estimation of Hawkes' self-exciting point processes.
Annals of the Institute of Statistical Mathematics 31, 145-155.
Bertsekas, D. P. (1982). Projected Newton methods for optimization problems with simple
constraints. SIAM J. Control and Optimization 20, 221-246.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numba
import numpy as np

from calibration.types import BoolArray, Float64Array, Int64Array

__all__ = [
    "ALPHA_ZERO",
    "compensator_at_events",
    "compensator_at_events_reference",
    "fit_row",
    "intensity_at",
    "intensity_at_reference",
    "row_covariance",
    "row_loglik",
    "row_loglik_reference",
]

_MAX_NEWTON_ITER = 200
_GRAD_TOL = 1e-7  # on the per-event-scaled objective, in log-parameter units
_MAX_STEP = 2.0  # longest step in any coordinate: a factor e^2 in mu and beta, 2 in alpha
#: An amplitude at or below this is on its 0 bound (no standard error, decay unidentified).
ALPHA_ZERO = 1e-8


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
    """Reference twin of :func:`row_loglik`: O(N^2) direct sums from the definitions.

    Same parameters and returns as :func:`row_loglik` (the Hessian is always computed).
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
            lag = np.maximum(times[:, None] - tj[None, :], 0.0)
            for u in range(alpha.shape[2]):
                cum = cum + alpha[i, j, u] * (1.0 - np.exp(-beta[i, j, u] * lag)).sum(axis=1)
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
            for u in range(alpha.shape[2]):
                b = beta[i, j, u]
                kern = np.where(lag > 0.0, np.exp(-b * np.maximum(lag, 0.0)), 0.0)
                out[:, i] += alpha[i, j, u] * b * kern.sum(axis=1)
    return out


def fit_row(
    times: Float64Array, marks: Int64Array, target: int,
    bin_of_event: Int64Array, bin_len: Float64Array, n_terms: int, T: float,
    x0: Float64Array, lower: Float64Array, upper: Float64Array,
) -> tuple[Float64Array, float, bool, int, Float64Array]:
    """Maximise ``L_i`` by projected Newton on ``x = (log mu bins, alpha row, log beta row)``.

    Parameters
    ----------
    times, marks, target, bin_of_event, bin_len, n_terms, T
        As in :func:`row_loglik`.
    x0, lower, upper : Float64Array
        Start and box bounds on the ``x`` scale (``alpha >= 0`` is a bound, not a transform,
        so a zero cross-excitation is reachable).

    Returns
    -------
    x : Float64Array
        The optimum on the ``x`` scale.
    loglik : float
        ``L_i`` at ``x``.
    converged : bool
        Projected gradient below tolerance.
    n_iter : int
        Newton iterations taken.
    hess : Float64Array
        Hessian of ``L_i`` at ``x`` on the natural scale ``(mu, alpha, beta)``.

    Notes
    -----
    Minimises ``-L_i / N_i``. The Hessian (analytic) is made positive definite by taking
    absolute values of its eigenvalues with a floor, long steps are scaled down (not
    clipped, which could turn them uphill), and every step is Armijo-backtracked along the
    projected path, with a steepest-descent fallback; coordinates on a bound whose gradient
    points outward are frozen for the iteration (Bertsekas 1982).
    """
    n_bins = bin_len.shape[0]
    n_ch = (x0.shape[0] - n_bins) // 2
    n_target = max(1, int(np.sum(marks == target)))
    is_log = np.ones(x0.shape[0], dtype=bool)
    is_log[n_bins:n_bins + n_ch] = False

    natural_hess: dict[bytes, Float64Array] = {}  # keyed by x, to return the one at the optimum

    def evaluate(x: Float64Array) -> tuple[float, Float64Array, Float64Array]:
        theta = np.where(is_log, np.exp(x), x)
        ll, g, h = row_loglik(times, marks, target, theta[:n_bins].copy(), bin_of_event,
                              bin_len, theta[n_bins:n_bins + n_ch].copy(),
                              theta[n_bins + n_ch:].copy(), n_terms, T, True)
        natural_hess.clear()
        natural_hess[x.tobytes()] = h
        jac = np.where(is_log, theta, 1.0)
        gx = g * jac
        hx = h * np.outer(jac, jac) + np.diag(np.where(is_log, gx, 0.0))
        return -ll / n_target, -gx / n_target, -hx / n_target

    def hess_at(x: Float64Array) -> Float64Array:
        if x.tobytes() not in natural_hess:
            evaluate(x)
        return natural_hess[x.tobytes()]

    x = np.clip(x0, lower, upper)
    f, g, h = evaluate(x)
    for it in range(1, _MAX_NEWTON_ITER + 1):
        free = ~(((x <= lower) & (g > 0.0)) | ((x >= upper) & (g < 0.0)))
        if np.max(np.abs(g[free]), initial=0.0) < _GRAD_TOL:
            return x, -f * n_target, True, it - 1, hess_at(x)
        w, v = np.linalg.eigh(h[np.ix_(free, free)])
        w = np.maximum(np.abs(w), 1e-8 * max(1.0, float(np.max(np.abs(w)))))
        step = np.zeros_like(x)
        step[free] = -(v @ ((v.T @ g[free]) / w))
        step *= min(1.0, _MAX_STEP / max(float(np.max(np.abs(step))), 1e-300))
        accepted = _backtrack(evaluate, x, f, g, step, lower, upper)
        if accepted is None:
            grad_step = np.where(free, -g, 0.0)
            grad_step *= _MAX_STEP / max(float(np.max(np.abs(grad_step))), 1e-300)
            accepted = _backtrack(evaluate, x, f, g, grad_step, lower, upper)
        if accepted is None:  # no descent left: converged if the gradient is nearly flat
            return x, -f * n_target, _flat(g, free), it, hess_at(x)
        x_new, f_new, g_new, h_new = accepted
        stalled = abs(f - f_new) < 1e-15 * max(1.0, abs(f)) and np.allclose(x, x_new, atol=1e-12)
        x, f, g, h = x_new, f_new, g_new, h_new
        if stalled:  # at the floating-point floor of the objective
            return x, -f * n_target, _flat(g, free), it, hess_at(x)
    return x, -f * n_target, False, _MAX_NEWTON_ITER, hess_at(x)


def _flat(g: Float64Array, free: BoolArray) -> bool:
    """Projected gradient small enough to call a stalled iteration converged."""
    return bool(np.max(np.abs(g[free]), initial=0.0) < 1e3 * _GRAD_TOL)


def _backtrack(
    evaluate: Callable[[Float64Array], tuple[float, Float64Array, Float64Array]],
    x: Float64Array, f: float, g: Float64Array, step: Float64Array,
    lower: Float64Array, upper: Float64Array,
) -> tuple[Float64Array, float, Float64Array, Float64Array] | None:
    """Armijo backtracking along the projected path ``clip(x + t step)``; None if it fails."""
    t_len = 1.0
    while t_len > 1e-12:
        x_new = np.clip(x + t_len * step, lower, upper)
        f_new, g_new, h_new = evaluate(x_new)
        if math.isfinite(f_new) and f_new <= f + 1e-4 * float(g @ (x_new - x)):
            return x_new, f_new, g_new, h_new
        t_len *= 0.5
    return None


def row_covariance(
    hess: Float64Array, alpha_row: Float64Array, n_bins: int = 1
) -> Float64Array | None:
    """Inverse observed information of one row on the natural scale.

    Channels whose amplitude sits on its 0 bound are not interior (no Wald theory) and leave
    their decay unidentified: their rows and columns are NaN. Returns None when the
    information of the remaining parameters is not positive definite.
    """
    n_ch = alpha_row.shape[0]
    p = n_bins + 2 * n_ch
    dead = alpha_row <= ALPHA_ZERO
    ident = np.concatenate((np.ones(n_bins, dtype=bool), ~dead, ~dead))
    cov = np.full((p, p), np.nan)
    try:
        chol = np.linalg.cholesky(-hess[np.ix_(ident, ident)])
    except np.linalg.LinAlgError:
        return None
    inv_chol = np.linalg.inv(chol)
    cov[np.ix_(ident, ident)] = inv_chol.T @ inv_chol
    return cov
