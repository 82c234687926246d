"""Realised statistics of a synthetic symbol-day, for the ``realised`` part of its truth.

They are computed on the true published mid at the price-step resolution, with the
planted flags (informed, order membership) that a calibration does not see, so they tell
a calibration test what this particular sample realised around the planted expectation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from data_lake.sources.synthetic.config import InformedParams
from data_lake.sources.synthetic.flow import OrderFlow
from data_lake.sources.synthetic.truth import MARKOUT_HORIZONS_S, RV_INTERVAL_S

__all__ = [
    "expected_markout_given_flow",
    "imbalance_slope",
    "mean_with_se",
    "realised_summary",
    "realised_variance_bps2",
]


def mean_with_se(values: np.ndarray) -> dict[str, float | int | None]:
    """Mean, naive (i.i.d.) standard error and count (None when undefined, never NaN).

    For markouts the naive se understates the error of clustered flow (~2x here).
    """
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


def expected_markout_given_flow(
    order_step: np.ndarray,
    side: np.ndarray,
    *,
    fraction: float,
    markout_bps: float,
    ramp_steps: int,
    horizons_steps: list[int],
) -> list[float | None]:
    """Expected unconditional markout per order (bps), given the day's order times and sides.

    Diffusion, jumps and the imbalance signal are independent of the sides, so only the
    informed ramps move the expected markout: order i's own ramp (if informed, prob f)
    and the ramps of every order j whose ramp overlaps i's window (informed with prob f,
    independently of the sides):

        E[markout_i] = f m (G(0) + sum_{j != i} s_i s_j G(k_j - k_i)),
        G(d) = |(d, d + n] intersect (0, H]| / n   (steps; n ramp, H horizon).

    Averaging over orders gives the unconditional markout the adverse-selection fit
    should find, free of the price noise that the realised markout carries. Ramps cut at
    the end of the day are ignored.
    """
    n_orders = order_step.size
    if n_orders == 0:
        return [None for _ in horizons_steps]
    signs = side.astype(np.float64)
    out: list[float | None] = []
    for horizon in horizons_steps:
        reach = max(horizon, ramp_steps)
        pair_sum = 0.0
        for k in range(1, n_orders):
            lag = order_step[k:] - order_step[:-k]  # j = i + k, later (or same step)
            if lag.min() >= reach:
                break
            sign = signs[k:] * signs[:-k]
            # Later j's ramp inside i's window, and earlier i's ramp inside j's window.
            later = np.clip(np.minimum(ramp_steps, horizon - lag), 0, None)
            earlier = np.clip(np.minimum(ramp_steps - lag, horizon), 0, None)
            pair_sum += float(np.sum(sign * (later + earlier)))
        own = min(ramp_steps, horizon) / ramp_steps
        out.append(fraction * markout_bps * (own + pair_sum / ramp_steps / n_orders))
    return out


def variance_path(variance: np.ndarray, step_s: float, every_s: float = 60.0) -> list[float]:
    """Means of the annualised variance path over consecutive ``every_s`` windows (the last
    one may be shorter), 5 significant digits: the day's variance mixture, compactly."""
    every = max(1, round(every_s / step_s))
    starts = np.arange(0, variance.size, every)
    sums = np.add.reduceat(variance, starts)
    counts = np.diff(np.append(starts, variance.size))
    return [float(f"{m:.5g}") for m in sums / counts]


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
    informed: InformedParams,
    variance: np.ndarray,
) -> dict[str, Any]:
    """Summary statistics of what the day realised, computed on the true (published) mid.

    ``variance`` is the Heston variance path (annualised, one value per step); its
    1-minute means go into the document because a day's returns mix only the variances
    that day visited, which is narrower than the stationary law (the truth of the
    Student-t df is conditioned on it).
    """
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
    markouts["expected_given_flow"] = expected_markout_given_flow(
        order_step,
        flow.side,
        fraction=informed.fraction,
        markout_bps=informed.markout_bps,
        ramp_steps=max(1, round(informed.horizon_s / step_s)),
        horizons_steps=[round(h / step_s) for h in MARKOUT_HORIZONS_S],
    )

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
        "variance_path_1min": variance_path(variance, step_s),
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
