"""Fill-depth (kappa) laws: exponential, power law and lognormal fits on the quoting support,
their bootstrap K-S tests, the CSN power-law tail report, and the book-depth fallback.
Entry point: ``fit_fill_depth``.
"""

from calibration.fill_depth import fit as _fit
from calibration.fill_depth.fit import *  # noqa: F403  (the package's public names)

__all__ = list(_fit.__all__)
