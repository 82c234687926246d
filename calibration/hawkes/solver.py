"""Row solver of the Hawkes likelihood: projected Newton and the observed information.

The log-likelihood of a ``d``-variate Hawkes process separates by target component,
``L = sum_i L_i(row i)`` (see :mod:`calibration.hawkes.kernels`, which evaluates ``L_i``
with its analytic gradient and Hessian). :func:`fit_row` maximises one ``L_i`` on the scale
``(log mu, alpha, log beta)`` (time in seconds, ``mu`` in events per second, ``alpha``
dimensionless, ``beta`` in 1/s); :func:`row_covariance` inverts its observed information.

References
----------
Bertsekas, D. P. (1982). Projected Newton methods for optimization problems with simple
constraints. SIAM J. Control and Optimization 20, 221-246.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from calibration.hawkes.kernels import row_loglik
from calibration.types import BoolArray, Float64Array, Int64Array

__all__ = [
    "ALPHA_ZERO",
    "fit_row",
    "row_covariance",
]

_MAX_NEWTON_ITER = 200
_GRAD_TOL = 1e-7  # on the per-event-scaled objective, in log-parameter units
_MAX_STEP = 2.0  # longest step in any coordinate: a factor e^2 in mu and beta, 2 in alpha
#: An amplitude at or below this is on its 0 bound (no standard error, decay unidentified).
ALPHA_ZERO = 1e-8


def fit_row(
    times: Float64Array, marks: Int64Array, target: int,
    bin_of_event: Int64Array, bin_len: Float64Array, n_terms: int, T: float,
    x0: Float64Array, lower: Float64Array, upper: Float64Array,
) -> tuple[Float64Array, float, bool, int, Float64Array]:
    """Maximise ``L_i`` by projected Newton on ``x = (log mu bins, alpha row, log beta row)``.

    Parameters
    ----------
    times, marks, target, bin_of_event, bin_len, n_terms, T
        As in :func:`calibration.hawkes.kernels.row_loglik`.
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
