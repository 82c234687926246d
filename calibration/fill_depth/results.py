"""Result objects of the fill-depth fit (:mod:`calibration.fill_depth`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from calibration.errors import CalibrationError
from calibration.fill_depth import laws as dl
from calibration.types import Float64Array

__all__ = ["FillDepthFit", "LawFit", "VuongTest", "log_lambda"]


def _f(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


@dataclass(frozen=True)
class LawFit:
    """One law fitted to the common tail ``depth >= xmin``.

    Attributes
    ----------
    name : str
        "exponential", "power_law" or "lognormal".
    params : dict
        exponential: ``kappa`` (per bps); power_law: ``alpha``, ``xmin`` (bps);
        lognormal: ``mu``, ``sigma`` (of ln depth in bps).
    stderr : dict
        Asymptotic standard errors of ``params`` (None where not defined).
    ks : float
        K-S distance on the tail.
    p_value : float or None
        Parametric-bootstrap p-value of ``ks`` (None when ``n_boot == 0``).
    loglik : float
        Log-likelihood of the tail (density per bps).
    n_params : int
        Free parameters (xmin not counted: it is shared by the three laws).
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
class FillDepthFit:
    """Result of :func:`fit_fill_depth`.

    Attributes
    ----------
    n_obs, n_tail : int
        Depths given, and depths in the common tail ``depth >= xmin`` all laws are fitted to.
    xmin : float
        Lower end of the tail, bps. ``xmin_selected`` says whether it was chosen by K-S.
    exponential, power_law, lognormal : LawFit
    vuong : tuple of VuongTest
        exponential vs power_law, exponential vs lognormal, power_law vs lognormal.
    best : str
        Chosen law (decision rule in :func:`fit_fill_depth` Notes); ``best_plausible`` is
        whether its bootstrap p-value is >= ``p_plausible`` (None without bootstrap).
    kappa : float
        Exponential decay of the fill rate, per bps (``1 / mean(depth - xmin)``), with
        ``kappa_stderr`` (asymptotic, per bps) and ``kappa_ci`` (non-parametric bootstrap
        percentile interval).
    A, A_ci : float or None
        Fill rate at zero depth, per second: ``lambda(delta) = A exp(-kappa delta)``
        (None when ``window_s`` was not given).
    kappa_glft, A_glft : float, float or None
        GLFT-equivalent kappa (per bps) and A (per second): least-squares fit of
        ``log lambda(delta)`` on a line over ``quote_range_bps``, lambda from the best law
        (equal to kappa and A when the best law is exponential).
    """

    n_obs: int
    n_tail: int
    xmin: float
    xmin_selected: bool
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
    alpha_ci: tuple[float, float] | None = None
    tail_rate_per_s: float | None = None
    # fitted internals for intensity(): the sorted depths below xmin, lognormal (a, b)
    _body_sorted: Float64Array = field(default_factory=lambda: np.empty(0), repr=False,
                                       compare=False)
    _lognormal_ab: tuple[float, float] = field(default=(1.0, 0.0), repr=False)

    @property
    def laws(self) -> dict[str, LawFit]:
        return {"exponential": self.exponential, "power_law": self.power_law,
                "lognormal": self.lognormal}

    def log_sf(self, delta_bps: npt.ArrayLike, law: str | None = None) -> Float64Array:
        """log P(depth >= delta | depth >= xmin) under ``law`` (default: best), delta >= xmin."""
        return _law_log_sf(self, law or self.best, np.asarray(delta_bps, dtype=np.float64))

    def intensity(self, delta_bps: npt.ArrayLike, law: str | None = None) -> Float64Array:
        """Model fill rate lambda(delta), per second, of orders reaching ``delta`` bps.

        Above xmin: tail rate times the law's survival; below xmin: the empirical rate.
        Needs ``window_s``.
        """
        if self.window_s is None:
            raise CalibrationError("intensity needs window_s (seconds of data) at fit time")
        return np.exp(log_lambda(self, law or self.best, np.asarray(delta_bps, np.float64)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_obs": self.n_obs,
            "n_tail": self.n_tail,
            "xmin_bps": _f(self.xmin),
            "xmin_selected": self.xmin_selected,
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
            "alpha_ci": None if self.alpha_ci is None else [_f(c) for c in self.alpha_ci],
            "window_s": _f(self.window_s),
            "n_boot": self.n_boot,
        }


def _law_log_sf(fit: FillDepthFit, law: str, delta: Float64Array) -> Float64Array:
    d = np.maximum(delta, fit.xmin)
    if law == "exponential":
        return np.asarray(-fit.kappa * (d - fit.xmin))
    if law == "power_law":
        alpha = float(fit.power_law.params["alpha"] or 0.0)
        return np.asarray(-(alpha - 1.0) * np.log(d / fit.xmin))
    if law == "lognormal":
        a, b = fit._lognormal_ab
        return dl.lognormal_log_sf(np.log(d / fit.xmin), a, b)
    raise CalibrationError(f"unknown law {law!r}; choose one of {dl.LAWS}")


def log_lambda(fit: FillDepthFit, law: str, delta: Float64Array) -> Float64Array:
    """log fill rate (per second, or per unit window when window_s is None)."""
    window = fit.window_s or 1.0
    out = math.log(fit.n_tail / window) + _law_log_sf(fit, law, delta)
    below = delta < fit.xmin
    if np.any(below):
        # empirical rate below the tail; the body is not modelled by the laws
        n_above = fit.n_tail + _count_between(fit, delta[below])
        out[below] = np.log(n_above / window)
    return np.asarray(out)


def _count_between(fit: FillDepthFit, delta: Float64Array) -> Float64Array:
    body = fit._body_sorted
    return np.asarray(body.size - np.searchsorted(body, delta, side="left"), dtype=np.float64)
