"""Maximum-likelihood fit of multivariate Hawkes processes with exponential-type kernels.

Entry point :func:`fit_hawkes` (DESIGN §4). Times are in seconds; intensities in events
per second; the branching matrix ``alpha`` is dimensionless; decays ``beta`` are in 1/s
(half-life ``ln 2 / beta`` seconds). The recursions and the row solver live in
:mod:`calibration.hawkes_kernels`.

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
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from calibration.errors import CalibrationError, ConvergenceWarning, IdentifiabilityWarning
from calibration.hawkes_kernels import (
    ALPHA_ZERO,
    compensator_at_events,
    fit_row,
    intensity_at,
    row_covariance,
)
from calibration.types import Float64Array, Int64Array

__all__ = [
    "ALPHA0",
    "ALPHA_MAX_OFFDIAG",
    "BETA_MAX_PER_GAP",
    "BETA_MIN_PER_WINDOW",
    "LJUNG_BOX_LAGS",
    "MIN_EVENTS_PER_BIN",
    "MIN_EVENTS_PER_COMPONENT",
    "MU0_FRACTION",
    "SUMEXP_DECAY_SPREAD",
    "HawkesFit",
    "fit_hawkes",
    "intensity_path",
    "merge_same_timestamp",
    "rescaled_residuals",
]

#: Fewer events than this in any component (after merging) and we refuse to fit: each
#: target row has ``1 + 2 d U`` free parameters and the Wald errors need far more events.
MIN_EVENTS_PER_COMPONENT = 50
#: With a piecewise-constant baseline, fewer events of a component than this in one bin
#: and we refuse: that bin's baseline would sit on its 0 bound with no standard error.
MIN_EVENTS_PER_BIN = 10
#: Starting baseline: this fraction of the component's mean rate in each baseline bin (the
#: rest is attributed to excitation, consistent with a start branching ratio of ``ALPHA0``).
MU0_FRACTION = 0.5
#: Starting branching matrix: every entry ``ALPHA0 / d`` (spectral radius ``ALPHA0``),
#: split equally over the ``U`` terms of a sum-of-exponentials kernel.
ALPHA0 = 0.3
#: Sum-of-exponentials start: decays spread geometrically by this factor around ``beta0``.
SUMEXP_DECAY_SPREAD = 10.0
#: Decay bounds (1/s): slower than ``BETA_MIN_PER_WINDOW / T`` cannot be told from the
#: baseline inside the window; faster than ``BETA_MAX_PER_GAP / smallest gap`` is below the
#: clock resolution. An estimate on either bound raises an IdentifiabilityWarning.
BETA_MIN_PER_WINDOW = 0.1
BETA_MAX_PER_GAP = 100.0
#: Off-diagonal branching entries may exceed 1 in a stationary matrix; diagonal ones may not.
ALPHA_MAX_OFFDIAG = 20.0
#: Lags of the Ljung-Box test on each component's residual sequence.
LJUNG_BOX_LAGS = 10
_KERNELS = ("exp", "sumexp")


@dataclass(frozen=True)
class HawkesFit:
    """Result of :func:`fit_hawkes`. Arrays are read-only.

    Attributes
    ----------
    mu : Float64Array
        ``(d,)`` baseline intensities, events per second (time-averaged over the window
        when the baseline is piecewise constant).
    baseline : Float64Array
        ``(d, B)`` baseline of each component on each of the ``B`` bins, events per second
        (``B = 1`` and ``baseline[:, 0] == mu`` without ``baseline_edges``).
    baseline_edges : Float64Array
        ``(B + 1,)`` bin edges in the caller's time units (seconds); the fitted window.
    alpha : Float64Array
        ``(d, d)`` branching matrix: ``alpha[i, j]`` is the expected number of type-``i``
        events directly triggered by one type-``j`` event (integral of kernel j -> i).
    beta : Float64Array
        ``(d, d)`` decay rates, 1/s. For ``kernel="exp"`` the kernel is
        ``phi_ij(t) = alpha_ij beta_ij exp(-beta_ij t)``; for ``"sumexp"`` this is the
        effective decay ``1 / mean lag = sum_u alpha_iju / sum_u (alpha_iju / beta_iju)``.
    alpha_terms, beta_terms : Float64Array
        ``(d, d, U)`` amplitudes and decays (1/s) of the kernel's exponential terms, fastest
        first; ``U = 1`` for ``"exp"``.
    loglik : float
        Maximised log-likelihood (nats) on the fitted window.
    stderr : dict[str, Float64Array]
        Standard errors of ``mu``, ``baseline``, ``alpha``, ``beta``, ``alpha_terms``,
        ``beta_terms`` from
        the observed information (analytic Hessian; delta method for the sums and effective
        decays). NaN where a parameter is not identified (with a warning).
    ci_lower, ci_upper : dict[str, Float64Array]
        Wald confidence bounds at ``ci_level`` (lower bounds clipped at 0), same keys.
    ci_level : float
        Confidence level of the intervals.
    branching_ratio : float
        Spectral radius of ``alpha`` (< 1 for a stationary process).
    ks_stat, ks_pvalue : Float64Array
        ``(d,)`` Kolmogorov-Smirnov statistic and p-value of each component's
        time-rescaled inter-event residuals against Exp(1).
    ks_stat_pooled, ks_pvalue_pooled : float
        The same for all components' residuals pooled.
    lb_stat, lb_pvalue : Float64Array
        ``(d,)`` Ljung-Box statistic and chi-square p-value (``LJUNG_BOX_LAGS`` lags) of
        autocorrelation in each component's residual sequence, which must be i.i.d. under
        the model; it catches a switching baseline that the K-S test misses.
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
        ``"exp"`` or ``"sumexp"``.
    """

    mu: Float64Array
    baseline: Float64Array
    baseline_edges: Float64Array
    alpha: Float64Array
    beta: Float64Array
    alpha_terms: Float64Array
    beta_terms: Float64Array
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
    lb_stat: Float64Array
    lb_pvalue: Float64Array
    n_obs: int
    n_per_component: tuple[int, ...]
    n_merged: int
    T: float
    t_start: float
    converged: bool
    n_iter: int
    kernel: str

    @property
    def dim(self) -> int:
        """Number of components ``d``."""
        return int(self.mu.shape[0])

    @property
    def n_terms(self) -> int:
        """Exponential terms per kernel ``U``."""
        return int(self.alpha_terms.shape[2])

    @property
    def half_life_s(self) -> Float64Array:
        """Half-lives ``ln 2 / beta`` of the (effective) decays, seconds."""
        return np.log(2.0) / self.beta

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable plain-Python view (NaN -> None)."""
        out: dict[str, Any] = {"kernel": self.kernel, "dim": self.dim, "n_terms": self.n_terms}
        for key in ("mu", "baseline", "baseline_edges", "alpha", "beta", "alpha_terms",
                    "beta_terms", "half_life_s",
                    "loglik", "branching_ratio", "ks_stat", "ks_pvalue", "ks_stat_pooled",
                    "ks_pvalue_pooled", "lb_stat", "lb_pvalue"):
            out[key] = _plain(getattr(self, key))
        for key in ("stderr", "ci_lower", "ci_upper"):
            out[key] = {k: _plain(v) for k, v in getattr(self, key).items()}
        out.update(ci_level=self.ci_level, n_obs=self.n_obs,
                   n_per_component=list(self.n_per_component), n_merged=self.n_merged,
                   T=self.T, t_start=self.t_start, converged=self.converged,
                   n_iter=self.n_iter)
        return out

    def summary(self) -> str:
        """Human-readable table of estimates, standard errors and diagnostics."""
        lines = [
            f"Hawkes fit (kernel={self.kernel}, d={self.dim}, terms={self.n_terms}): "
            f"n_obs={self.n_obs} (merged {self.n_merged}), T={self.T:.6g} s, "
            f"loglik={self.loglik:.6g}, converged={self.converged}",
            f"branching ratio (spectral radius) = {self.branching_ratio:.4f}",
            f"{'param':<20}{'estimate':>13}{'stderr':>12}{f'{self.ci_level:.0%} CI':>28}",
        ]
        keys = ["mu", "alpha", "beta"]
        if self.baseline.shape[1] > 1:
            keys.insert(1, "baseline")
        if self.n_terms > 1:
            keys += ["alpha_terms", "beta_terms"]
        for key in keys:
            est = getattr(self, key)
            for idx in np.ndindex(est.shape):
                lo, hi = self.ci_lower[key][idx], self.ci_upper[key][idx]
                name = f"{key}[{','.join(map(str, idx))}]"
                lines.append(f"{name:<20}{est[idx]:>13.6g}{self.stderr[key][idx]:>12.4g}"
                             f"{f'[{lo:.5g}, {hi:.5g}]':>28}")
        ks = ", ".join(f"{p:.3g}" for p in self.ks_pvalue)
        lb = ", ".join(f"{p:.3g}" for p in self.lb_pvalue)
        lines.append(f"time-rescaling K-S vs Exp(1): p per component [{ks}], "
                     f"pooled p={self.ks_pvalue_pooled:.3g} (D={self.ks_stat_pooled:.4f})")
        lines.append(f"residual Ljung-Box ({LJUNG_BOX_LAGS} lags): p per component [{lb}]")
        return "\n".join(lines)


def fit_hawkes(
    times: Float64Array,
    marks: Int64Array | None = None,
    *,
    kernel: str = "exp",
    n_terms: int | None = None,
    merge_same_ts: bool = True,
    window: tuple[float, float] | None = None,
    baseline_edges: Float64Array | None = None,
    ci_level: float = 0.95,
) -> HawkesFit:
    """Fit a ``d``-variate Hawkes process by maximum likelihood.

    Parameters
    ----------
    times : Float64Array
        Event times in seconds (e.g. ``ts_ns / 1e9``), sorted non-decreasing, finite.
    marks : Int64Array or None
        Component id of each event, integers ``0..d-1`` (bool accepted); ``None`` fits a
        univariate process.
    kernel : str
        ``"exp"``: ``phi_ij(t) = alpha_ij beta_ij exp(-beta_ij t)`` (t in seconds), one free
        decay per pair ``(i, j)``. ``"sumexp"``: ``phi_ij(t) = sum_u alpha_iju beta_iju
        exp(-beta_iju t)`` with ``n_terms`` free decays per pair, for multi-scale excitation.
    n_terms : int or None
        Terms per kernel for ``"sumexp"`` (default 2); must be 1 (or None) for ``"exp"``.
    merge_same_ts : bool
        Merge events with the same timestamp and the same mark into one (the prints of one
        aggressive order sweeping several resting orders), so that they count as the one
        event they are; events at one time never excite each other (zero lag).
    window : (float, float) or None
        Observation window ``(start, end)`` in seconds; default first to last event, or
        the outer ``baseline_edges``.
    baseline_edges : Float64Array or None
        Strictly increasing bin edges in seconds (same units and origin as ``times``) of a
        piecewise-constant baseline ``mu_i(t) = mu_ib`` on bin ``b``, e.g. hourly edges
        for an intraday activity profile; they span the window. ``None``: constant baseline.
    ci_level : float
        Level of the Wald confidence intervals.

    Returns
    -------
    HawkesFit

    Raises
    ------
    CalibrationError
        Malformed input (unsorted, non-finite, bad marks), fewer than
        ``MIN_EVENTS_PER_COMPONENT`` events in a component (``MIN_EVENTS_PER_BIN`` in a
        baseline bin), or a non-stationary fit
        (self-excitation ``alpha_ii >= 1`` or spectral radius of ``alpha`` >= 1).

    Notes
    -----
    The log-likelihood separates by target component, ``L = sum_i L_i(row i)``, so each
    row is fitted on its own (:func:`calibration.hawkes_kernels.fit_row`): projected Newton
    with the analytic Hessian of the O(N d U) recursion, on the scale ``(log mu, alpha, log
    beta)`` with the bound ``alpha >= 0``.

    A baseline that varies through the day but is fitted as a constant biases the
    excitation (a slow rate swing reads as clustering); ``baseline_edges`` removes it.

    Starting values: ``mu0_ib = MU0_FRACTION * N_ib / len_b`` (``N_ib`` events of ``i`` in
    bin ``b``); ``alpha0_iju = ALPHA0 / (d U)``;
    ``beta0 = 1 / median positive inter-event gap`` (pooled), spread geometrically by
    ``SUMEXP_DECAY_SPREAD`` across terms. Bounds: each diagonal term ``<= 1``, off-diagonal
    terms ``<= ALPHA_MAX_OFFDIAG``, ``BETA_MIN_PER_WINDOW / T <= beta <= BETA_MAX_PER_GAP /
    smallest positive gap``.

    Stationarity (spectral radius of ``alpha`` below 1) is enforced by refusal: a row-wise
    MLE that is non-stationary raises, because a boundary estimate has no valid standard
    errors and the data contradict the stationary model.

    Standard errors: square roots of the diagonal of the inverse observed information
    (block-diagonal by row). An amplitude at its lower bound 0 is not interior and leaves
    its decay unidentified: both get NaN errors and an IdentifiabilityWarning.

    Goodness of fit: by the time-rescaling theorem the compensator increments between
    successive events of each component are i.i.d. Exp(1) under the model. Their K-S test
    (per component and pooled) checks the marginal law; it is weak against a baseline that
    switches regimes, which a near-critical branching ratio absorbs, so a Ljung-Box test of
    the residuals' autocorrelation is reported too.
    """
    if kernel not in _KERNELS:
        raise CalibrationError(f"kernel {kernel!r} is not supported; use one of {_KERNELS}")
    U = (2 if kernel == "sumexp" else 1) if n_terms is None else int(n_terms)
    if U < 1 or (kernel == "exp" and U != 1):
        raise CalibrationError(f"n_terms={n_terms} is invalid for kernel {kernel!r}")
    if not 0.0 < ci_level < 1.0:
        raise CalibrationError(f"ci_level must be in (0, 1), got {ci_level}")
    t_arr, m_arr, d = _validate(times, marks)
    n_merged = 0
    if merge_same_ts:
        t_arr, m_arr, n_merged = merge_same_timestamp(t_arr, m_arr)
    edges = None if baseline_edges is None else _validate_edges(baseline_edges, window)
    if window is None:
        window = (float(t_arr[0]), float(t_arr[-1])) if edges is None else (edges[0], edges[-1])
    t_start, t_end = float(window[0]), float(window[1])
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
    edges_rel = np.array([0.0, T]) if edges is None else np.asarray(edges) - t_start
    n_bins = edges_rel.shape[0] - 1
    bin_len = np.diff(edges_rel)
    bin_of_event = np.clip(np.searchsorted(edges_rel, rel, side="right") - 1, 0, n_bins - 1)
    bin_counts = np.zeros((d, n_bins), dtype=np.int64)
    np.add.at(bin_counts, (m_arr, bin_of_event), 1)
    if n_bins > 1 and bin_counts.min() < MIN_EVENTS_PER_BIN:
        i_low, b_low = np.unravel_index(int(bin_counts.argmin()), bin_counts.shape)
        raise CalibrationError(
            f"too few events in baseline bin {b_low} starting at {edges_rel[b_low] + t_start}: "
            f"component {i_low} has {bin_counts[i_low, b_low]}, at least {MIN_EVENTS_PER_BIN} "
            "per component and bin are needed; use wider bins"
        )
    gaps = np.diff(rel)
    pos = gaps[gaps > 0.0]
    if pos.size == 0:
        raise CalibrationError("all events share one timestamp; no time structure to fit")
    log_lo = math.log(BETA_MIN_PER_WINDOW / T)
    log_hi = math.log(BETA_MAX_PER_GAP / float(pos.min()))
    log_beta0 = float(np.clip(-math.log(float(np.median(pos))), log_lo + 2.3, log_hi - 2.3))
    spread = math.log(SUMEXP_DECAY_SPREAD) * (0.5 * (U - 1) - np.arange(U))
    n_ch = d * U

    baseline = np.empty((d, n_bins))
    a_terms = np.empty((d, d, U))
    b_terms = np.empty((d, d, U))
    se_rows = np.full((d, n_bins + 2 * n_ch), np.nan)
    se_mu = np.full(d, np.nan)
    se_alpha = np.full((d, d), np.nan)
    se_beta = np.full((d, d), np.nan)
    loglik = 0.0
    converged = True
    n_iter = 0
    for i in range(d):
        mu0 = MU0_FRACTION * np.maximum(bin_counts[i], 1) / bin_len
        x0 = np.concatenate((np.log(mu0), np.full(n_ch, ALPHA0 / n_ch),
                             np.tile(log_beta0 + spread, d)))
        lower = np.concatenate((np.full(n_bins, -np.inf), np.zeros(n_ch), np.full(n_ch, log_lo)))
        a_hi = np.full(n_ch, ALPHA_MAX_OFFDIAG)
        a_hi[i * U:(i + 1) * U] = 1.0
        upper = np.concatenate((np.full(n_bins, np.inf), a_hi, np.full(n_ch, log_hi)))
        x, ll, ok, it, hess = fit_row(rel, m_arr, i, bin_of_event, bin_len, U, T, x0, lower,
                                      upper)
        converged &= ok
        n_iter += it
        loglik += ll
        baseline[i] = np.exp(x[:n_bins])
        a_row, b_row = x[n_bins:n_bins + n_ch], np.exp(x[n_bins + n_ch:])
        a_terms[i], b_terms[i] = a_row.reshape(d, U), b_row.reshape(d, U)
        if a_terms[i, i].sum() >= 1.0 - 1e-9:
            raise CalibrationError(
                f"data are explosive: self-excitation of component {i} reached "
                f"alpha={a_terms[i, i].sum():.4f} (>= 1); the process is not stationary "
                "on this window"
            )
        on_bound = (x[n_bins + n_ch:] <= log_lo + 1e-9) | (x[n_bins + n_ch:] >= log_hi - 1e-9)
        if np.any(on_bound & (a_row > ALPHA_ZERO)):
            warnings.warn(f"a decay of row {i} is on its bound ({b_row}): the kernel time scale "
                          "is not resolved by this sample", IdentifiabilityWarning, stacklevel=2)
        cov = row_covariance(hess, a_row, n_bins)
        if cov is None:
            warnings.warn(f"observed information of row {i} is not positive definite; "
                          "standard errors unavailable", IdentifiabilityWarning, stacklevel=2)
            continue
        se_rows[i] = np.sqrt(np.diag(cov))
        weights = bin_len / T  # mu_i is the time average of the baseline
        se_mu[i] = math.sqrt(float(weights @ cov[:n_bins, :n_bins] @ weights))
        se_alpha[i], se_beta[i] = _aggregate_stderr(cov[n_bins:, n_bins:], a_terms[i],
                                                    b_terms[i])
        dead = np.argwhere(a_terms[i] <= ALPHA_ZERO)
        if dead.size:
            where = ", ".join(f"alpha[{i}, {j}]" + (f" term {u}" if U > 1 else "")
                              for j, u in dead)
            warnings.warn(f"{where} at 0: no standard error for it or its decay",
                          IdentifiabilityWarning, stacklevel=2)
    mu = baseline @ bin_len / T
    alpha = a_terms.sum(axis=2)
    beta = _effective_decay(a_terms, b_terms)
    rho = float(np.max(np.abs(np.linalg.eigvals(alpha))))
    if rho >= 1.0:
        raise CalibrationError(
            f"data are explosive: fitted branching ratio (spectral radius of alpha) is {rho:.4f} "
            ">= 1; the process is not stationary on this window"
        )
    if not converged:
        warnings.warn("Hawkes Newton iterations did not converge; estimates may be unreliable",
                      ConvergenceWarning, stacklevel=2)
    # present the terms of each kernel fastest first (the likelihood is label-invariant)
    order = np.argsort(-b_terms, axis=2, kind="stable")
    se_a_terms = se_rows[:, n_bins:n_bins + n_ch].reshape(d, d, U)
    se_b_terms = se_rows[:, n_bins + n_ch:].reshape(d, d, U)
    est = {"mu": mu, "baseline": baseline, "alpha": alpha, "beta": beta,
           "alpha_terms": np.take_along_axis(a_terms, order, 2),
           "beta_terms": np.take_along_axis(b_terms, order, 2)}
    stderr = {"mu": se_mu, "baseline": se_rows[:, :n_bins], "alpha": se_alpha, "beta": se_beta,
              "alpha_terms": np.take_along_axis(se_a_terms, order, 2),
              "beta_terms": np.take_along_axis(se_b_terms, order, 2)}
    z = float(stats.norm.ppf(0.5 + ci_level / 2.0))
    residuals = rescaled_residuals(rel, m_arr, baseline, a_terms, b_terms, edges_rel)
    ks = [_ks_exp1(r) for r in residuals]
    pooled = ks[0] if d == 1 else _ks_exp1(np.concatenate(residuals))
    lb = [_ljung_box(r, LJUNG_BOX_LAGS) for r in residuals]
    return HawkesFit(
        mu=_frozen(mu), baseline=_frozen(baseline), baseline_edges=_frozen(edges_rel + t_start),
        alpha=_frozen(alpha), beta=_frozen(beta),
        alpha_terms=_frozen(est["alpha_terms"]), beta_terms=_frozen(est["beta_terms"]),
        loglik=float(loglik), stderr={k: _frozen(v) for k, v in stderr.items()},
        ci_lower={k: _frozen(np.maximum(est[k] - z * stderr[k], 0.0)) for k in est},
        ci_upper={k: _frozen(est[k] + z * stderr[k]) for k in est},
        ci_level=float(ci_level), branching_ratio=rho,
        ks_stat=_frozen(np.array([k[0] for k in ks])),
        ks_pvalue=_frozen(np.array([k[1] for k in ks])),
        ks_stat_pooled=pooled[0], ks_pvalue_pooled=pooled[1],
        lb_stat=_frozen(np.array([q[0] for q in lb])),
        lb_pvalue=_frozen(np.array([q[1] for q in lb])),
        n_obs=int(t_arr.shape[0]), n_per_component=tuple(int(c) for c in counts),
        n_merged=int(n_merged), T=float(T), t_start=float(t_start),
        converged=bool(converged), n_iter=int(n_iter), kernel=kernel,
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


def _ks_exp1(residuals: Float64Array) -> tuple[float, float]:
    """One-sample K-S statistic and p-value (exact law, ``kstwo``) against Exp(1).

    Same numbers as ``scipy.stats.kstest(r, "expon")`` with a single sort.
    """
    x = np.sort(residuals)
    n = x.shape[0]
    cdf = -np.expm1(-x)
    stat = float(max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n)))
    return stat, float(stats.kstwo.sf(stat, n))


def _ljung_box(residuals: Float64Array, lags: int) -> tuple[float, float]:
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


def _effective_decay(a_terms: Float64Array, b_terms: Float64Array) -> Float64Array:
    """``sum alpha / sum(alpha / beta)``: reciprocal mean lag; harmonic mean if all alpha = 0."""
    total = a_terms.sum(axis=2)
    lag = (a_terms / b_terms).sum(axis=2)
    harmonic = a_terms.shape[2] / (1.0 / b_terms).sum(axis=2)
    return np.where(total > ALPHA_ZERO, total / np.where(lag > 0.0, lag, 1.0), harmonic)


def _aggregate_stderr(
    cov: Float64Array, a_terms: Float64Array, b_terms: Float64Array
) -> tuple[Float64Array, Float64Array]:
    """Delta-method stderr of ``alpha_ij = sum_u alpha_iju`` and the effective decay, per j.

    ``cov`` is the excitation block ``[alpha, beta]`` of the row covariance (NaN rows for
    amplitudes on their 0 bound, which are held fixed); ``a_terms``, ``b_terms`` are the
    row's ``(d, U)`` terms.
    """
    d, U = a_terms.shape
    n_ch = d * U
    se_a = np.full(d, np.nan)
    se_b = np.full(d, np.nan)
    for j in range(d):
        ch = np.arange(j * U, (j + 1) * U)
        live = ch[a_terms[j] > ALPHA_ZERO]
        if live.size == 0:
            continue
        a, b = a_terms[j][live - j * U], b_terms[j][live - j * U]
        idx = np.concatenate((live, n_ch + live))
        sub = cov[np.ix_(idx, idx)]
        total, lag = a.sum(), (a / b).sum()
        beta_eff = total / lag
        grad_sum = np.concatenate((np.ones(live.size), np.zeros(live.size)))
        grad_eff = np.concatenate(((1.0 - beta_eff / b) / lag, total * a / (lag * b) ** 2))
        se_a[j] = math.sqrt(max(float(grad_sum @ sub @ grad_sum), 0.0))
        se_b[j] = math.sqrt(max(float(grad_eff @ sub @ grad_eff), 0.0))
    return se_a, se_b


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
        k = int(unsorted[0]) + 1
        raise CalibrationError(
            f"times must be sorted; first violation at index {k} ({t[k]!r} < {t[k - 1]!r})"
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


def _validate_edges(
    baseline_edges: Float64Array, window: tuple[float, float] | None
) -> Float64Array:
    edges = np.asarray(baseline_edges, dtype=np.float64)
    if edges.ndim != 1 or edges.shape[0] < 2 or not np.all(np.isfinite(edges)):
        raise CalibrationError("baseline_edges must be a finite 1-D array of at least 2 edges")
    bad = np.flatnonzero(np.diff(edges) <= 0.0)
    if bad.size:
        raise CalibrationError(
            f"baseline_edges must be strictly increasing; first violation at index {bad[0] + 1}"
        )
    if window is not None and (window[0] != edges[0] or window[1] != edges[-1]):
        raise CalibrationError(f"window {window} must equal the outer baseline_edges")
    return edges


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
