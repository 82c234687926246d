"""Result object of :func:`calibration.hawkes.fit_hawkes` and the helpers that build it.

:class:`HawkesFit` holds the estimates (times in seconds, intensities in events per second,
``alpha`` dimensionless, ``beta`` in 1/s), their Wald errors and the goodness-of-fit
diagnostics, with a JSON view and a printable summary. The helpers turn the per-term
estimates into the reported aggregates (branching sums, effective decays and their
delta-method errors) and freeze arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from calibration.hawkes.diagnostics import LJUNG_BOX_LAGS
from calibration.hawkes.solver import ALPHA_ZERO
from calibration.types import Float64Array

if TYPE_CHECKING:
    from calibration.hawkes.burst_toxicity import BurstToxicity

__all__ = [
    "HawkesFit",
    "aggregate_stderr",
    "effective_decay",
    "frozen_array",
    "to_plain",
]


def published_decay(alpha: Any, beta: Any) -> float | None:
    """``sum n_ij / sum (n_ij / beta_ij)``: the reciprocal of the branching-weighted mean
    lag, 1/s (the one decay the quoting block publishes). Channels with no excitation or
    an unidentified beta carry no weight, so an empty cross channel cannot drag the decay
    the way a plain mean of beta does; None when none is left."""
    a, b = np.asarray(alpha, float), np.asarray(beta, float)
    use = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
    if not use.any():
        return None
    return float(a[use].sum() / (a[use] / b[use]).sum())


@dataclass(frozen=True)
class HawkesFit:
    """Result of :func:`calibration.hawkes.fit_hawkes`. Arrays are read-only.

    Array elements that could not be estimated are NaN here and None in :meth:`to_dict`.

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
    burst_toxicity: BurstToxicity | None = None
    """Extra adverse selection per unit excess intensity on the fit's own day, set by the
    caller that has the mids (``calibration.hawkes.burst_toxicity``); None if not
    measured."""

    def effective_decay_per_s(self) -> float | None:
        """:func:`published_decay` of this fit, 1/s."""
        return published_decay(self.alpha, self.beta)

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
            out[key] = to_plain(getattr(self, key))
        for key in ("stderr", "ci_lower", "ci_upper"):
            out[key] = {k: to_plain(v) for k, v in getattr(self, key).items()}
        out["burst_toxicity"] = (
            None if self.burst_toxicity is None else self.burst_toxicity.to_dict()
        )
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


def effective_decay(a_terms: Float64Array, b_terms: Float64Array) -> Float64Array:
    """``sum alpha / sum(alpha / beta)``: reciprocal mean lag; harmonic mean if all alpha = 0."""
    total = a_terms.sum(axis=2)
    lag = (a_terms / b_terms).sum(axis=2)
    harmonic = a_terms.shape[2] / (1.0 / b_terms).sum(axis=2)
    return np.where(total > ALPHA_ZERO, total / np.where(lag > 0.0, lag, 1.0), harmonic)


def aggregate_stderr(
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


def frozen_array(a: Float64Array) -> Float64Array:
    """Read-only float64 copy of ``a`` (result arrays must not be mutated)."""
    out = np.array(a, dtype=np.float64)
    out.setflags(write=False)
    return out


def to_plain(value: Any) -> Any:
    """numpy scalars/arrays -> floats/lists with NaN -> None."""
    if isinstance(value, np.ndarray):
        return [to_plain(v) for v in value.tolist()]
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    f = float(value)
    return f if math.isfinite(f) else None
