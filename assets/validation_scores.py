"""Out-of-sample scores of what the trader quotes with, as pure functions of arrays.

Each function scores one published model on held-out data (arrays in, a float out; no
lake, no Dagster); ``assets.validation`` extracts the arrays from a held-out day and the
parameters from a param document. Units follow docs/architecture.md §4 (seconds, bps).

Every score is a strictly proper scoring rule or a consistent loss for the quantity the
trader reads, so the true parameters score best in expectation:

- Hawkes: log-likelihood per event of the point process (strictly proper for the law of
  the flow), with the quoting block's constant baseline and single-decay kernel.
- Fill depth: mean log density of the fill depths on the quoting support under the chosen
  law (strictly proper for the depth law).
- Sigma: mean log predictive density of held-out returns under a two-piece Student-t with
  the bid (downside) and ask (upside) sigmas and the published df. The log score is
  strictly proper and, unlike |sigma - realised| or QLIKE, it also judges the tail (df)
  and the side split the quoter widens with.
- Adverse-selection add-on: squared error of the curve against the held-out mean markout
  of the trades reaching each depth (squared error is consistent for a mean).
- Micro-price: R^2 of the predicted mid change against the no-model forecast (zero change,
  the mid), with the per-regime coefficients where published; squared error again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from calibration.hawkes import intensity_path

__all__ = [
    "ADDON_DEPTH_RTOL",
    "addon_curve_mse",
    "depth_loglik_per_order",
    "hawkes_loglik_per_event",
    "microprice_r2",
    "split_t_logscore",
]

ADDON_DEPTH_RTOL = 0.01
"""A trade reaches depth ``g`` when its depth is ``>= g (1 - 1 %)``, as the add-on fit's
(calibration.order_flow.adverse_selection) rule."""


def hawkes_loglik_per_event(
    times_s: npt.ArrayLike,
    marks: npt.ArrayLike,
    window_s: float,
    mu_per_s: Sequence[float],
    branching: Sequence[Sequence[float]],
    decay_per_s: float,
) -> float:
    """Log-likelihood per event of a marked event stream under an exponential Hawkes.

    Intensity ``lambda_i(t) = mu_i + sum_j sum_{t_k of type j, t_k < t} n_ij beta
    exp(-beta (t - t_k))``: the quoting block's baseline ``mu`` (events/s), branching
    matrix ``n`` and decay ``beta`` (1/s), one decay for every channel as published.
    ``times_s`` are seconds from the window start (sorted, events merged by the caller),
    ``marks`` the component of each event; the compensator runs to ``window_s``.
    Returns ``(sum log lambda(t_k-) - sum_i Lambda_i(window_s)) / n_events``, nats.
    """
    t = np.asarray(times_s, dtype=np.float64)
    m = np.asarray(marks, dtype=np.int64)
    mu = np.asarray(mu_per_s, dtype=np.float64)
    n = np.asarray(branching, dtype=np.float64)
    beta = float(decay_per_s)
    d = mu.size
    if t.size == 0 or n.shape != (d, d) or not beta > 0 or np.any(mu <= 0):
        raise ValueError(f"need events, mu > 0, a {d}x{d} matrix and a decay > 0")
    if np.any(m < 0) or np.any(m >= d):
        raise ValueError(f"marks must be in [0, {d})")
    b = np.full((d, d), beta)
    lam = intensity_path(t, m, mu, n, b, t)[np.arange(t.size), m]
    log_lam = float(np.log(np.maximum(lam, 1e-300)).sum())
    # Lambda_i(T) = mu_i T + sum_k n_{i, m_k} (1 - exp(-beta (T - t_k))), exactly.
    reach = -np.expm1(-beta * np.maximum(window_s - t, 0.0))
    per_source = np.bincount(m, weights=reach, minlength=d)
    compensator = float(mu.sum() * window_s + (n @ per_source).sum())
    return (log_lam - compensator) / t.size


def _law_logpdf(
    x: np.ndarray, law: str, params: Mapping[str, float | None], support_bps: float
) -> np.ndarray:
    """Log density per bps of depths ``x >= support_bps``, conditional on that support."""
    lo = float(support_bps)
    if law == "exponential":
        kappa = float(params["kappa"])  # type: ignore[arg-type]
        return np.asarray(math.log(kappa) - kappa * (x - lo))
    if law == "power_law":
        alpha = float(params["alpha"])  # type: ignore[arg-type]
        return np.asarray(math.log(alpha - 1.0) - math.log(lo) - alpha * np.log(x / lo))
    if law == "lognormal":
        mu, sigma = float(params["mu"]), float(params["sigma"])  # type: ignore[arg-type]
        z = (np.log(x) - mu) / sigma
        log_sf_lo = float(special.log_ndtr(-(math.log(lo) - mu) / sigma))
        return np.asarray(
            -np.log(x) - math.log(sigma) - 0.5 * math.log(2 * math.pi) - 0.5 * z * z - log_sf_lo
        )
    raise ValueError(f"unknown depth law {law!r}")


def depth_loglik_per_order(
    depths_bps: npt.ArrayLike,
    law: str,
    params: Mapping[str, float | None],
    support_bps: float,
) -> tuple[float, int]:
    """Mean log density (per bps) of the depths on the support, and how many there were.

    ``law`` is ``exponential`` (``kappa`` per bps; memoryless, so any support start),
    ``power_law`` (``alpha``; scale-free above its ``xmin``, so any support ``>= xmin``)
    or ``lognormal`` (``mu``, ``sigma`` of ln depth, renormalised above the support),
    each conditional on ``depth >= support_bps``: the depths the quotes can meet.
    Returns ``(nan, 0)`` when no depth reaches the support.
    """
    x = np.asarray(depths_bps, dtype=np.float64)
    x = x[np.isfinite(x) & (x >= support_bps)]
    if x.size == 0:
        return math.nan, 0
    return float(np.mean(_law_logpdf(x, law, params, support_bps))), int(x.size)


def split_t_logscore(
    returns_bps: npt.ArrayLike,
    sigma_down_bps_per_sqrt_s: float,
    sigma_up_bps_per_sqrt_s: float,
    df: float | None,
    horizon_s: float,
) -> float:
    """Mean log predictive density (nats, density per bps) of ``horizon_s`` returns.

    The predictive law is a two-piece Student-t centred at 0: below 0 the scale of the
    downside sigma (the bid's), above it the upside's (the ask's), each scale set so that
    the t's standard deviation is ``sigma sqrt(horizon_s)`` (for ``df <= 2``, where the
    variance is infinite, the scale is ``sigma sqrt(horizon_s)``); ``df`` None or
    infinite is the Gaussian. Density ``2 / (s_down + s_up) f_t(x / s_side)``.
    """
    r = np.asarray(returns_bps, dtype=np.float64)
    r = r[np.isfinite(r)]
    if r.size == 0:
        raise ValueError("no finite returns to score")
    nu = math.inf if df is None or not math.isfinite(df) else float(df)
    factor = math.sqrt((nu - 2.0) / nu) if math.isfinite(nu) and nu > 2.0 else 1.0
    root_h = math.sqrt(horizon_s)
    s_down = float(sigma_down_bps_per_sqrt_s) * root_h * factor
    s_up = float(sigma_up_bps_per_sqrt_s) * root_h * factor
    if not (s_down > 0 and s_up > 0):
        raise ValueError("sigmas must be positive")
    scale = np.where(r < 0, s_down, s_up)
    z = r / scale
    log_f = stats.norm.logpdf(z) if math.isinf(nu) else stats.t.logpdf(z, nu)
    return float(np.mean(math.log(2.0 / (s_down + s_up)) + log_f))


def addon_curve_mse(
    markouts_bps: npt.ArrayLike,
    depths_bps: npt.ArrayLike,
    curve_depth_bps: Sequence[float],
    curve_addon_bps: Sequence[float],
    grid_bps: npt.ArrayLike,
    *,
    min_trades: int = 30,
) -> tuple[float, float, int]:
    """Squared error of an add-on curve against held-out markouts, bps^2.

    At each grid depth ``g``, the held-out mean markout of the trades that reached it
    (depth ``>= g (1 - ADDON_DEPTH_RTOL)``, the add-on's definition) is compared with the
    curve at ``g`` (linear between its points, flat beyond, as the quoter reads it); grid
    depths reached by fewer than ``min_trades`` trades are skipped. Returns ``(mean
    squared error, mean error (curve minus held-out: > 0 over-charges), grid points
    used)``; ``(nan, nan, 0)`` when none qualifies.
    """
    x = np.asarray(markouts_bps, dtype=np.float64)
    d = np.asarray(depths_bps, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(d)
    x, d = x[ok], d[ok]
    errors = []
    for g in np.asarray(grid_bps, dtype=np.float64):
        reached = d >= g * (1.0 - ADDON_DEPTH_RTOL)
        if reached.sum() < min_trades:
            continue
        curve = float(np.interp(g, curve_depth_bps, curve_addon_bps))
        errors.append(curve - float(x[reached].mean()))
    if not errors:
        return math.nan, math.nan, 0
    e = np.asarray(errors)
    return float(np.mean(e * e)), float(np.mean(e)), int(e.size)


def microprice_r2(
    target_bps: npt.ArrayLike,
    features: npt.ArrayLike,
    intercept_bps: float,
    coef_bps: Sequence[float],
    *,
    regime_vol: npt.ArrayLike | None = None,
    regime_edges: Sequence[float] = (),
    regime_coef_bps: Sequence[Sequence[float] | None] = (),
) -> float:
    """``1 - SSE / sum(y^2)`` of the predicted mid change against the mid itself (bps).

    ``features`` is (samples, features) in the order of ``coef_bps``.
    The prediction is ``intercept + x . coef``; with ``regime_edges`` (the fit's
    trailing-vol quantile edges, bps/sqrt(s)) a sample whose ``regime_vol`` falls in
    regime r uses ``regime_coef_bps[r]`` where published (the global coefficients where
    it is None, or where the vol is unknown). 0 is the no-model forecast; negative is
    worse than the mid.
    """
    y = np.asarray(target_bps, dtype=np.float64)
    x = np.asarray(features, dtype=np.float64)
    coef = np.asarray(coef_bps, dtype=np.float64)
    if x.shape != (y.size, coef.size):
        raise ValueError(f"features {x.shape} for {y.size} targets and {coef.size} coefs")
    denom = float(np.sum(y * y))
    if denom <= 0:
        raise ValueError("the mid never moved over the horizon in the held-out sample")
    pred = intercept_bps + x @ coef
    edges = np.asarray(regime_edges, dtype=np.float64)
    if regime_vol is not None and edges.size >= 2 and len(regime_coef_bps) == edges.size - 1:
        vol = np.asarray(regime_vol, dtype=np.float64)
        regime = np.searchsorted(edges[1:-1], vol, side="right")
        for r, c in enumerate(regime_coef_bps):
            sel = (regime == r) & np.isfinite(vol)
            if c is None or not sel.any():
                continue
            pred[sel] = intercept_bps + x[sel] @ np.asarray(c, dtype=np.float64)
    return 1.0 - float(np.sum((y - pred) ** 2)) / denom
