"""Hawkes order-flow intensity: the exponential-kernel MLE, its kernels, solver,
result object and time-rescaling diagnostics. Entry point: ``fit_hawkes``.
"""

from calibration.hawkes import fit as _fit
from calibration.hawkes.fit import *  # noqa: F403  (the package's public names)

__all__ = list(_fit.__all__)
