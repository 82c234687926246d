"""Maximum-likelihood fit of multivariate Hawkes processes with exponential kernels.

Entry point :func:`fit_hawkes` (DESIGN §4). Times are in seconds; intensities in events
per second; the branching matrix ``alpha`` is dimensionless; decays ``beta`` are in 1/s
(half-life ``ln 2 / beta`` seconds).

References
----------
Hawkes, A. G. (1971). Spectra of some self-exciting and mutually exciting point processes.
Biometrika 58, 83-90.
Ozaki, T. (1979). Maximum likelihood estimation of Hawkes' self-exciting point processes.
Ann. Inst. Statist. Math. 31, 145-155.
Ogata, Y. (1988). Statistical models for earthquake occurrences and residual analysis for
point processes. JASA 83, 9-27 (time-rescaling residuals).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from calibration.errors import CalibrationError, ConvergenceWarning, IdentifiabilityWarning
from calibration.hawkes_kernels import compensator_at_events, intensity_at, row_loglik
from calibration.types import Float64Array, Int64Array

__all__ = [
    "ALPHA0",
    "MIN_EVENTS_PER_COMPONENT",
    "MU0_FRACTION",
    "HawkesFit",
    "fit_hawkes",
    "intensity_path",
    "merge_same_timestamp",
    "rescaled_residuals",
]

#: Fewer events than this in any component (after merging) and we refuse to fit: each
#: target row has ``1 + 2 d`` free parameters and the Wald errors need far more events.
MIN_EVENTS_PER_COMPONENT = 50
#: Starting baseline: this fraction of the component's mean rate ``N_i / T`` (the rest is
#: attributed to excitation, consistent with a start branching ratio of ``ALPHA0``).
MU0_FRACTION = 0.5
#: Starting branching matrix: every entry ``ALPHA0 / d`` (spectral radius ``ALPHA0``).
ALPHA0 = 0.3
#: Decay bounds (1/s): slower than ``BETA_MIN_PER_WINDOW / T`` cannot be told from the
#: baseline inside the window; faster than ``BETA_MAX_PER_GAP / smallest gap`` is below the
#: clock resolution. An estimate on either bound raises an IdentifiabilityWarning.
BETA_MIN_PER_WINDOW = 0.1
BETA_MAX_PER_GAP = 100.0
#: Off-diagonal branching entries may exceed 1 in a stationary matrix; diagonal ones may not.
ALPHA_MAX_OFFDIAG = 20.0
_MAX_NEWTON_ITER = 200
_GRAD_TOL = 1e-7  # on the per-event-scaled objective, in log-parameter units
_MAX_STEP = 2.0  # longest Newton step in any coordinate of (log mu, alpha, log beta)


@dataclass(frozen=True)
class HawkesFit:
    """Result of :func:`fit_hawkes`. Arrays are read-only.

    Attributes
    ----------
    mu : Float64Array
        ``(d,)`` baseline intensities, events per second.
    alpha : Float64Array
        ``(d, d)`` branching matrix: ``alpha[i, j]`` is the expected number of type-``i``
        events directly triggered by one type-``j`` event (integral of kernel j -> i).
    beta : Float64Array
        ``(d, d)`` decay rates of the kernels, 1/s; kernel
        ``phi_ij(t) = alpha_ij beta_ij exp(-beta_ij t)``.
    loglik : float
        Maximised log-likelihood (nats) on the fitted window.
    stderr : dict[str, Float64Array]
        Standard errors of ``mu``, ``alpha``, ``beta`` from the observed information
        (analytic Hessian). NaN where a parameter is not identified (with a warning).
    ci_lower, ci_upper : dict[str, Float64Array]
        Wald confidence bounds at ``ci_level`` (lower bounds clipped at 0).
    ci_level : float
        Confidence level of the intervals.
    branching_ratio : float
        Spectral radius of ``alpha`` (< 1 for a stationary process).
    ks_stat, ks_pvalue : Float64Array
        ``(d,)`` Kolmogorov-Smirnov statistic and p-value of each component's
        time-rescaled inter-event residuals against Exp(1).
    ks_stat_pooled, ks_pvalue_pooled : float
        The same for all components' residuals pooled.
    n_obs : int
        Events fitted (after merging).
    n_per_component : tuple[int, ...]
        Events fitted per component.
    n_merged : int
        Same-timestamp, same-mark prints merged away before fitting.
    T : float
        Window length, seconds.
    t_start : float
        Window start in the caller's time units (seconds); fitted times are ``t - t_start``.
    converged : bool
        Every row's Newton iteration met the gradient tolerance.
    n_iter : int
        Newton iterations, summed over rows.
    kernel : str
        Kernel family, ``"exp"``.
    """

    mu: Float64Array
    alpha: Float64Array
    beta: Float64Array
    loglik: float
    stderr: dict[str, Float64Array]
    ci_lower: dict[str, Float64Array]
    ci_upper: dict[str, Float64Array]
    ci_level: float
    branching_ratio: float
    ks_stat: Float64Array
    ks_pvalue: Float64Array
    ks_stat_pooled: float
    ks_pvalue_pooled: float
    n_obs: int
    n_per_component: tuple[int, ...]
    n_merged: int
    T: float
    t_start: float
    converged: bool
    n_iter: int
    kernel: str = field(default="exp")

    @property
    def dim(self) -> int:
        """Number of components ``d``."""
        return int(self.mu.shape[0])

    @property
    def half_life_s(self) -> Float64Array:
        """Kernel half-lives ``ln 2 / beta``, seconds."""
        return np.log(2.0) / self.beta

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable plain-Python view (NaN -> None)."""
        return {
            "kernel": self.kernel,
            "dim": self.dim,
            "mu": _plain(self.mu),
            "alpha": _plain(self.alpha),
            "beta": _plain(self.beta),
            "half_life_s": _plain(self.half_life_s),
            "loglik": _plain(self.loglik),
            "stderr": {k: _plain(v) for k, v in self.stderr.items()},
            "ci_lower": {k: _plain(v) for k, v in self.ci_lower.items()},
            "ci_upper": {k: _plain(v) for k, v in self.ci_upper.items()},
            "ci_level": self.ci_level,
            "branching_ratio": _plain(self.branching_ratio),
            "ks_stat": _plain(self.ks_stat),
            "ks_pvalue": _plain(self.ks_pvalue),
            "ks_stat_pooled": _plain(self.ks_stat_pooled),
            "ks_pvalue_pooled": _plain(self.ks_pvalue_pooled),
            "n_obs": self.n_obs,
            "n_per_component": list(self.n_per_component),
            "n_merged": self.n_merged,
            "T": self.T,
            "t_start": self.t_start,
            "converged": self.converged,
            "n_iter": self.n_iter,
        }

    def summary(self) -> str:
        """Human-readable table of estimates, standard errors and diagnostics."""
        d = self.dim
        lines = [
            f"Hawkes fit (kernel={self.kernel}, d={d}): n_obs={self.n_obs} "
            f"(merged {self.n_merged}), T={self.T:.6g} s, loglik={self.loglik:.6g}, "
            f"converged={self.converged}",
            f"branching ratio (spectral radius) = {self.branching_ratio:.4f}",
            f"{'param':<12}{'estimate':>14}{'stderr':>14}"
            f"{f'{self.ci_level:.0%} CI':>30}",
        ]

        def row(name: str, key: str, idx: tuple[int, ...]) -> str:
            est = getattr(self, key)[idx]
            se = self.stderr[key][idx]
            lo, hi = self.ci_lower[key][idx], self.ci_upper[key][idx]
            return f"{name:<12}{est:>14.6g}{se:>14.4g}{f'[{lo:.5g}, {hi:.5g}]':>30}"

        for i in range(d):
            lines.append(row(f"mu[{i}]", "mu", (i,)))
        for i in range(d):
            for j in range(d):
                lines.append(row(f"alpha[{i},{j}]", "alpha", (i, j)))
        for i in range(d):
            for j in range(d):
                lines.append(row(f"beta[{i},{j}]", "beta", (i, j)))
        ks = ", ".join(f"{p:.3g}" for p in self.ks_pvalue)
        lines.append(
            f"time-rescaling K-S vs Exp(1): p per component [{ks}], "
            f"pooled p={self.ks_pvalue_pooled:.3g} (D={self.ks_stat_pooled:.4f})"
        )
        return "\n".join(lines)


def fit_hawkes(
    times: Float64Array,
    marks: Int64Array | None = None,
    *,
    kernel: str = "exp",
    merge_same_ts: bool = True,
    window: tuple[float, float] | None = None,
    ci_level: float = 0.95,
) -> HawkesFit:
    """Fit a ``d``-variate Hawkes process with exponential kernels by maximum likelihood.

    Parameters
    ----------
    times : Float64Array
        Event times in seconds (e.g. ``ts_ns / 1e9``), sorted non-decreasing, finite.
    marks : Int64Array or None
        Component id of each event, integers ``0..d-1`` (bool accepted); ``None`` fits a
        univariate process.
    kernel : str
        Only ``"exp"``: ``phi_ij(t) = alpha_ij beta_ij exp(-beta_ij t)``, ``t`` in seconds.
    merge_same_ts : bool
        Merge events with the same timestamp and the same mark into one (the prints of one
        aggressive order sweeping several resting orders). A self-exciting kernel would
        otherwise read them as infinitely fast excitation.
    window : (float, float) or None
        Observation window ``(start, end)`` in seconds; default first to last event.
    ci_level : float
        Level of the Wald confidence intervals.

    Returns
    -------
    HawkesFit

    Raises
    ------
    CalibrationError
        Malformed input (unsorted, non-finite, bad marks), fewer than
        ``MIN_EVENTS_PER_COMPONENT`` events in a component, or a non-stationary fit
        (a diagonal branching ratio on its bound or spectral radius >= 1).

    Notes
    -----
    The log-likelihood separates by target component, ``L = sum_i L_i(mu_i, alpha_i., beta_i.)``,
    so each row of ``(mu, alpha, beta)`` is fitted on its own: a projected Newton method with
    the analytic Hessian of the O(N d) recursion, on the scale ``(log mu_i, alpha_i., log
    beta_i.)`` with ``alpha >= 0``. Decays are free, one per pair ``(i, j)``.

    Starting values: ``mu0_i = MU0_FRACTION * N_i / T``, ``alpha0_ij = ALPHA0 / d``,
    ``beta0_ij = 1 / median positive inter-event gap`` (pooled). Bounds: ``alpha_ii <= 1``,
    ``alpha_ij <= ALPHA_MAX_OFFDIAG``, ``BETA_MIN_PER_WINDOW / T <= beta <=
    BETA_MAX_PER_GAP / smallest positive gap``.

    Stationarity (spectral radius of ``alpha`` below 1) is enforced by refusal: a row-wise
    MLE that is non-stationary raises, because a boundary estimate has no valid standard
    errors and the data contradict the stationary model.

    Standard errors are the square roots of the diagonal of the inverse observed information
    (block-diagonal by row). An ``alpha_ij`` at its lower bound 0 leaves ``beta_ij``
    unidentified; both get NaN errors and an IdentifiabilityWarning.

    Goodness of fit: by the time-rescaling theorem the compensator increments between
    successive events of each component are i.i.d. Exp(1) under the model; their K-S test
    is reported per component and pooled.
    """
    if kernel != "exp":
        raise CalibrationError(f"kernel {kernel!r} is not supported; use kernel='exp'")
    if not 0.0 < ci_level < 1.0:
        raise CalibrationError(f"ci_level must be in (0, 1), got {ci_level}")
    t_arr, m_arr, d = _validate(times, marks)
    n_merged = 0
    if merge_same_ts:
        t_arr, m_arr, n_merged = merge_same_timestamp(t_arr, m_arr)
    t_start, t_end = (float(t_arr[0]), float(t_arr[-1])) if window is None else window
    if not (math.isfinite(t_start) and math.isfinite(t_end) and t_end > t_start):
        raise CalibrationError(f"window must be finite with end > start, got {window}")
    if t_arr[0] < t_start or t_arr[-1] > t_end:
        raise CalibrationError(f"events fall outside the window {window}")
    rel = t_arr - t_start
    T = t_end - t_start
    counts = np.bincount(m_arr, minlength=d)
    if counts.min() < MIN_EVENTS_PER_COMPONENT:
        raise CalibrationError(
            f"too few events to fit: component {int(counts.argmin())} has {int(counts.min())} "
            f"(after merging), at least {MIN_EVENTS_PER_COMPONENT} per component are needed"
        )
    gaps = np.diff(rel)
    pos = gaps[gaps > 0.0]
    if pos.size == 0:
        raise CalibrationError("all events share one timestamp; no time structure to fit")
    beta_lo = BETA_MIN_PER_WINDOW / T
    beta_hi = BETA_MAX_PER_GAP / float(pos.min())
    beta0 = float(np.clip(1.0 / float(np.median(pos)), beta_lo * 10.0, beta_hi / 10.0))

    mu = np.empty(d)
    alpha = np.empty((d, d))
    beta = np.empty((d, d))
    cov_rows: list[Float64Array] = []
    loglik = 0.0
    converged = True
    n_iter = 0
    for i in range(d):
        x0 = np.concatenate(([math.log(MU0_FRACTION * counts[i] / T)],
                             np.full(d, ALPHA0 / d), np.full(d, math.log(beta0))))
        lower = np.concatenate(([-np.inf], np.zeros(d), np.full(d, math.log(beta_lo))))
        upper = np.concatenate(([np.inf], np.full(d, ALPHA_MAX_OFFDIAG),
                                np.full(d, math.log(beta_hi))))
        upper[1 + i] = 1.0
        x, ll, ok, it = _newton_row(rel, m_arr, i, T, x0, lower, upper, int(counts[i]))
        converged &= ok
        n_iter += it
        mu[i], alpha[i], beta[i] = math.exp(x[0]), x[1:1 + d], np.exp(x[1 + d:])
        loglik += ll
        if alpha[i, i] >= 1.0 - 1e-9:
            raise CalibrationError(
                f"data are explosive: self-excitation of component {i} reached "
                f"alpha={alpha[i, i]:.4f} (>= 1); the process is not stationary on this window"
            )
        on_bound = (x[1 + d:] <= lower[1 + d:] + 1e-9) | (x[1 + d:] >= upper[1 + d:] - 1e-9)
        if np.any(on_bound & (alpha[i] > 0.0)):
            warnings.warn(f"decay of row {i} is on its bound {beta[i]}: the kernel time scale "
                          "is not resolved by this sample", IdentifiabilityWarning, stacklevel=2)
        _, _, hess = row_loglik(rel, m_arr, i, mu[i], alpha[i].copy(), beta[i].copy(), T, True)
        cov_rows.append(_row_covariance(hess, alpha[i], i))
    rho = float(np.max(np.abs(np.linalg.eigvals(alpha))))
    if rho >= 1.0:
        raise CalibrationError(
            f"data are explosive: fitted branching ratio (spectral radius of alpha) is {rho:.4f} "
            ">= 1; the process is not stationary on this window"
        )
    if not converged:
        warnings.warn("Hawkes Newton iterations did not converge; estimates may be unreliable",
                      ConvergenceWarning, stacklevel=2)
    se = np.array([np.sqrt(np.diag(c)) for c in cov_rows])  # (d, 1 + 2d), NaN if unidentified
    stderr = {"mu": se[:, 0], "alpha": se[:, 1:1 + d], "beta": se[:, 1 + d:]}
    est = {"mu": mu, "alpha": alpha, "beta": beta}
    z = float(stats.norm.ppf(0.5 + ci_level / 2.0))
    ci_lower = {k: np.maximum(est[k] - z * stderr[k], 0.0) for k in est}
    ci_upper = {k: est[k] + z * stderr[k] for k in est}
    residuals = rescaled_residuals(rel, m_arr, mu, alpha, beta)
    ks = [stats.kstest(r, "expon") for r in residuals]
    pooled = stats.kstest(np.concatenate(residuals), "expon")
    return HawkesFit(
        mu=_frozen(mu), alpha=_frozen(alpha), beta=_frozen(beta), loglik=float(loglik),
        stderr={k: _frozen(v) for k, v in stderr.items()},
        ci_lower={k: _frozen(v) for k, v in ci_lower.items()},
        ci_upper={k: _frozen(v) for k, v in ci_upper.items()},
        ci_level=float(ci_level), branching_ratio=rho,
        ks_stat=_frozen(np.array([float(k.statistic) for k in ks])),
        ks_pvalue=_frozen(np.array([float(k.pvalue) for k in ks])),
        ks_stat_pooled=float(pooled.statistic), ks_pvalue_pooled=float(pooled.pvalue),
        n_obs=int(t_arr.shape[0]), n_per_component=tuple(int(c) for c in counts),
        n_merged=int(n_merged), T=float(T), t_start=float(t_start),
        converged=bool(converged), n_iter=int(n_iter),
    )


def merge_same_timestamp(
    times: Float64Array, marks: Int64Array
) -> tuple[Float64Array, Int64Array, int]:
    """Collapse events with identical (time, mark) into one.

    Returns the merged times and marks (sorted by time, then mark) and how many were merged.
    """
    order = np.lexsort((marks, times))
    t, m = times[order], marks[order]
    keep = np.ones(t.shape[0], dtype=bool)
    keep[1:] = (t[1:] != t[:-1]) | (m[1:] != m[:-1])
    return t[keep], m[keep], int(t.shape[0] - keep.sum())


def rescaled_residuals(
    times: Float64Array,
    marks: Int64Array,
    mu: Float64Array,
    alpha: Float64Array,
    beta: Float64Array,
) -> list[Float64Array]:
    """Time-rescaled inter-event residuals per component (Exp(1) under the model).

    ``times`` are seconds from the window start (the fit's ``times - t_start``), merged the
    same way as the fit. Element ``i`` holds ``Lambda_i(t_k) - Lambda_i(t_{k-1})`` over
    successive type-``i`` events, the first measured from 0.
    """
    comp = compensator_at_events(times, marks, np.asarray(mu, np.float64),
                                 np.asarray(alpha, np.float64), np.asarray(beta, np.float64))
    out = []
    for i in range(mu.shape[0]):
        cum = comp[marks == i, i]
        out.append(np.diff(cum, prepend=0.0))
    return out


def intensity_path(
    times: Float64Array,
    marks: Int64Array,
    mu: Float64Array,
    alpha: Float64Array,
    beta: Float64Array,
    grid: Float64Array,
) -> Float64Array:
    """Left-limit intensities (events per second) of each component at sorted ``grid`` times.

    ``times`` and ``grid`` are seconds from the window start. Returns ``(len(grid), d)``.
    """
    return intensity_at(times, marks, np.asarray(mu, np.float64), np.asarray(alpha, np.float64),
                        np.asarray(beta, np.float64), np.asarray(grid, np.float64))


def _validate(
    times: Float64Array, marks: Int64Array | None
) -> tuple[Float64Array, Int64Array, int]:
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1:
        raise CalibrationError(f"times must be 1-D, got shape {t.shape}")
    if t.shape[0] < 2:
        raise CalibrationError(
            f"too few events to fit: {t.shape[0]}, at least {MIN_EVENTS_PER_COMPONENT} "
            "per component are needed"
        )
    bad = np.flatnonzero(~np.isfinite(t))
    if bad.size:
        raise CalibrationError(f"times must be finite; first non-finite value at index {bad[0]}")
    unsorted = np.flatnonzero(np.diff(t) < 0.0)
    if unsorted.size:
        raise CalibrationError(
            f"times must be sorted; first violation at index {unsorted[0] + 1} "
            f"({t[unsorted[0] + 1]!r} < {t[unsorted[0]]!r})"
        )
    if marks is None:
        return t, np.zeros(t.shape[0], dtype=np.int64), 1
    m_raw = np.asarray(marks)
    if m_raw.shape != t.shape:
        raise CalibrationError(f"marks shape {m_raw.shape} does not match times {t.shape}")
    if m_raw.dtype == np.bool_:
        m_raw = m_raw.astype(np.int64)
    if not np.issubdtype(m_raw.dtype, np.integer):
        raise CalibrationError(f"marks must be integer component ids, got dtype {m_raw.dtype}")
    m = m_raw.astype(np.int64)
    neg = np.flatnonzero(m < 0)
    if neg.size:
        raise CalibrationError(f"marks must be >= 0; first violation at index {neg[0]}")
    return t, m, int(m.max()) + 1


def _newton_row(
    times: Float64Array, marks: Int64Array, target: int, T: float,
    x0: Float64Array, lower: Float64Array, upper: Float64Array, n_target: int,
) -> tuple[Float64Array, float, bool, int]:
    """Projected Newton on ``x = (log mu, alpha row, log beta row)``; minimises ``-L_i / N_i``.

    Returns ``(x, L_i, converged, iterations)``. The Hessian is made positive definite by
    flipping and flooring its eigenvalues, and every step is backtracked, so each iteration
    decreases the objective; bound-active coordinates with an outward gradient are frozen.
    """
    d = (x0.shape[0] - 1) // 2
    is_log = np.ones(x0.shape[0], dtype=bool)
    is_log[1:1 + d] = False

    def evaluate(x: Float64Array) -> tuple[float, Float64Array, Float64Array]:
        theta = np.where(is_log, np.exp(x), x)
        ll, g, h = row_loglik(times, marks, target, float(theta[0]), theta[1:1 + d].copy(),
                              theta[1 + d:].copy(), T, True)
        jac = np.where(is_log, theta, 1.0)
        gx = g * jac
        hx = h * np.outer(jac, jac) + np.diag(np.where(is_log, gx, 0.0))
        return -ll / n_target, -gx / n_target, -hx / n_target

    x = np.clip(x0, lower, upper)
    f, g, h = evaluate(x)
    for it in range(1, _MAX_NEWTON_ITER + 1):
        free = ~(((x <= lower) & (g > 0.0)) | ((x >= upper) & (g < 0.0)))
        if np.max(np.abs(g[free]), initial=0.0) < _GRAD_TOL:
            return x, -f * n_target, True, it - 1
        w, v = np.linalg.eigh(h[np.ix_(free, free)])
        w = np.maximum(np.abs(w), 1e-8 * max(1.0, float(np.max(np.abs(w)))))
        step = np.zeros_like(x)
        step[free] = -(v @ ((v.T @ g[free]) / w))
        # Scale (not clip) long steps so the direction stays a descent direction; at most
        # a factor e^2 in mu and beta, or 2 in alpha, per iteration.
        step *= min(1.0, _MAX_STEP / max(float(np.max(np.abs(step))), 1e-300))
        accepted = _backtrack(evaluate, x, f, g, step, lower, upper)
        if accepted is None:  # Newton direction failed: fall back to steepest descent
            grad_step = np.where(free, -g, 0.0)
            grad_step *= _MAX_STEP / max(float(np.max(np.abs(grad_step))), 1e-300)
            accepted = _backtrack(evaluate, x, f, g, grad_step, lower, upper)
        if accepted is None:
            return x, -f * n_target, bool(np.max(np.abs(g[free])) < 1e3 * _GRAD_TOL), it
        x_new, f_new, g_new, h_new = accepted
        if abs(f - f_new) < 1e-15 * max(1.0, abs(f)) and np.allclose(x, x_new, atol=1e-12):
            x, f, g, h = x_new, f_new, g_new, h_new
            return x, -f * n_target, True, it
        x, f, g, h = x_new, f_new, g_new, h_new
    return x, -f * n_target, False, _MAX_NEWTON_ITER


def _backtrack(
    evaluate: Any, x: Float64Array, f: float, g: Float64Array, step: Float64Array,
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


def _row_covariance(hess: Float64Array, alpha_row: Float64Array, target: int) -> Float64Array:
    """Inverse observed information of one row on the natural scale; NaN where unidentified."""
    d = alpha_row.shape[0]
    p = 1 + 2 * d
    ident = np.ones(p, dtype=bool)
    dead = alpha_row <= 1e-8  # alpha on its 0 bound: not interior, and beta not identified
    ident[1:1 + d] &= ~dead
    ident[1 + d:] &= ~dead
    cov = np.full((p, p), np.nan)
    info = -hess[np.ix_(ident, ident)]
    try:
        chol = np.linalg.cholesky(info)
    except np.linalg.LinAlgError:
        warnings.warn(f"observed information of row {target} is not positive definite; "
                      "standard errors unavailable", IdentifiabilityWarning, stacklevel=3)
        return cov
    inv_chol = np.linalg.inv(chol)
    cov[np.ix_(ident, ident)] = inv_chol.T @ inv_chol
    if dead.any():
        warnings.warn(f"alpha[{target}, {np.flatnonzero(dead).tolist()}] at 0: these and their "
                      "decays have no standard error", IdentifiabilityWarning, stacklevel=3)
    return cov


def _frozen(a: Float64Array) -> Float64Array:
    out = np.array(a, dtype=np.float64)
    out.setflags(write=False)
    return out


def _plain(value: Any) -> Any:
    """numpy scalars/arrays -> floats/lists with NaN -> None."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    f = float(value)
    return f if math.isfinite(f) else None
