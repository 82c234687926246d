"""Volatility: realised and jump-robust variance, the effective sigma, Student-t
return tails, GARCH and the Heston-style stochastic-volatility fit (``fit_heston``).
"""

from calibration.volatility import sigma as _sigma
from calibration.volatility import stochastic_vol as _stochastic_vol
from calibration.volatility.sigma import *  # noqa: F403  (the package's public names)
from calibration.volatility.stochastic_vol import *  # noqa: F403  (the package's public names)

__all__ = list(_sigma.__all__) + list(_stochastic_vol.__all__)
