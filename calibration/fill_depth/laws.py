"""The three fill-depth laws: maximum likelihood, survival functions, K-S and sorted resampling.

All three are fitted to the same lower-truncated sample ``x >= xmin`` (depths in bps of mid;
``xmin`` is the quoting support's lower end or the CSN tail's xmin), so their likelihoods and
K-S distances are comparable (Clauset, Shalizi & Newman 2009, §5):

- exponential: ``x - xmin ~ Exp(kappa)``, kappa per bps;
- power law: density ``(alpha - 1) / xmin * (x / xmin) ** -alpha``;
- lognormal truncated at ``xmin``: ``log x ~ N(mu, sigma**2)`` conditioned on ``x >= xmin``.

The lognormal is fitted in the natural parameters of ``t = log(x / xmin) >= 0``, density
``exp(-a t**2 - b t) / Z(a, b)`` with ``a = 1 / (2 sigma**2)``, ``b = (log xmin - mu) / sigma**2``:
the log-likelihood is concave there and the power law is its boundary ``a -> 0``, which the
erfcx form of ``Z`` evaluates without overflow.

The power law's xmin is chosen by K-S over every distinct value or a quantile grid (numba,
exact branch and bound). Sorted samplers (Rényi's representation of exponential order
statistics) serve the batched bootstraps of :mod:`calibration.fill_depth.bootstrap`.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numba
import numpy as np
import numpy.typing as npt
from scipy import optimize, special

from calibration.errors import CalibrationError, ConvergenceWarning
from calibration.fill_depth import normal as nm
from calibration.types import Float64Array, Int64Array

__all__ = [
    "LAWS",
    "LognormalParams",
    "PowerLawScan",
    "TruncatedFits",
    "candidate_starts",
    "fit_truncated",
    "ks_sorted",
    "lognormal_fit",
    "lognormal_fit_batch",
    "lognormal_info",
    "lognormal_log_sf",
    "lognormal_logpdf",
    "lognormal_sample_sorted",
    "power_law_scan",
    "safe_log",
    "scan_candidates",
    "truncnorm_sample_sorted",
    "upper_tail_inv_any",
]

LAWS = ("exponential", "power_law", "lognormal")

_LOG_ZERO = -1e300  # log of a zero depth: finite, so numba arithmetic stays NaN-free
_SQRT_PI = math.sqrt(math.pi)
# Lognormal curvature floor (in units where mean t = 1): below it the law is the power law
# to 1e-6 over the data range, and the erfcx arguments stay below ~1e3.
_A_FLOOR = 1e-6
_GRAD_TOL = 1e-8  # Newton stops when the mean-log-likelihood gradient is below this


# ----------------------------------------------------------------------------- K-S


def ks_sorted(cdf: Float64Array) -> Float64Array:
    """K-S distance of sorted samples from their fitted law, one per row.

    Parameters
    ----------
    cdf : (B, m) or (m,) array
        Fitted CDF at each sorted observation. Ties are handled exactly: within a block of
        equal values the largest gap is at the block's ends, which the per-point formula hits.

    Returns
    -------
    (B,) array (or a 0-d array for 1-D input) of sup |F_n - F|.
    """
    m = cdf.shape[-1]
    upper = np.arange(1, m + 1, dtype=np.float64) / m
    d_plus = np.max(upper - cdf, axis=-1)
    d_minus = np.max(cdf - (upper - 1.0 / m), axis=-1)
    return np.asarray(np.maximum(d_plus, d_minus), dtype=np.float64)


# ----------------------------------------------------------------------------- power law


class PowerLawScan(NamedTuple):
    """Result of the xmin scan on one sorted sample."""

    start: int  # index of xmin in the sorted sample
    xmin: float  # bps
    alpha: float
    ks: float
    n_tail: int
    n_candidates: int


@numba.njit(cache=True)
def candidate_starts(
    logx: Float64Array, n_xmin: int, tail_frac_min: float, min_tail: int
) -> Int64Array:
    """Indices of the candidate xmins in a sorted log-sample.

    ``n_xmin <= 0``: every distinct positive value that leaves at least ``min_tail`` depths
    in the tail (CSN 2009 §3.3). Otherwise tail fractions on a geometric grid of ``n_xmin``
    points from 1 down to ``tail_frac_min`` (finer in the tail, where CSN's K-S curve usually
    bottoms out). Each start is the first of its tie block, so the tail is exactly
    ``x >= xmin``; zero depths, tails shorter than ``min_tail`` and tails of one repeated
    value (alpha undefined) are excluded.
    """
    n = logx.size
    first_pos = int(np.searchsorted(logx, _LOG_ZERO, side="right"))
    if n_xmin <= 0:
        out = np.empty(max(n - first_pos, 0), dtype=np.int64)
        k = 0
        for p in range(first_pos, n - min_tail + 1):
            if p > first_pos and logx[p] == logx[p - 1]:
                continue
            if logx[n - 1] <= logx[p]:
                break
            out[k] = p
            k += 1
        return out[:k]
    out = np.empty(n_xmin, dtype=np.int64)
    k = 0
    last = -1
    ratio = tail_frac_min ** (1.0 / max(n_xmin - 1, 1))
    frac = 1.0
    for _ in range(n_xmin):
        p0: int = n - math.ceil(frac * n)
        frac *= ratio
        p0 = p0 if p0 > first_pos else first_pos
        if p0 >= n:
            continue
        p = np.searchsorted(logx, logx[p0], side="left")
        if n - p < min_tail or p == last:
            continue
        if logx[n - 1] <= logx[p]:  # all tail values equal: alpha undefined
            continue
        out[k] = p
        k += 1
        last = p
    return out[:k]


@numba.njit(cache=True)
def _ks_tail(logx: Float64Array, k: int, am1: float, stride: int) -> float:
    """K-S distance of the power-law tail starting at k, on every ``stride``-th point.

    With stride s the result D_s bounds the exact distance: D_s <= D <= D_s + s / m (between
    two evaluated points the ECDF moves by at most s/m and the CDF is monotone).
    """
    n = logx.size
    m = n - k
    lx0 = logx[k]
    inv_m = 1.0 / m
    d = 0.0
    i = k
    while True:
        cdf = 1.0 - math.exp(-am1 * (logx[i] - lx0))
        r = (i - k) * inv_m
        hi = r + inv_m - cdf
        lo = cdf - r
        if hi > d:
            d = hi
        if lo > d:
            d = lo
        if i == n - 1:
            break
        i = min(i + stride, n - 1)
    return d


@numba.njit(cache=True)
def scan_candidates(logx: Float64Array, starts: Int64Array) -> tuple[Float64Array, Float64Array]:
    """Power-law MLE alpha at each candidate start, and the K-S distance of the minimiser.

    Exact branch and bound: K-S is first evaluated on every s-th tail point (s ~ sqrt(m)/16),
    which brackets it within s/m; candidates are then evaluated exactly in order of their
    lower bound until no remaining lower bound is below the best exact distance. The
    minimiser and its distance are those of a full scan; ``kss`` holds exact distances for
    the candidates evaluated exactly and lower bounds (or +inf) for the others.
    """
    n = logx.size
    suffix = np.empty(n + 1)
    suffix[n] = 0.0
    for i in range(n - 1, -1, -1):
        suffix[i] = suffix[i + 1] + logx[i] if logx[i] > _LOG_ZERO else suffix[i + 1]
    c = starts.size
    alphas = np.empty(c)
    lower = np.empty(c)
    for j in range(c):
        k = starts[j]
        m = n - k
        am1 = m / (suffix[k] - m * logx[k])
        alphas[j] = 1.0 + am1
        stride = max(1, int(math.sqrt(m) / 16.0))
        lower[j] = _ks_tail(logx, k, am1, stride) if stride > 1 else -1.0 - j
    kss = np.full(c, np.inf)
    best = np.inf
    for j in np.argsort(lower):
        if lower[j] >= best:
            break
        d = _ks_tail(logx, starts[j], alphas[j] - 1.0, 1)
        kss[j] = d
        if d < best:
            best = d
    return alphas, kss


def power_law_scan(
    x_sorted: Float64Array, *, n_xmin: int | None, min_tail: int,
    tail_frac_min: float | None = None,
) -> PowerLawScan:
    """Choose xmin by minimising the K-S distance (CSN 2009 §3.3).

    Parameters
    ----------
    x_sorted : array
        Sample (depths in bps), sorted ascending, non-negative.
    n_xmin : int or None
        None: every distinct value is a candidate (CSN's scan). An int: that many candidate
        tail fractions on a geometric grid from 1 down to ``tail_frac_min``.
    min_tail : int
        Fewest tail observations a candidate may keep.
    tail_frac_min : float, optional
        Smallest tail fraction of the grid; default ``min_tail / n`` (no cap beyond
        ``min_tail``: the tail may be a few per cent of the sample, as for CSN's cities).
    """
    n = x_sorted.size
    logx = safe_log(x_sorted)
    frac_min = min(1.0, min_tail / max(n, 1)) if tail_frac_min is None else tail_frac_min
    starts = candidate_starts(logx, 0 if n_xmin is None else n_xmin, frac_min, min_tail)
    if starts.size == 0:
        raise CalibrationError(
            f"no admissible power-law xmin: need at least {min_tail} distinct positive depths "
            "in the tail"
        )
    alphas, kss = scan_candidates(logx, starts)
    j = int(np.argmin(kss))
    k = int(starts[j])
    return PowerLawScan(
        start=k,
        xmin=float(x_sorted[k]),
        alpha=float(alphas[j]),
        ks=float(kss[j]),
        n_tail=n - k,
        n_candidates=int(starts.size),
    )


class TruncatedFits(NamedTuple):
    """The three laws' MLEs on one lower-truncated sample ``x >= lo`` (sorted)."""

    lo: float  # lower end, bps
    kappa: float  # exponential rate of x - lo, per bps
    am1: float  # power law alpha - 1
    lognormal: LognormalParams
    t1: float  # mean log(x / lo)
    loglik: dict[str, Float64Array]  # pointwise log densities (per bps), by law
    ks: dict[str, float]  # K-S distances, by law


def fit_truncated(x: Float64Array, lo: float) -> TruncatedFits:
    """Fit exponential, power law and truncated lognormal to sorted ``x >= lo > 0``."""
    m = x.size
    excess = x - lo
    log_ratio = np.log(x / lo)
    if excess.sum() <= 0.0 or log_ratio.sum() <= 0.0:
        raise CalibrationError(f"all {m} depths >= {lo:.4g} bps are equal; nothing to fit")
    kappa = m / float(excess.sum())
    am1 = m / float(log_ratio.sum())
    t1 = float(log_ratio.mean())
    ln_p = lognormal_fit(t1, float(np.mean(log_ratio**2)), m)
    loglik = {
        "exponential": math.log(kappa) - kappa * excess,
        "power_law": math.log(am1 / lo) - (1.0 + am1) * log_ratio,
        "lognormal": lognormal_logpdf(x, lo, ln_p),
    }
    ks = {
        "exponential": float(ks_sorted(-np.expm1(-kappa * excess))),
        "power_law": float(ks_sorted(-np.expm1(-am1 * log_ratio))),
        "lognormal": float(ks_sorted(-np.expm1(lognormal_log_sf(log_ratio, ln_p.a, ln_p.b)))),
    }
    return TruncatedFits(lo, kappa, am1, ln_p, t1, loglik, ks)


def safe_log(x: Float64Array) -> Float64Array:
    with np.errstate(divide="ignore"):
        logx = np.log(x)
    logx[x <= 0.0] = _LOG_ZERO
    return logx


# ----------------------------------------------------------------------------- lognormal


class LognormalParams(NamedTuple):
    """Truncated-lognormal fit above ``xmin`` in natural parameters of ``t = log(x/xmin)``."""

    a: float  # 1 / (2 sigma^2), per log-bps^2
    b: float  # (log xmin - mu) / sigma^2, per log-bps
    at_boundary: bool  # curvature at its floor: the fit is the power law

    @property
    def sigma(self) -> float:
        return 1.0 / math.sqrt(2.0 * self.a)

    def mu(self, xmin: float) -> float:
        return math.log(xmin) - self.b / (2.0 * self.a)


def _log_erfcx(w: Float64Array) -> Float64Array:
    w = np.asarray(w, dtype=np.float64)
    out = np.empty_like(w)
    big_neg = w < -20.0
    out[~big_neg] = np.log(special.erfcx(w[~big_neg]))
    out[big_neg] = math.log(2.0) + w[big_neg] ** 2  # erfcx(w) = 2 exp(w^2) - erfcx(-w)
    return out


def _log_z(a: Float64Array, b: Float64Array) -> Float64Array:
    """``log ∫_0^inf exp(-a t^2 - b t) dt``, stable down to a -> 0 (where it is -log b)."""
    w = b / (2.0 * np.sqrt(a))
    return 0.5 * np.log(math.pi / (4.0 * a)) + _log_erfcx(w)


def _moments(a: Float64Array, b: Float64Array) -> tuple[Float64Array, Float64Array]:
    """E[t] and E[t^2] under the truncated normal, from the derivatives of log Z.

    With ``w = b / (2 sqrt a)`` and ``g = w - 1 / (sqrt(pi) erfcx(w))``: ``E[t] = -g / sqrt(a)``
    and ``E[t^2] = (1 + 2 w g) / (2 a)``. For w > 10 (near the power law) both differences
    cancel catastrophically, so they come from the asymptotic series of erfcx instead
    (Abramowitz & Stegun 7.1.23): with ``u = 1 / (2 w^2)``, ``c_n = (-1)^n (2n-1)!! u^n``,
    ``S = sum c_n``, ``w g = w^2 (S - 1) / S`` and ``1 + 2 w g = -sum(2 n c_n) / S``.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    sa = np.sqrt(a)
    w = b / (2.0 * sa)
    far = w > 10.0
    w_near = np.where(far, 0.0, w)
    with np.errstate(over="ignore"):  # erfcx overflows only far below the mode: g -> w
        g = w_near - 1.0 / (_SQRT_PI * np.exp(_log_erfcx(w_near)))
    e1 = -g / sa
    e2 = (1.0 + 2.0 * w_near * g) / (2.0 * a)
    if far.any():
        wf = w[far]
        u = 1.0 / (2.0 * wf * wf)
        c = np.ones_like(wf)
        s_sum, s_minus_1, n_sum = np.ones_like(wf), np.zeros_like(wf), np.zeros_like(wf)
        for n in range(1, 17):
            c = c * (-(2 * n - 1) * u)
            s_sum += c
            s_minus_1 += c
            n_sum -= 2 * n * c
        e1[far] = -wf * s_minus_1 / (s_sum * sa[far])
        e2[far] = n_sum / (s_sum * 2.0 * a[far])
    return e1, e2


def lognormal_log_sf(t: Float64Array, a: float, b: float) -> Float64Array:
    """log P(T > t) for the truncated normal in natural parameters (t = log(x/xmin) >= 0)."""
    sa = math.sqrt(a)
    w0 = b / (2.0 * sa)
    if w0 > -30.0 and w0 < 20.0:
        # ordinary regime: ratio of normal upper-tail probabilities (fast ndtr)
        sigma = 1.0 / math.sqrt(2.0 * a)
        z_c = w0 * math.sqrt(2.0)
        q_c = special.ndtr(-z_c)
        with np.errstate(divide="ignore"):
            return np.asarray(np.log(special.ndtr(-(z_c + t / sigma))) - math.log(q_c))
    return np.asarray(
        -a * t * t - b * t + _log_erfcx(w0 + sa * t) - _log_erfcx(np.array([w0]))[0]
    )


def lognormal_logpdf(x: Float64Array, xmin: float, p: LognormalParams) -> Float64Array:
    """Pointwise log density (per bps) of the truncated lognormal at depths ``x >= xmin``."""
    t = np.log(x / xmin)
    log_z = float(_log_z(np.array([p.a]), np.array([p.b]))[0])
    return np.asarray(-p.a * t * t - p.b * t - log_z - np.log(x))


def lognormal_fit(t1: float, t2: float, n: int, *, start: tuple[float, float] | None = None) -> (
    LognormalParams
):
    """Truncated-lognormal MLE from the sufficient statistics of ``t = log(x/xmin)``.

    Parameters
    ----------
    t1, t2 : float
        Sample means of t and t^2 (t in log-bps above log xmin).
    n : int
        Tail size (only used in the error message).
    start : (a, b), optional
        Warm start in the same units (bootstrap refits start at the observed estimate).

    Notes
    -----
    Maximises ``-a t2 - b t1 - log Z(a, b)`` over ``a >= a_floor``, b free: damped projected
    Newton (:func:`lognormal_fit_batch`), then L-BFGS-B with the analytic gradient
    ``(E[t^2] - t2, E[t] - t1)`` if Newton fails. Scaled so mean t = 1.
    """
    if not (t1 > 0.0):
        raise CalibrationError(f"lognormal: all {n} tail depths equal xmin; nothing to fit")
    scale = t1
    s1, s2 = 1.0, t2 / (scale * scale)
    var = max(s2 - s1 * s1, 1e-6)
    if start is None:
        x0 = np.array([max(1.0 / (2.0 * var), 2.0 * _A_FLOOR), -s1 / var])
    else:
        x0 = np.array([max(start[0] * scale * scale, 2.0 * _A_FLOOR), start[1] * scale])

    # damped Newton first (concave problem); bounded quasi-Newton if it does not converge
    a_n, b_n, ok = lognormal_fit_batch(
        np.array([t1]), np.array([t2]),
        LognormalParams(x0[0] / scale**2, x0[1] / scale, False), max_iter=200,
    )
    if ok[0]:
        a_s, b_s = float(a_n[0]) * scale**2, float(b_n[0]) * scale
        return LognormalParams(a=a_s / scale**2, b=b_s / scale,
                               at_boundary=a_s <= _A_FLOOR * 1.0001)

    def negll(theta: Float64Array) -> tuple[float, Float64Array]:
        a, b = np.array([theta[0]]), np.array([theta[1]])
        e1, e2 = _moments(a, b)
        val = a[0] * s2 + b[0] * s1 + _log_z(a, b)[0]
        return float(val), np.array([s2 - e2[0], s1 - e1[0]])

    res = optimize.minimize(
        negll, x0, jac=True, method="L-BFGS-B", bounds=[(_A_FLOOR, None), (None, None)],
        options={"maxiter": 500, "gtol": 1e-10, "ftol": 1e-14},
    )
    grad = np.array(res.jac, dtype=np.float64)
    if res.x[0] <= _A_FLOOR * 1.0001 and grad[0] > 0.0:
        grad[0] = 0.0  # KKT at the power-law boundary: the curvature wants to go negative
    if not res.success and not np.all(np.abs(grad) < 1e-5):
        warnings.warn(
            f"lognormal MLE did not converge: {res.message}", ConvergenceWarning, stacklevel=3
        )
    a_s, b_s = float(res.x[0]), float(res.x[1])
    at_boundary = a_s <= _A_FLOOR * 1.0001
    return LognormalParams(a=a_s / (scale * scale), b=b_s / scale, at_boundary=at_boundary)


def _hessian(a: Float64Array, b: Float64Array) -> tuple[Float64Array, ...]:
    """Hessian of the mean log-likelihood, -Cov([t^2, t]), in units where mean t ~ 1.

    Forward differences of the analytic moments with absolute steps: near the power-law
    boundary the moments carry ~1e-11 absolute error, so relative steps would drown in it.
    """
    ha = np.maximum(1e-4 * a, 1e-5)
    hb = np.maximum(1e-4 * np.abs(b), 1e-5)
    e1, e2 = _moments(a, b)
    e1a, e2a = _moments(a + ha, b)
    e1b, _ = _moments(a, b + hb)
    return (e2a - e2) / ha, (e1a - e1) / ha, (e1b - e1) / hb


def lognormal_info(n: int, p: LognormalParams, t1: float) -> Float64Array:
    """Observed Fisher information for (a, b) over n points, ``n Cov([t^2, t])``.

    ``t1`` is the sample mean of t (the scale at which the Hessian is differenced).
    """
    a_s, b_s = np.array([p.a * t1 * t1]), np.array([p.b * t1])
    h_aa, h_ab, h_bb = (float(h[0]) for h in _hessian(a_s, b_s))
    # back to unscaled (a, b): a = a_s / t1^2, b = b_s / t1
    jac = np.diag([t1 * t1, t1])
    return -n * jac @ np.array([[h_aa, h_ab], [h_ab, h_bb]]) @ jac


def lognormal_sample_sorted(
    rng: np.random.Generator, rows: int, m: int, p: LognormalParams
) -> Float64Array:
    """Sorted resamples of ``t = log(x/xmin)`` from the truncated normal, shape (rows, m).

    Inverse CDF on sorted uniforms in log space: with ``E_(i)`` the sorted Exp(1) order
    statistics (Rényi), ``log P(T > t_i) = -E_(i)``, so ``t_i = sigma (z_i - z_c)`` with
    ``log Q(z_i) = log Q(z_c) - E_(i)`` (Q the normal upper tail, ``z_c`` the truncation point
    in standard units). Compiled; exact in log space up to the power-law boundary.
    """
    t = np.empty((rows, m))
    truncnorm_sample_sorted(rng.standard_exponential((rows, m)), p.sigma, p.b * p.sigma, t)
    return t


@numba.njit(cache=True, parallel=True)
def truncnorm_sample_sorted(expo: Float64Array, sigma: float, z_c: float,
                            out: Float64Array) -> tuple[Float64Array, Float64Array]:
    """Rows of ``expo`` (i.i.d. Exp(1)) to sorted draws of the normal(0, sigma) excess over
    its truncation point ``z_c`` (sd units), written to ``out``; returns each row's mean t
    and mean t^2. :func:`lognormal_sample_sorted`'s kernel.
    """
    rows, m = expo.shape
    far = z_c >= nm.FAR_Z
    log_q_c = nm.log_upper_tail(z_c)
    log_s_c = nm.far_log_series(z_c) if far else 0.0
    t1 = np.empty(rows)
    t2 = np.empty(rows)
    for r in numba.prange(rows):
        c = 0.0
        s1 = 0.0
        s2 = 0.0
        for i in range(m):
            c += expo[r, i] / (m - i)
            if far:
                t = sigma * nm.far_excess_inv_at(c, z_c, log_s_c)
            else:
                t = sigma * (upper_tail_inv_any(log_q_c - c) - z_c)
                t = t if t > 0.0 else 0.0
            out[r, i] = t
            s1 += t
            s2 += t * t
        t1[r] = s1 / m
        t2[r] = s2 / m
    return t1, t2


@numba.njit(cache=True)
def upper_tail_inv_any(log_q: float) -> float:
    """z with ``log Q(z) = log_q`` for any ``log_q < 0``: AS 241, then Newton beyond its range.

    Below ``log_q = -680`` (z > 36) the start ``z^2 = -2 log_q - 2 log(z sqrt(2 pi))`` is
    polished by two Newton steps on the asymptotic ``log Q`` (hazard ``phi(z) / Q(z)``).
    """
    if log_q > -680.0:
        return nm.upper_tail_inv_log(log_q)
    z = math.sqrt(-2.0 * log_q)
    for _ in range(3):
        z = math.sqrt(-2.0 * log_q - 2.0 * math.log(z * math.sqrt(2.0 * math.pi)))
    for _ in range(2):
        lq = nm.log_upper_tail(z)
        hazard = math.exp(-0.5 * z * z - 0.5 * math.log(2.0 * math.pi) - lq)
        z += (lq - log_q) / hazard
    return z


def lognormal_fit_batch(
    t1: Float64Array, t2: Float64Array, start: LognormalParams, *, max_iter: int = 60
) -> tuple[Float64Array, Float64Array, npt.NDArray[np.bool_]]:
    """Truncated-lognormal MLE for many samples at once (bootstrap refits).

    Projected Newton with step halving on the concave log-likelihood in natural parameters,
    each row scaled so mean t = 1, all rows started at the observed estimate ``start``. The
    Hessian is ``-Cov(t^2, t)``, taken by central differences of the analytic moments.

    Returns
    -------
    a, b : (rows,) arrays in the units of t (log-bps); converged : (rows,) bool
    """
    scale = t1
    s2 = t2 / (scale * scale)
    a = np.maximum(start.a * scale * scale, _A_FLOOR)
    b = start.b * scale

    def objective(a_: Float64Array, b_: Float64Array) -> Float64Array:
        return np.asarray(-a_ * s2 - b_ - _log_z(a_, b_))

    f = objective(a, b)
    converged = np.zeros(a.size, dtype=bool)
    for _ in range(max_iter):
        e1, e2 = _moments(a, b)
        g_a, g_b = e2 - s2, e1 - 1.0
        h_aa, h_ab, h_bb = _hessian(a, b)
        det = h_aa * h_bb - h_ab * h_ab
        d_a = -(h_bb * g_a - h_ab * g_b) / det
        d_b = -(h_aa * g_b - h_ab * g_a) / det
        # active set on a >= floor: at the floor with Newton pointing below it, move b alone;
        # otherwise shorten the Newton step so that it stops on the floor
        at_floor = a <= _A_FLOOR * (1.0 + 1e-12)
        out = a + d_a < _A_FLOOR
        pin = at_floor & out
        shrink = np.where(out & ~pin, (_A_FLOOR - a) / np.where(out, d_a, -1.0), 1.0)
        d_a = np.where(pin, 0.0, d_a * shrink)
        d_b = np.where(pin, -g_b / h_bb, d_b * shrink)
        bad = ~np.isfinite(d_a) | ~np.isfinite(d_b) | (det <= 0.0) | (h_bb >= 0.0)
        d_a, d_b = np.where(bad, 0.0, d_a), np.where(bad, 0.0, d_b)
        kkt = (np.abs(g_b) <= _GRAD_TOL) & ((np.abs(g_a) <= _GRAD_TOL) | (at_floor & (g_a < 0)))
        converged = kkt & ~bad
        if converged.all():
            break
        step = np.ones(a.size)
        for _ in range(40):
            a_new = np.maximum(a + step * d_a, _A_FLOOR)
            b_new = b + step * d_b
            f_new = objective(a_new, b_new)
            worse = ~(f_new >= f - 1e-13 * np.abs(f))
            if not worse.any():
                break
            step = np.where(worse, 0.5 * step, step)
        a = np.where(worse, a, a_new)
        b = np.where(worse, b, b_new)
        f = np.where(worse, f, f_new)
    return a / (scale * scale), b / scale, converged
