"""Standard-normal tail probability and its inverse, compiled for the bootstrap kernels.

``upper_tail_inv_log`` inverts ``log Q`` (Q the upper-tail probability) with Wichura's
AS 241 rational approximations (Applied Statistics 37(3), 1988; relative error ~1e-16),
taking the logarithm directly so that tails far below the smallest double stay exact in the
branch that only needs ``sqrt(-log q)``. Valid while ``-log q < 700`` (|z| < 37).
"""

from __future__ import annotations

import math

import numba

__all__ = [
    "FAR_Z",
    "MAX_Z",
    "far_excess_inv",
    "far_excess_inv_at",
    "far_excess_log_sf",
    "far_excess_log_sf_at",
    "far_log_series",
    "log_upper_tail",
    "upper_tail",
    "upper_tail_inv_log",
]

MAX_Z = 37.0  # |z| up to which Q(z) = erfc(z / sqrt 2) / 2 is a normal double
FAR_Z = 32.0  # truncation points beyond this use the far-tail excess forms below
_SQRT1_2 = 1.0 / math.sqrt(2.0)


@numba.njit(cache=True, inline="always")
def _poly7(c0: float, c1: float, c2: float, c3: float, c4: float, c5: float, c6: float,
           c7: float, x: float) -> float:
    return ((((((c7 * x + c6) * x + c5) * x + c4) * x + c3) * x + c2) * x + c1) * x + c0


@numba.njit(cache=True)
def upper_tail(z: float) -> float:
    """Q(z) = P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z * _SQRT1_2)


@numba.njit(cache=True)
def log_upper_tail(z: float) -> float:
    """log Q(z); for z beyond ``MAX_Z`` from the asymptotic (Mills-ratio) series."""
    if z < MAX_Z:
        return math.log(0.5 * math.erfc(z * _SQRT1_2))
    return -0.5 * z * z - math.log(z * math.sqrt(2.0 * math.pi)) + _log_series(z)


@numba.njit(cache=True, inline="always")
def _log_series(z: float) -> float:
    """log of ``Q(z) z sqrt(2 pi) exp(z^2 / 2)``: 1 - u + 3u^2 - 15u^3 + 105u^4, u = 1/z^2
    (Abramowitz & Stegun 26.2.12; the next term is below 1e-12 for z >= ``FAR_Z``)."""
    u = 1.0 / (z * z)
    return math.log(1.0 - u * (1.0 - 3.0 * u * (1.0 - 5.0 * u * (1.0 - 7.0 * u))))


@numba.njit(cache=True)
def far_excess_log_sf(y: float, z_c: float) -> float:
    """``log Q(z_c + y) - log Q(z_c)`` for ``z_c >= FAR_Z``, ``y >= 0``, without cancellation.

    ``= -(z_c y + y^2 / 2 + log1p(y / z_c) - log(s(z_c + y) / s(z_c)))``, s the series of
    :func:`log_upper_tail`: the excess over a far truncation point is nearly exponential
    with rate z_c, and these terms are its exact corrections.
    """
    return far_excess_log_sf_at(y, z_c, _log_series(z_c))


@numba.njit(cache=True, inline="always")
def far_excess_log_sf_at(y: float, z_c: float, log_s_c: float) -> float:
    """:func:`far_excess_log_sf` with ``log s(z_c)`` precomputed (``far_log_series(z_c)``)."""
    return -(z_c * y + 0.5 * y * y + math.log1p(y / z_c) - (_log_series(z_c + y) - log_s_c))


@numba.njit(cache=True)
def far_log_series(z_c: float) -> float:
    return _log_series(z_c)


@numba.njit(cache=True)
def far_excess_inv(e: float, z_c: float) -> float:
    """y >= 0 with ``far_excess_log_sf(y, z_c) = -e``: quadratic start, two Newton steps."""
    return far_excess_inv_at(e, z_c, _log_series(z_c))


@numba.njit(cache=True, inline="always")
def far_excess_inv_at(e: float, z_c: float, log_s_c: float) -> float:
    y = 2.0 * e / (z_c + math.sqrt(z_c * z_c + 2.0 * e))
    for _ in range(2):
        z = z_c + y
        y += (far_excess_log_sf_at(y, z_c, log_s_c) + e) / (z + 1.0 / z)
        y = max(y, 0.0)
    return y


@numba.njit(cache=True)
def upper_tail_inv_log(log_q: float) -> float:
    """z with log Q(z) = ``log_q`` (``log_q < 0``): AS 241 on ``p = min(q, 1 - q)``."""
    q = math.exp(log_q)
    d = 0.5 - q  # = p - 0.5 for p = 1 - q, the lower-tail probability of z
    if abs(d) <= 0.425:
        r = 0.180625 - d * d
        num = _poly7(3.3871328727963666080e0, 1.3314166789178437745e2,
                     1.9715909503065514427e3, 1.3731693765509461125e4,
                     4.5921953931549871457e4, 6.7265770927008700853e4,
                     3.3430575583588128105e4, 2.5090809287301226727e3, r)
        den = _poly7(1.0, 4.2313330701600911252e1, 6.8718700749205790830e2,
                     5.3941960214247511077e3, 2.1213794301586595867e4,
                     3.9307895800092710610e4, 2.8729085735721942674e4,
                     5.2264952788528545610e3, r)
        return d * num / den
    # tails: r = sqrt(-log(min(q, 1 - q))); the upper tail keeps log q exact
    r = math.sqrt(-log_q) if d > 0.0 else math.sqrt(-math.log(-math.expm1(log_q)))
    if r <= 5.0:
        r -= 1.6
        num = _poly7(1.42343711074968357734e0, 4.63033784615654529590e0,
                     5.76949722146069140550e0, 3.64784832476320460504e0,
                     1.27045825245236838258e0, 2.41780725177450611770e-1,
                     2.27238449892691845833e-2, 7.74545014278341407640e-4, r)
        den = _poly7(1.0, 2.05319162663775882187e0, 1.67638483018380384940e0,
                     6.89767334985100004550e-1, 1.48103976427480074590e-1,
                     1.51986665636164571966e-2, 5.47593808499534494600e-4,
                     1.05075007164441684324e-9, r)
    else:
        r -= 5.0
        num = _poly7(6.65790464350110377720e0, 5.46378491116411436990e0,
                     1.78482653991729133580e0, 2.96560571828504891230e-1,
                     2.65321895265761230930e-2, 1.24266094738807843860e-3,
                     2.71155556874348757815e-5, 2.01033439929228813265e-7, r)
        den = _poly7(1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1,
                     1.48753612908506148525e-2, 7.86869131145613259100e-4,
                     1.84631831751005468180e-5, 1.42151175831644588870e-7,
                     2.04426310338993978564e-15, r)
    z = num / den
    return z if d > 0.0 else -z
