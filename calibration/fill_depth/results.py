"""Result objects of the fill-depth fit (:mod:`calibration.fill_depth`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from calibration.errors import CalibrationError
from calibration.fill_depth import laws as dl
from calibration.types import Float64Array

__all__ = ["FillDepthFit", "LawFit", "PowerLawTail", "VuongTest", "log_lambda"]


def _f(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


@dataclass(frozen=True)
class LawFit:
    """One law fitted to a lower-truncated sample ``depth >= lo`` (the quoting support).

    Attributes
    ----------
    name : str
        "exponential", "power_law" or "lognormal".
    params : dict
        exponential: ``kappa`` (per bps); power_law: ``alpha``, ``xmin`` (bps, = lo);
        lognormal: ``mu``, ``sigma`` (of ln depth in bps).
    stderr : dict
        Asymptotic (Fisher, under the law itself) standard errors of ``params``; None where
        not defined.
    ks : float
        K-S distance on the support.
    p_value : float or None
        Parametric-bootstrap p-value of ``ks`` (None when ``n_boot == 0``).
    loglik : float
        Log-likelihood on the support (density per bps).
    n_params : int
        Free parameters (the support's lower end is not counted: all three laws share it).
    at_boundary : bool
        lognormal only: the MLE sits on the power-law boundary (sigma -> infinity).
    """

    name: str
    params: dict[str, float | None]
    stderr: dict[str, float | None]
    ks: float
    p_value: float | None
    loglik: float
    n_params: int
    at_boundary: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "params": {k: _f(v) for k, v in self.params.items()},
            "stderr": {k: _f(v) for k, v in self.stderr.items()},
            "ks": _f(self.ks),
            "p_value": _f(self.p_value),
            "loglik": _f(self.loglik),
            "n_params": self.n_params,
            "at_boundary": self.at_boundary,
        }


@dataclass(frozen=True)
class VuongTest:
    """Vuong (1989) normalised log-likelihood-ratio test of ``law_a`` against ``law_b``.

    ``statistic = R / (sqrt(n) sd)`` with ``R = sum(l_a - l_b)``; positive favours ``law_a``.
    ``p_value`` is two-sided under N(0, 1).
    """

    law_a: str
    law_b: str
    log_ratio: float
    statistic: float
    p_value: float

    @property
    def favoured(self) -> str:
        return self.law_a if self.log_ratio >= 0.0 else self.law_b

    @classmethod
    def from_pointwise(
        cls, law_a: str, law_b: str, ll_a: Float64Array, ll_b: Float64Array
    ) -> VuongTest:
        """The test from pointwise log-likelihoods of the same observations."""
        diff = ll_a - ll_b
        r = float(diff.sum())
        sd = float(diff.std())
        if sd <= 1e-12 * max(1.0, float(np.abs(diff).mean())):
            return cls(law_a, law_b, r, 0.0, 1.0)
        stat = r / (math.sqrt(diff.size) * sd)
        return cls(law_a, law_b, r, stat, float(2.0 * special.ndtr(-abs(stat))))

    def to_dict(self) -> dict[str, Any]:
        return {
            "law_a": self.law_a,
            "law_b": self.law_b,
            "log_ratio": _f(self.log_ratio),
            "statistic": _f(self.statistic),
            "p_value": _f(self.p_value),
            "favoured": self.favoured,
        }


@dataclass(frozen=True)
class PowerLawTail:
    """Clauset, Shalizi & Newman (2009) power-law tail report. Not used for quoting.

    Attributes
    ----------
    xmin : float
        Lower end of the power-law tail (units of the data: bps for depths), chosen by
        minimising the K-S distance over the candidates (``xmin_selected``) or given.
    alpha, alpha_stderr : float
        Continuous MLE ``1 + n_tail / sum(ln(x / xmin))`` and its asymptotic standard error
        ``(alpha - 1) / sqrt(n_tail)``.
    alpha_ci : (float, float) or None
        Percentile interval of alpha over the CSN resamples (xmin re-selected in each).
    n_tail : int
        Observations ``>= xmin``.
    ks : float
        K-S distance of the tail from the fitted power law.
    p_value : float or None
        CSN §4.1 semi-parametric bootstrap p-value (None without bootstrap); CSN call the
        power law plausible when it is >= 0.1.
    n_candidates : int
        xmin candidates scanned.
    vuong : tuple of VuongTest
        On the tail: power_law vs exponential, power_law vs lognormal (CSN §5).
    """

    xmin: float
    xmin_selected: bool
    alpha: float
    alpha_stderr: float
    alpha_ci: tuple[float, float] | None
    n_tail: int
    ks: float
    p_value: float | None
    n_candidates: int
    vuong: tuple[VuongTest, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "xmin": _f(self.xmin),
            "xmin_selected": self.xmin_selected,
            "alpha": _f(self.alpha),
            "alpha_stderr": _f(self.alpha_stderr),
            "alpha_ci": None if self.alpha_ci is None else [_f(c) for c in self.alpha_ci],
            "n_tail": self.n_tail,
            "ks": _f(self.ks),
            "p_value": _f(self.p_value),
            "n_candidates": self.n_candidates,
            "vuong": [v.to_dict() for v in self.vuong],
        }


@dataclass(frozen=True)
class FillDepthFit:
    """Result of :func:`calibration.fill_depth.fit_fill_depth`.

    The law is chosen on the quoting support ``depth >= support_min_bps``: every depth in the
    quoted range and beyond. The CSN power-law tail is a separate report (``tail``).

    Attributes
    ----------
    n_obs : int
        Depths given.
    support_min_bps, n_support : float, int
        Lower end of the support (bps) and the depths at or above it; all three laws are
        fitted to those depths.
    exponential, power_law, lognormal : LawFit
    vuong : tuple of VuongTest
        On the support: exponential vs power_law, exponential vs lognormal, power_law vs
        lognormal.
    best : str
        Chosen law (rule in :func:`calibration.fill_depth.fit_fill_depth` Notes);
        ``best_plausible`` is whether its bootstrap p-value is >= ``p_plausible`` (None
        without bootstrap).
    kappa, kappa_stderr : float
        Exponential MLE on the support, per bps: ``1 / mean(depth - support_min_bps)``, and
        its robust (sandwich) standard error ``kappa**2 sd(depth) / sqrt(n_support)``, which
        is ``kappa / sqrt(n_support)`` when depths are exponential.
    kappa_ci : (float, float)
        Wald interval on log kappa with ``kappa_stderr``.
    A, A_ci : float or None
        Fill rate extrapolated to zero depth, per second, with its interval:
        ``lambda(delta) = A exp(-kappa delta)`` on the support, ``A = n_support / window_s
        * exp(kappa support_min_bps)`` (None without ``window_s``).
    kappa_glft, A_glft : float, float or None
        What the strategy reads (GLFT, per bps and per second). Exponential best: ``kappa``
        and ``A``. Otherwise the local exponential fit of the chosen law over the quote
        range: least squares of ``log lambda(delta)`` on a line over ``quote_range_bps``.
    quote_range_bps : (float, float)
    window_s : float or None
    n_boot : int
    tail : PowerLawTail or None
        CSN tail report; None when no tail could be fitted (``tail_error`` says why).
    """

    n_obs: int
    support_min_bps: float
    n_support: int
    exponential: LawFit
    power_law: LawFit
    lognormal: LawFit
    vuong: tuple[VuongTest, ...]
    best: str
    best_plausible: bool | None
    kappa: float
    kappa_stderr: float
    kappa_ci: tuple[float, float]
    A: float | None
    A_ci: tuple[float, float] | None
    kappa_glft: float
    A_glft: float | None
    quote_range_bps: tuple[float, float]
    window_s: float | None
    n_boot: int
    tail: PowerLawTail | None = None
    tail_error: str | None = None
    # fitted internals for intensity(): the sorted depths below the support, lognormal (a, b)
    _below_sorted: Float64Array = field(default_factory=lambda: np.empty(0), repr=False,
                                        compare=False)
    _lognormal_ab: tuple[float, float] = field(default=(1.0, 0.0), repr=False)

    @property
    def laws(self) -> dict[str, LawFit]:
        return {"exponential": self.exponential, "power_law": self.power_law,
                "lognormal": self.lognormal}

    def log_sf(self, delta_bps: npt.ArrayLike, law: str | None = None) -> Float64Array:
        """log P(depth >= delta | depth >= support_min_bps) under ``law`` (default: best)."""
        return _law_log_sf(self, law or self.best, np.asarray(delta_bps, dtype=np.float64))

    def intensity(self, delta_bps: npt.ArrayLike, law: str | None = None) -> Float64Array:
        """Model fill rate lambda(delta), per second, of orders reaching ``delta`` bps.

        ``lambda(delta) = n_support / window_s * S(delta)`` on the support, S the law's
        survival; below the support, the empirical rate. Needs ``window_s``.
        """
        if self.window_s is None:
            raise CalibrationError("intensity needs window_s (seconds of data) at fit time")
        return np.exp(log_lambda(self, law or self.best, np.asarray(delta_bps, np.float64)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_obs": self.n_obs,
            "support_min_bps": _f(self.support_min_bps),
            "n_support": self.n_support,
            "laws": {k: v.to_dict() for k, v in self.laws.items()},
            "vuong": [v.to_dict() for v in self.vuong],
            "best": self.best,
            "best_plausible": self.best_plausible,
            "kappa_per_bps": _f(self.kappa),
            "kappa_stderr_per_bps": _f(self.kappa_stderr),
            "kappa_ci": [_f(c) for c in self.kappa_ci],
            "A_per_s": _f(self.A),
            "A_ci": None if self.A_ci is None else [_f(c) for c in self.A_ci],
            "kappa_glft_per_bps": _f(self.kappa_glft),
            "A_glft_per_s": _f(self.A_glft),
            "quote_range_bps": [float(q) for q in self.quote_range_bps],
            "window_s": _f(self.window_s),
            "n_boot": self.n_boot,
            "tail": None if self.tail is None else self.tail.to_dict(),
            "tail_error": self.tail_error,
        }


def _law_log_sf(fit: FillDepthFit, law: str, delta: Float64Array) -> Float64Array:
    lo = fit.support_min_bps
    d = np.maximum(delta, lo)
    if law == "exponential":
        return np.asarray(-fit.kappa * (d - lo))
    if law == "power_law":
        alpha = float(fit.power_law.params["alpha"] or 0.0)
        return np.asarray(-(alpha - 1.0) * np.log(d / lo))
    if law == "lognormal":
        a, b = fit._lognormal_ab
        return dl.lognormal_log_sf(np.log(d / lo), a, b)
    raise CalibrationError(f"unknown law {law!r}; choose one of {dl.LAWS}")


def log_lambda(fit: FillDepthFit, law: str, delta: Float64Array) -> Float64Array:
    """log fill rate (per second, or per unit window when window_s is None)."""
    window = fit.window_s or 1.0
    out = math.log(fit.n_support / window) + _law_log_sf(fit, law, delta)
    below = delta < fit.support_min_bps
    if np.any(below):
        # empirical rate below the support, which the laws do not model
        body = fit._below_sorted
        n_above = fit.n_support + body.size - np.searchsorted(body, delta[below], side="left")
        out[below] = np.log(n_above / window)
    return np.asarray(out)
