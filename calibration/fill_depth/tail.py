"""Clauset-Shalizi-Newman (2009) power-law tail report: xmin, alpha, p-value, LR tests.

A report on the far tail of a sample, not the quoting law (that is chosen on the whole
quoting support, :func:`calibration.fill_depth.fit_fill_depth`). It follows CSN:

- §3.3: xmin minimises the K-S distance between the tail ``x >= xmin`` and its fitted
  power law, over every distinct value (``n_xmin=None``) or a geometric grid of tail sizes
  (``n_xmin`` candidates), keeping at least ``min_tail`` points; no other cap on the tail.
- §3.1: alpha is the continuous MLE ``1 + n_tail / sum(ln(x / xmin))``.
- §4.1: the p-value is the fraction of semi-parametric resamples (body drawn from the data
  below xmin, tail from the fitted law, xmin re-selected and alpha re-fitted in each) whose
  K-S distance is at least the observed one.
- §5: Vuong tests of the power law against the exponential and the lognormal on the tail.

Units are the sample's (bps for depths).

Reference: Clauset, A., Shalizi, C. R. & Newman, M. E. J. (2009). Power-law distributions
in empirical data. SIAM Review 51(4), 661-703.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from calibration.errors import CalibrationError
from calibration.fill_depth import bootstrap as db
from calibration.fill_depth import laws as dl
from calibration.fill_depth.results import PowerLawTail, VuongTest

__all__ = ["power_law_tail"]


def power_law_tail(
    x: npt.ArrayLike,
    *,
    n_boot: int = 0,
    rng: np.random.Generator | None = None,
    n_xmin: int | None = None,
    min_tail: int = 50,
    xmin: float | None = None,
    ci_level: float = 0.95,
) -> PowerLawTail:
    """CSN power-law tail fit of a positive sample, with its bootstrap p-value.

    Parameters
    ----------
    x : array
        Non-negative sample (zeros never enter a tail), any order.
    n_boot : int
        CSN resamples for the p-value and the alpha interval (0: none).
    rng : numpy Generator, optional
        Source of the resamples (default: seeded with 0).
    n_xmin : int or None
        None: every distinct value is an xmin candidate (the paper's scan). An int: that
        many tail sizes on a geometric grid from the whole sample down to ``min_tail``.
    min_tail : int
        Fewest observations a tail may keep.
    xmin : float, optional
        Fixed xmin (no scan); resamples then hold it fixed too.
    ci_level : float
        Coverage of ``alpha_ci``.

    Raises
    ------
    CalibrationError
        When no tail of ``min_tail`` distinct positive values exists, or ``xmin`` leaves
        fewer than ``min_tail`` observations.
    """
    xs = np.sort(np.asarray(x, dtype=np.float64))
    if xs.ndim != 1 or not np.all(np.isfinite(xs)) or (xs.size and xs[0] < 0.0):
        raise CalibrationError("power_law_tail needs a 1-D sample of finite values >= 0")
    rng = rng if rng is not None else np.random.default_rng(0)
    n = xs.size
    scan = None
    if xmin is None:
        scan = dl.power_law_scan(xs, n_xmin=n_xmin, min_tail=min_tail)
        k, lo, n_cand = scan.start, scan.xmin, scan.n_candidates
    else:
        if not (math.isfinite(xmin) and xmin > 0.0):
            raise CalibrationError(f"xmin must be positive, got {xmin}")
        k, lo, n_cand = int(np.searchsorted(xs, xmin, side="left")), float(xmin), 1
    tail = xs[k:]
    m = tail.size
    if m < min_tail:
        raise CalibrationError(f"only {m} values >= xmin={lo:.4g}; need {min_tail}")
    fits = dl.fit_truncated(tail, lo)
    alpha = 1.0 + fits.am1

    p_value: float | None = None
    alpha_ci: tuple[float, float] | None = None
    if n_boot > 0:
        if scan is not None:
            ks_b, alpha_b, _ = db.power_law_bootstrap(
                xs, scan, rng=rng, n_boot=n_boot, rescan=True,
                n_xmin=0 if n_xmin is None else n_xmin,
                tail_frac_min=min(1.0, min_tail / n), min_tail=min_tail, chunk=db.CHUNK,
            )
        else:
            ks_b, rate_b = db.exp_family_bootstrap(rng, n_boot, m, fits.am1, return_rate=True)
            alpha_b = 1.0 + rate_b
        p_value = float(np.mean(ks_b >= fits.ks["power_law"]))
        ok = np.isfinite(alpha_b)
        if ok.sum() >= 2:
            q = ((1.0 - ci_level) / 2.0, (1.0 + ci_level) / 2.0)
            alpha_ci = (float(np.quantile(alpha_b[ok], q[0])),
                        float(np.quantile(alpha_b[ok], q[1])))
    ll = fits.loglik
    vuong = tuple(VuongTest.from_pointwise("power_law", other, ll["power_law"], ll[other])
                  for other in ("exponential", "lognormal"))
    return PowerLawTail(
        xmin=lo, xmin_selected=scan is not None, alpha=alpha,
        alpha_stderr=fits.am1 / math.sqrt(m), alpha_ci=alpha_ci, n_tail=m,
        ks=fits.ks["power_law"], p_value=p_value, n_candidates=n_cand, vuong=vuong,
    )
