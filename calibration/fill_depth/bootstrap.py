"""Parametric bootstraps of the fill-depth laws, batched and drawn already sorted.

Each resample is generated in sorted order (Rényi's representation of exponential order
statistics), so nothing is sorted; resamples come in chunks of ``CHUNK`` rows to bound memory.
The power law's resamples (CSN 2009 §4.1, xmin re-selected in each) run in a parallel numba
kernel; the lognormal's refits use the batched Newton solver of :mod:`depth_laws`.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numba
import numpy as np

from calibration.errors import ConvergenceWarning
from calibration.fill_depth import laws as dl
from calibration.types import Float64Array, Int64Array

__all__ = [
    "CHUNK",
    "exp_family_bootstrap",
    "kappa_bootstrap",
    "lognormal_bootstrap",
    "power_law_bootstrap",
]

CHUNK = 16  # resamples generated per batch (bounds memory at ~16 n doubles)


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
    rng: np.random.Generator, n_boot: int, m: int, rate: float, *, return_rate: bool = False
) -> Any:
    """Parametric bootstrap of an exponential tail of size m: K-S (and re-fitted rates).

    Serves the exponential (on depth - xmin) and the fixed-xmin power law (on log(x/xmin),
    which is Exp(alpha - 1)).
    """
    ks_out, rate_out = [], []
    for lo in range(0, n_boot, CHUNK):
        rows = min(CHUNK, n_boot - lo)
        e = dl.exp_sorted_order_stats(rng, rows, m)  # scale-free: the rate cancels in K-S
        rate_b = m / e.sum(axis=1, keepdims=True)
        ks_out.append(dl.ks_sorted(-np.expm1(-rate_b * e)))
        rate_out.append(rate * rate_b[:, 0])
    ks = np.concatenate(ks_out)
    return (ks, np.concatenate(rate_out)) if return_rate else ks


def lognormal_bootstrap(
    rng: np.random.Generator, n_boot: int, m: int, p: dl.LognormalParams
) -> Float64Array:
    ks = np.empty(n_boot)
    for lo in range(0, n_boot, CHUNK):
        rows = min(CHUNK, n_boot - lo)
        t = dl.lognormal_sample_sorted(rng, rows, m, p)
        t1, t2 = t.mean(axis=1), np.mean(t * t, axis=1)
        a, b, ok = dl.lognormal_fit_batch(t1, t2, p)
        for r in np.flatnonzero(~ok):  # rare: fall back to the bounded quasi-Newton fit
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                pb = dl.lognormal_fit(float(t1[r]), float(t2[r]), m, start=(p.a, p.b))
            a[r], b[r] = pb.a, pb.b
        ks[lo : lo + rows] = dl.ks_sorted(-np.expm1(dl.lognormal_log_sf_rows(t, a, b)))
    return ks


def kappa_bootstrap(
    rng: np.random.Generator, n_boot: int, excess: Float64Array
) -> Float64Array:
    m = excess.size
    out = np.empty(n_boot)
    for lo in range(0, n_boot, CHUNK):
        rows = min(CHUNK, n_boot - lo)
        idx = rng.integers(0, m, size=(rows, m))
        out[lo : lo + rows] = m / excess[idx].sum(axis=1)
    return out
