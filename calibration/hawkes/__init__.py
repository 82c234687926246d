"""Hawkes order-flow intensity: the exponential-kernel MLE, its kernels, solver,
result object and time-rescaling diagnostics. Entry point: ``fit_hawkes``.
"""

from calibration.hawkes.fit import (
    ALPHA0,
    ALPHA_MAX_OFFDIAG,
    BETA_MAX_PER_GAP,
    BETA_MIN_PER_WINDOW,
    LJUNG_BOX_LAGS,
    MIN_EVENTS_PER_BIN,
    MIN_EVENTS_PER_COMPONENT,
    MU0_FRACTION,
    SUMEXP_DECAY_SPREAD,
    HawkesFit,
    fit_hawkes,
    intensity_path,
    merge_same_timestamp,
    rescaled_residuals,
)

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
