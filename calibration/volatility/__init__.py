"""Volatility: realised and jump-robust variance, the effective sigma, Student-t
return tails, GARCH and the Heston-style stochastic-volatility fit (``fit_heston``).
"""

from calibration.volatility.sigma import (
    JumpTest,
    ScaleEstimate,
    SigmaEffective,
    StudentTFit,
    TwoScaleRV,
    VolatilityEstimate,
    bipower_variation,
    estimate_volatility,
    fit_student_t,
    jump_test,
    realized_semivariance,
    realized_variance,
    scale_estimate,
    sigma_effective,
    two_scale_realized_variance,
)
from calibration.volatility.stochastic_vol import (
    CirOlsFit,
    HestonFit,
    RealizedVarianceSeries,
    fit_cir_ols_naive,
    fit_heston,
    realized_variance_series,
)

__all__ = [
    "CirOlsFit",
    "HestonFit",
    "JumpTest",
    "RealizedVarianceSeries",
    "ScaleEstimate",
    "SigmaEffective",
    "StudentTFit",
    "TwoScaleRV",
    "VolatilityEstimate",
    "bipower_variation",
    "estimate_volatility",
    "fit_cir_ols_naive",
    "fit_heston",
    "fit_student_t",
    "jump_test",
    "realized_semivariance",
    "realized_variance",
    "realized_variance_series",
    "scale_estimate",
    "sigma_effective",
    "two_scale_realized_variance",
]
