"""The verdict on one model fit, shown as an asset check on its ``<model>_fit`` asset.

A fit that failed is an ERROR when the candidate cannot do without it
(:data:`assets.param_building.REQUIRED_MODELS`), a WARN otherwise; a fit that ran but
collapsed or is not identified (a one-component mixture, an unidentified Heston or
funding OU, an explosive Hawkes, a micro-price no better than the mid) is a WARN. The
reason is the check's description, so the UI says why without opening JSON. No Dagster
here: :mod:`assets.calibration_assets` turns a :class:`FitVerdict` into a check result.
"""

from __future__ import annotations

from dataclasses import dataclass

from assets.model_fits import FitResult, ModelFit
from assets.param_building import REQUIRED_MODELS
from calibration.funding import FundingOUFit
from calibration.hawkes import HawkesFit
from calibration.order_flow.adverse_selection import AdverseSelectionFit
from calibration.order_flow.microprice import MicropriceFit
from calibration.volatility.stochastic_vol import HestonFit

__all__ = [
    "FIT_CHECK_DESCRIPTION",
    "FIT_CHECK_NAME",
    "MIXTURE_MIN_LR",
    "MIXTURE_SHARE_BOUNDS",
    "FitVerdict",
    "fit_verdict",
]

FIT_CHECK_NAME = "fit_quality"
FIT_CHECK_DESCRIPTION = (
    "The fit ran and is usable: ERROR when a required model (volatility, fill depth) "
    "failed, WARN when another failed, collapsed or is not identified; the reason says why."
)

MIXTURE_SHARE_BOUNDS = (0.01, 0.99)
"""An informed share outside these bounds means the mixture collapsed to one component."""
MIXTURE_MIN_LR = 2.0
"""Likelihood-ratio statistic of the mixture against one Gaussian below which the second
component is not there (2 log-likelihood units: no evidence for it)."""


@dataclass(frozen=True)
class FitVerdict:
    """Whether the fit passes, how bad a failure is, and why (for people)."""

    passed: bool
    severity: str  # "error" or "warn"
    reason: str


def fit_verdict(fit: ModelFit[FitResult]) -> FitVerdict:
    """The verdict on ``fit`` (its model name decides what "collapsed" means)."""
    required = fit.model in REQUIRED_MODELS
    severity = "error" if required else "warn"
    if fit.result is None:
        need = (
            "required: no candidate without it unless a published set covers it"
            if required
            else "its quoting fields fall back, see the candidate's fallbacks"
        )
        return FitVerdict(False, severity, f"fit failed: {fit.error} ({need})")
    problems = _problems(fit.result)
    if problems:
        return FitVerdict(False, "warn", "; ".join(problems))
    return FitVerdict(
        True, severity, "fitted" + (f" ({len(fit.warnings)} warning(s))" if fit.warnings else "")
    )


def _problems(result: FitResult) -> list[str]:
    """What makes a fit that ran unusable or suspect, per model."""
    out: list[str] = []
    if isinstance(result, HestonFit) and not result.identifiable:
        out.append(f"Heston not identified: {result.reason or 'no reason given'}")
    elif isinstance(result, FundingOUFit) and not result.identifiable:
        out.append(f"funding OU not identified: {result.note}")
    elif isinstance(result, AdverseSelectionFit):
        lo, hi = MIXTURE_SHARE_BOUNDS
        if not lo <= result.informed_share <= hi:
            out.append(
                f"informed-flow mixture collapsed: informed share {result.informed_share:.3g} "
                f"outside [{lo}, {hi}]"
            )
        elif result.lr_statistic < MIXTURE_MIN_LR:
            out.append(
                f"informed-flow mixture collapsed: LR statistic {result.lr_statistic:.3g} "
                f"< {MIXTURE_MIN_LR} against one component"
            )
        if not result.em_converged:
            out.append(f"mixture EM did not converge in {result.em_iterations} iterations")
    elif isinstance(result, HawkesFit) and not result.branching_ratio < 1.0:
        out.append(f"Hawkes explosive: branching ratio {result.branching_ratio:.3g} >= 1")
    elif isinstance(result, MicropriceFit) and result.use_fallback:
        out.append("micro-price no better than the mid out of sample: the trader uses the mid")
    return out
