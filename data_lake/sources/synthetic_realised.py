"""Realised statistics of a synthetic symbol-day, for the ``realised`` part of its truth.

They are computed on the true published mid at the price-step resolution, with the
planted flags (informed, order membership) that a calibration does not see, so they tell
a calibration test what this particular sample realised around the planted expectation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from data_lake.sources.synthetic_flow import OrderFlow
from data_lake.sources.synthetic_truth import MARKOUT_HORIZONS_S, RV_INTERVAL_S

__all__ = ["imbalance_slope", "mean_with_se", "realised_summary", "realised_variance_bps2"]


def mean_with_se(values: np.ndarray) -> dict[str, float | int | None]:
    """Mean, naive standard error and count (None when undefined, never NaN)."""
    n = int(values.size)
    if n == 0:
        return {"mean": None, "se": None, "n": 0}
    mean = float(values.mean())
    se = float(values.std(ddof=1) / math.sqrt(n)) if n > 1 else None
    return {"mean": mean, "se": se, "n": n}


def realised_variance_bps2(log_level: np.ndarray, every: int) -> float:
    """Sum of squared changes of a log-price level sampled every ``every`` steps, bps^2."""
    sampled = log_level[::every]
    return float(np.sum(np.diff(sampled) ** 2) * 1e8)


def imbalance_slope(imbalance: np.ndarray, move_bps: np.ndarray) -> dict[str, float | int | None]:
    """OLS slope (with intercept) of the mid move on the imbalance, and its standard error."""
    n = int(imbalance.size)
    if n < 3 or float(np.var(imbalance)) == 0.0:
        return {"slope_bps": None, "se": None, "n": n}
    x = imbalance - imbalance.mean()
    y = move_bps - move_bps.mean()
    slope = float(x @ y / (x @ x))
    resid = y - slope * x
    se = float(math.sqrt(resid @ resid / (n - 2) / (x @ x)))
    return {"slope_bps": slope, "se": se, "n": n}


def realised_summary(
    *,
    flow: OrderFlow,
    order_step: np.ndarray,
    mid: np.ndarray,
    step_s: float,
    levels: dict[str, np.ndarray],
    log_x: np.ndarray,
    integrated_variance: float,
    jump_bps: np.ndarray,
    n_clipped: int,
    prints_per_order: np.ndarray,
    imbalance: np.ndarray,
    snap_steps: np.ndarray,
    horizon_steps: int,
    funding_rate: np.ndarray,
    rows: dict[str, int],
) -> dict[str, Any]:
    """Summary statistics of what the day realised, computed on the true (published) mid."""
    n_steps = mid.size
    every_5min = max(1, round(RV_INTERVAL_S / step_s))
    every_1s = max(1, round(1.0 / step_s))
    log_mid = np.log(mid)
    rv = {name: realised_variance_bps2(level, every_5min) for name, level in levels.items()}
    rv["efficient_5min"] = realised_variance_bps2(log_x, every_5min)
    rv["mid_5min"] = realised_variance_bps2(log_mid, every_5min)
    rv["mid_1s"] = realised_variance_bps2(log_mid, every_1s)
    rv["integrated_variance"] = integrated_variance * 1e8

    markouts: dict[str, Any] = {"horizons_s": list(MARKOUT_HORIZONS_S)}
    for label, mask in (
        ("all", np.ones(flow.n, dtype=bool)),
        ("informed", flow.informed),
        ("uninformed", ~flow.informed),
    ):
        per_h = []
        for h in MARKOUT_HORIZONS_S:
            later = order_step + round(h / step_s)
            ok = mask & (later < n_steps)
            m = flow.side[ok] * (mid[later[ok]] - mid[order_step[ok]]) / mid[order_step[ok]] * 1e4
            per_h.append(mean_with_se(m))
        markouts[label] = per_h
    per_trade = []
    for h in MARKOUT_HORIZONS_S:
        later = order_step + round(h / step_s)
        ok = later < n_steps
        m = flow.side[ok] * (mid[later[ok]] - mid[order_step[ok]]) / mid[order_step[ok]] * 1e4
        weights = prints_per_order[ok]
        per_trade.append(float(np.sum(m * weights) / max(1, weights.sum())) if m.size else None)
    markouts["per_trade_mean"] = per_trade

    later = snap_steps + horizon_steps
    ok = later < n_steps
    move = (mid[later[ok]] - mid[snap_steps[ok]]) / mid[snap_steps[ok]] * 1e4
    hours = np.minimum((flow.times_s // 3600).astype(np.int64), 23)
    buys = flow.side > 0
    return {
        "orders": {
            "buy": int(buys.sum()),
            "sell": int((~buys).sum()),
            "total": flow.n,
            "informed": int(flow.informed.sum()),
            "per_hour_buy": np.bincount(hours[buys], minlength=24).tolist(),
            "per_hour_sell": np.bincount(hours[~buys], minlength=24).tolist(),
            "prints_per_order_mean": float(prints_per_order.mean()) if flow.n else None,
            "depth_clipped": n_clipped,
        },
        "rows": dict(rows),
        "jumps": {"count": int(jump_bps.size), "sum_sq_bps2": float(np.sum(jump_bps**2))},
        "variance_bps2": rv,
        "annualised_variance_5min": rv["mid_5min"] * 1e-8 * 365 * 86_400 / (n_steps * step_s),
        "markout_bps": markouts,
        "imbalance": imbalance_slope(imbalance[ok], move),
        "depth_bps": {
            "mean": float(flow.depth_bps.mean()) if flow.n else None,
            "median": float(np.median(flow.depth_bps)) if flow.n else None,
        },
        "funding": {
            "mean": float(funding_rate.mean()),
            "sd": float(funding_rate.std(ddof=1)) if funding_rate.size > 1 else None,
        },
        "price": {"open": float(mid[0]), "close": float(mid[-1])},
    }
