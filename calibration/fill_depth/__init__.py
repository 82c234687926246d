"""Fill-depth (kappa) laws: exponential, power law and lognormal fits, their bootstrap
K-S tests, and the book-depth fallback. Entry point: ``fit_fill_depth``.
"""

from calibration.fill_depth.fit import (
    MIN_TRADE_DEPTHS,
    FillDepthFit,
    FillDepthSides,
    LawFit,
    SideFill,
    VuongTest,
    fit_fill_depth,
    fit_fill_depth_sides,
)

__all__ = [
    "MIN_TRADE_DEPTHS",
    "FillDepthFit",
    "FillDepthSides",
    "LawFit",
    "SideFill",
    "VuongTest",
    "fit_fill_depth",
    "fit_fill_depth_sides",
]
