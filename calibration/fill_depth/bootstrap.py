"""Parametric bootstraps of the fill-depth laws, batched and drawn already sorted.

Each resample is generated in sorted order (Rényi's representation of exponential order
statistics), so nothing is sorted; resamples come in chunks of ``CHUNK`` rows to bound memory.
The power law's resamples (CSN 2009 §4.1, xmin re-selected in each) run in a parallel numba
kernel; the lognormal's refits use the batched Newton solver of :mod:`laws`, its samples and
K-S distances compiled kernels.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numba
import numpy as np

from calibration.errors import ConvergenceWarning
from calibration.fill_depth import laws as dl
from calibration.fill_depth import normal as nm
from calibration.types import Float64Array, Int64Array

__all__ = [
    "CHUNK",
    "exp_family_bootstrap",
    "power_law_bootstrap",
    "support_bootstrap",
]

CHUNK = 16  # resamples generated per batch (bounds memory at ~16 n doubles)


@numba.njit(cache=True, inline="always")
def _ks_gap(d: float, cdf: float, i: int, m: int) -> float:
    """The running K-S distance after the ``i``-th of ``m`` sorted points at ``cdf``."""
    return max(d, (i + 1.0) / m - cdf, cdf - i / m)


@numba.njit(cache=True, parallel=True)
def _pl_bootstrap_kernel(
    log_body: Float64Array,
    log_xmin: float,
    alpha: float,
    n: int,
    n_tail_b: Int64Array,
    expo: Float64Array,
    rescan: bool,
    n_xmin: int,
    tail_frac_min: float,
    min_tail: int,
) -> tuple[Float64Array, Float64Array, Float64Array]:
    """One semi-parametric CSN resample per row of ``expo``, xmin re-selected in each."""
    rows = expo.shape[0]
    k_body = log_body.size
    ks_b = np.empty(rows)
    alpha_b = np.empty(rows)
    logxmin_b = np.empty(rows)
    inv_am1 = 1.0 / (alpha - 1.0)
    for b in numba.prange(rows):
        nt = n_tail_b[b]
        nb = n - nt
        e = expo[b]
        logx = np.empty(n)
        # body: sorted uniforms from exponential spacings, mapped to the empirical body
        if nb > 0:
            total = 0.0
            for i in range(nb + 1):
                total += e[i]
            c = 0.0
            for i in range(nb):
                c += e[i]
                idx = min(int(c / total * k_body), k_body - 1)
                logx[i] = log_body[idx]
        # tail: log(x / xmin) * (alpha - 1) ~ Exp(1); sorted by Rényi's representation
        c = 0.0
        for i in range(nt):
            c += e[nb + 1 + i] / (nt - i)
            logx[nb + i] = log_xmin + c * inv_am1
        if rescan:
            starts = dl.candidate_starts(logx, n_xmin, tail_frac_min, min_tail)
        else:
            starts = np.full(1, nb, dtype=np.int64)
        if starts.size == 0:
            ks_b[b] = np.inf
            alpha_b[b] = np.nan
            logxmin_b[b] = np.nan
            continue
        alphas, kss = dl.scan_candidates(logx, starts)
        j = np.argmin(kss)
        ks_b[b] = kss[j]
        alpha_b[b] = alphas[j]
        logxmin_b[b] = logx[starts[j]]
    return ks_b, alpha_b, logxmin_b


def power_law_bootstrap(
    x_sorted: Float64Array,
    scan: dl.PowerLawScan,
    *,
    rng: np.random.Generator,
    n_boot: int,
    rescan: bool,
    n_xmin: int,
    tail_frac_min: float,
    min_tail: int,
    chunk: int = 16,
) -> tuple[Float64Array, Float64Array, Float64Array]:
    """CSN (2009, §4.1) semi-parametric bootstrap of the power law.

    Each resample has ``n`` points: Binomial(n, n_tail/n) of them from the fitted power law
    above xmin, the rest drawn with replacement from the observed body below xmin; the whole
    fit (xmin scan when ``rescan``, then alpha) is repeated on it.

    Returns
    -------
    ks_b, alpha_b, xmin_b : (n_boot,) arrays (xmin in bps)
    """
    n = x_sorted.size
    log_body = dl.safe_log(x_sorted[: scan.start])
    n_tail_b = rng.binomial(n, scan.n_tail / n, size=n_boot).astype(np.int64)
    if log_body.size == 0:
        n_tail_b[:] = n
    out_ks, out_alpha, out_lx = [], [], []
    for lo in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - lo)
        expo = rng.standard_exponential((rows, n + 2))
        ks, al, lx = _pl_bootstrap_kernel(
            log_body,
            math.log(scan.xmin),
            scan.alpha,
            n,
            n_tail_b[lo : lo + rows],
            expo,
            rescan,
            n_xmin,
            tail_frac_min,
            min_tail,
        )
        out_ks.append(ks)
        out_alpha.append(al)
        out_lx.append(lx)
    return np.concatenate(out_ks), np.concatenate(out_alpha), np.exp(np.concatenate(out_lx))


def exp_family_bootstrap(
    rng: np.random.Generator, n_boot: int, m: int, rate: float = 1.0, *,
    return_rate: bool = False,
) -> Any:
    """Parametric bootstrap of an exponential sample of size m: K-S (and re-fitted rates).

    The K-S distance of an exponential sample from its own fitted law does not depend on the
    rate (it is pivotal), so one set of resamples serves the exponential on ``depth - lo`` and
    the power law with a fixed xmin on ``log(depth / xmin)``, which is Exp(alpha - 1).
    ``rate`` only scales the returned re-fitted rates.
    """
    ks_out, rate_out = [], []
    for lo in range(0, n_boot, CHUNK):
        rows = min(CHUNK, n_boot - lo)
        ks, scale = _exp_ks_kernel(rng.standard_exponential((rows, m)))
        ks_out.append(ks)
        rate_out.append(rate * scale)
    ks_all = np.concatenate(ks_out) if ks_out else np.empty(0)
    if return_rate:
        return ks_all, (np.concatenate(rate_out) if rate_out else np.empty(0))
    return ks_all


@numba.njit(cache=True, parallel=True)
def _exp_ks_kernel(expo: Float64Array) -> tuple[Float64Array, Float64Array]:
    """Per row: K-S of the sorted sample (Rényi) from Exp(fitted rate), and that rate."""
    rows, m = expo.shape
    ks = np.empty(rows)
    rate = np.empty(rows)
    for r in numba.prange(rows):
        total = 0.0
        for i in range(m):
            total += expo[r, i]
        lam = m / total
        c = 0.0
        d = 0.0
        for i in range(m):
            c += expo[r, i] / (m - i)
            cdf = -math.expm1(-lam * c)
            d = _ks_gap(d, cdf, i, m)
        ks[r] = d
        rate[r] = lam
    return ks, rate


def support_bootstrap(
    rng: np.random.Generator, n_boot: int, m: int, p: dl.LognormalParams | None
) -> tuple[Float64Array, Float64Array | None]:
    """K-S bootstrap draws of the exponential family and of the truncated lognormal.

    Both come from the same Exp(1) draws (common random numbers: each p-value is a valid
    Monte Carlo p-value on its own, and the draws, the dearest part, are made once). The
    exponential draws serve the exponential and the fixed-xmin power law
    (:func:`exp_family_bootstrap`); the lognormal resamples are those draws mapped through
    the fitted law's inverse CDF, (a, b) re-fitted in each. ``p=None`` skips the lognormal.

    Returns
    -------
    ks_exp, ks_lognormal : (n_boot,) arrays (ks_lognormal None when ``p`` is None)
    """
    ks_exp = np.empty(n_boot)
    ks_ln = None if p is None else np.empty(n_boot)
    for lo in range(0, n_boot, CHUNK):
        rows = min(CHUNK, n_boot - lo)
        expo = rng.standard_exponential((rows, m))
        ks_exp[lo : lo + rows] = _exp_ks_kernel(expo)[0]
        if p is None or ks_ln is None:
            continue
        t = np.empty((rows, m))
        t1, t2 = dl.truncnorm_sample_sorted(expo, p.sigma, p.b * p.sigma, t)
        a, b, ok = dl.lognormal_fit_batch(t1, t2, p)
        for r in np.flatnonzero(~ok):  # rare: fall back to the bounded quasi-Newton fit
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                pb = dl.lognormal_fit(float(t1[r]), float(t2[r]), m, start=(p.a, p.b))
            a[r], b[r] = pb.a, pb.b
        sigma = 1.0 / np.sqrt(2.0 * a)
        ks_ln[lo : lo + rows] = _truncnorm_ks_kernel(t, sigma, b * sigma)
    return ks_exp, ks_ln


@numba.njit(cache=True, parallel=True)
def _truncnorm_ks_kernel(t: Float64Array, sigma: Float64Array, z_c: Float64Array) -> (
    Float64Array
):
    """Per row: K-S of sorted ``t >= 0`` from the normal(sigma) truncated at ``z_c`` sd units.

    ``F(t) = 1 - Q(z_c + t / sigma) / Q(z_c)``; far in the upper tail (z_c near the power-law
    boundary) from the far-tail excess form, without cancellation.
    """
    rows, m = t.shape
    ks = np.empty(rows)
    for r in numba.prange(rows):
        s, zc = sigma[r], z_c[r]
        direct = zc < nm.FAR_Z
        q_c = nm.upper_tail(zc)
        log_s_c = 0.0 if direct else nm.far_log_series(zc)
        d = 0.0
        for i in range(m):
            if direct:
                cdf = 1.0 - nm.upper_tail(zc + t[r, i] / s) / q_c
            else:
                cdf = -math.expm1(nm.far_excess_log_sf_at(t[r, i] / s, zc, log_s_c))
            d = _ks_gap(d, cdf, i, m)
        ks[r] = d
    return ks
