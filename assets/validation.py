"""Out-of-sample scores of a param document on a held-out day. No Dagster.

Scores are computed from the JSON document alone, so the candidate and the currently
published set are scored the same way on the same day. Each scores what the trader
quotes with, as the quoting block publishes it (assets/validation_scores.py says which
rule and why); higher is better for every score the gate reads
(``data_lake.registry.gate.DEFAULT_SCORE_RULES``):

- ``hawkes_oos_loglik_per_event``: the held-out trades under the quoting block's Hawkes
  (``hawkes_mu_per_s``, ``hawkes_branching_matrix``, ``hawkes_decay_per_s``);
- ``depth_oos_loglik_per_order``: the held-out fill depths on the quoting support under
  each side's chosen law with its fitted parameters;
- ``sigma_oos_logscore_per_return``: held-out returns at the volatility's primary scale
  under a two-piece Student-t (bid sigma below 0, ask sigma above, the published df);
- ``addon_oos_neg_mse_bps2``: the add-on curve against the held-out mean markout of the
  trades reaching each depth of a held-out depth grid (``addon_oos_bias_bps`` its mean
  error, recorded);
- ``microprice_oos_r2``: the published micro-price (global and per-regime coefficients)
  against the mid, 0 when it falls back to the mid.

``primary`` is the sum of the Hawkes and depth log scores. ``sigma_abs_error_bps_per_sqrt_s``
(|sigma - realised 1-minute sigma|) is kept as a readable diagnostic, not gated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from assets.features import DayFeatures, minute_close_mids
from assets.model_fits import hawkes_inputs, print_depths, snapshot_jump_signs, trade_depths
from assets.validation_scores import (
    addon_curve_mse,
    depth_loglik_per_order,
    hawkes_loglik_per_event,
    microprice_r2,
    split_t_logscore,
)
from calibration.common.asof import BPS, NS_PER_S, prevailing_index, trailing_realized_vol
from calibration.errors import CalibrationError
from calibration.hawkes import merge_same_timestamp
from calibration.order_flow.adverse_selection import DEFAULT_DEPTH_QUANTILES
from calibration.order_flow.markouts import markout_bps
from calibration.order_flow.microprice_features import (
    book_imbalance,
    flow_imbalance,
    sample_book,
    validate_book,
)
from data_lake.registry.document import current_estimates
from data_lake.registry.gate import (
    SCORE_ADDON,
    SCORE_DEPTH,
    SCORE_HAWKES,
    SCORE_MICROPRICE,
    SCORE_SIGMA,
)

__all__ = ["PRIMARY_SCORE", "depth_support", "score_document"]

PRIMARY_SCORE = "oos_loglik_per_event"
QUOTE_RANGE_LOW_BPS = 0.5
"""The quote range's lower end (calibration.fill_depth default): the depth support of a
side whose law was not fitted on trades."""
SIGMA_DEFAULT_HORIZON_S = 60.0
"""Return interval of the sigma score when the volatility's primary scale is not clock time."""
ADDON_DEFAULT_HORIZON_S = 5.0
MICROPRICE_VOL_WINDOW_S = 30.0
"""Trailing window of the regime volatility (calibration.order_flow.microprice default)."""


# -- the Hawkes -----------------------------------------------------------------------------


def _hawkes_params(
    quoting: Mapping[str, Any], models: Mapping[str, Any]
) -> tuple[list[float], list[list[float]], float] | None:
    """(mu, branching matrix, decay) as the quoting block publishes them (schema 1: the
    model's mu and alpha with the published decay)."""
    mu, matrix = quoting.get("hawkes_mu_per_s"), quoting.get("hawkes_branching_matrix")
    decay = quoting.get("hawkes_decay_per_s")
    if mu is None or matrix is None:
        est = current_estimates("hawkes", models.get("hawkes", {}))
        mu, matrix = est.get("mu"), est.get("alpha")
    if mu is None or matrix is None or decay is None:
        return None
    return list(mu), [list(r) for r in matrix], float(decay)


def _hawkes_score(quoting: Mapping[str, Any], models: Mapping[str, Any], f: DayFeatures) -> (
    float | None
):
    params = _hawkes_params(quoting, models)
    times, marks, window = hawkes_inputs(f)
    if params is None or times.size < 10:
        return None
    t, m, _ = merge_same_timestamp(times, marks)
    try:
        return hawkes_loglik_per_event(t, m, window, *params)
    except ValueError:
        return None


# -- fill depth -----------------------------------------------------------------------------


def _side_law(models: Mapping[str, Any], side: str) -> tuple[str, dict[str, Any], float] | None:
    """(chosen law, its parameters, the support it was fitted on) of one quote side."""
    est = current_estimates("fill_depth", models.get("fill_depth", {}))
    fit = (est.get(side) or {}).get("fit")
    if not fit:
        return None
    best = fit.get("best")
    law = (fit.get("laws") or {}).get(best)
    support = fit.get("support_min_bps")
    if law is None or support is None:
        return None
    return str(best), dict(law["params"]), float(support)


def depth_support(document: Mapping[str, Any]) -> dict[str, float]:
    """Each side's depth support, bps: where the chosen law was fitted, else the quote
    range's lower end."""
    models = document.get("models", {})
    out = {}
    for side in ("bid", "ask"):
        law = _side_law(models, side)
        out[side] = law[2] if law is not None else QUOTE_RANGE_LOW_BPS
    return out


def _depth_score(
    quoting: Mapping[str, Any],
    models: Mapping[str, Any],
    f: DayFeatures,
    support: Mapping[str, float] | None,
) -> float | None:
    """Mean log density per fill depth over both sides, each under its chosen law on the
    support (the larger of the document's and ``support`` where given, so two documents
    are scored on the same depths); the GLFT exponential where no law was fitted."""
    depths = trade_depths(f)
    total, count = 0.0, 0
    for side, sign in (("bid", -1), ("ask", 1)):
        law = _side_law(models, side)
        own = law[2] if law is not None else QUOTE_RANGE_LOW_BPS
        lo = max(own, float((support or {}).get(side, own)))
        if law is None:
            name, params = "exponential", {"kappa": float(quoting[f"kappa_{side}_per_bps"])}
        else:
            name, params = law[0], law[1]
        try:
            mean, n = depth_loglik_per_order(
                depths.depth_bps[depths.side == sign], name, params, lo
            )
        except (KeyError, TypeError, ValueError):
            return None
        if n:
            total, count = total + mean * n, count + n
    return total / count if count >= 10 else None


# -- sigma ----------------------------------------------------------------------------------


def _sigma_horizon_s(models: Mapping[str, Any]) -> float:
    vol = models.get("volatility", {})
    for scale in vol.get("scales") or []:
        if scale.get("label") == vol.get("primary_label") and scale.get("clock") == "clock":
            return float(scale["interval"])
    return SIGMA_DEFAULT_HORIZON_S


def held_out_returns_bps(f: DayFeatures, horizon_s: float) -> np.ndarray:
    """Log returns of the mid prevailing on a ``horizon_s`` grid from the first quote, bps."""
    q = f.quotes
    ts = q["ts"].to_numpy(np.int64)
    if ts.size < 2:
        return np.zeros(0)
    grid = np.arange(int(ts[0]), int(ts[-1]) + 1, round(horizon_s * NS_PER_S), dtype=np.int64)
    level = q["mid"].to_numpy(float)[prevailing_index(ts, grid, strict=False)]
    return np.asarray(np.diff(np.log(level)) * BPS)


def _sigma_score(quoting: Mapping[str, Any], models: Mapping[str, Any], f: DayFeatures) -> (
    float | None
):
    h = _sigma_horizon_s(models)
    r = held_out_returns_bps(f, h)
    if r.size < 50:
        return None
    sym = quoting.get("sigma_bps_per_sqrt_s")
    down = quoting.get("sigma_bid_bps_per_sqrt_s") or sym
    up = quoting.get("sigma_ask_bps_per_sqrt_s") or sym
    if down is None or up is None:
        return None
    return split_t_logscore(r, float(down), float(up), quoting.get("student_t_df"), h)


def _sigma_error(quoting: Mapping[str, Any], f: DayFeatures) -> float | None:
    """|forecast - realised| of sigma (bps/sqrt(s)), realised from 1-minute mids."""
    q = f.quotes
    if len(q) < 100:
        return None
    r = np.diff(np.log(minute_close_mids(q))) * 1e4
    realised = float(np.sqrt(np.sum(r**2) / (r.size * 60.0)))
    return abs(float(quoting["sigma_bps_per_sqrt_s"]) - realised)


# -- the adverse-selection add-on -----------------------------------------------------------


def _addon_score(
    quoting: Mapping[str, Any], models: Mapping[str, Any], f: DayFeatures
) -> tuple[float, float] | None:
    """(minus the curve's squared error, its mean error) on the held-out markouts."""
    t, q = f.trades, f.quotes
    if len(t) < 50 or len(q) < 2:
        return None
    horizon = models.get("adverse_selection", {}).get("horizon_s") or ADDON_DEFAULT_HORIZON_S
    tm = markout_bps(
        t["ts"].to_numpy(np.int64),
        t["side"].to_numpy(np.int64),
        q["ts"].to_numpy(np.int64),
        q["mid"].to_numpy(float),
        float(horizon),
    )
    depth = print_depths(f)
    depths, addons = quoting.get("as_addon_curve_depth_bps"), quoting.get("as_addon_curve_bps")
    if depths is None or addons is None:
        depths, addons = [0.0], [float(quoting["as_addon_bps"])]
    positive = depth[tm.valid & (depth > 0)]
    grid = np.zeros(1)
    if positive.size:
        grid = np.unique(np.append(grid, np.quantile(positive, DEFAULT_DEPTH_QUANTILES)))
    mse, bias, n = addon_curve_mse(
        np.where(tm.valid, tm.markout_bps, np.nan), depth, depths, addons, grid
    )
    return (-mse, bias) if n else None


# -- the micro-price ------------------------------------------------------------------------


def _microprice_score(
    quoting: Mapping[str, Any], models: Mapping[str, Any], f: DayFeatures
) -> float | None:
    """R^2 against the mid of the published micro-price on the held-out snapshots."""
    est = current_estimates("microprice", models.get("microprice", {}))
    names = quoting.get("microprice_feature_names") or est.get("feature_names")
    coef = quoting.get("microprice_coef_bps") or est.get("coef_bps")
    intercept = quoting.get("microprice_intercept_bps")
    if intercept is None:
        intercept = est.get("intercept_bps", 0.0)
    levels, t, q = f.book_levels, f.trades, f.quotes
    if not levels["ts"].shape[0] or len(q) < 2:
        return None
    try:
        book = validate_book(
            levels["ts"],
            np.nan_to_num(levels["bid_px"]),
            np.nan_to_num(levels["bid_sz"]),
            np.nan_to_num(levels["ask_px"]),
            np.nan_to_num(levels["ask_sz"]),
        )
        sampled = sample_book(
            book,
            float(est.get("horizon_s") or 0.3),
            est.get("sample_interval_s"),
            (q["ts"].to_numpy(np.int64), q["mid"].to_numpy(float)),
        )
    except CalibrationError:
        return None
    y = sampled.target_bps
    if y.size < 20 or not np.any(y != 0):
        return None
    if quoting.get("microprice_fallback_to_mid") or not names or not coef:
        return 0.0  # the mid itself: the no-model forecast
    cols = []
    bs, az = book.bid_sz[sampled.row], book.ask_sz[sampled.row]
    for name in names:
        if name.startswith("imbalance_l"):
            cols.append(book_imbalance(bs, az, int(name.removeprefix("imbalance_l"))))
        elif name == "flow_imbalance":
            cols.append(
                flow_imbalance(
                    sampled.ts_ns,
                    t["ts"].to_numpy(np.int64),
                    t["side"].to_numpy(float),
                    t["size"].to_numpy(float),
                    float(est.get("flow_window_s") or 1.0),
                )
            )
        elif name == "jump_sign":
            cols.append(snapshot_jump_signs(f)[sampled.row])
        else:
            return None  # a feature this code cannot rebuild: no score
    vol = trailing_realized_vol(book.ts_ns, book.mid, sampled.ts_ns, MICROPRICE_VOL_WINDOW_S)
    return microprice_r2(
        y,
        np.column_stack(cols),
        float(intercept),
        [float(c) for c in coef],
        regime_vol=vol,
        regime_edges=quoting.get("microprice_regime_edges_bps_per_sqrt_s") or (),
        regime_coef_bps=quoting.get("microprice_regime_coef_bps") or (),
    )


# -- all of them ----------------------------------------------------------------------------


def score_document(
    document: Mapping[str, Any],
    held_out: DayFeatures,
    depth_support_bps: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Every out-of-sample score of a param document on the held-out day.

    ``depth_support_bps`` (per side) raises the depth support to a common one when two
    documents are compared (:func:`depth_support` of each); a score the held-out day is
    too thin for is left out.
    """
    quoting, models = document["quoting"], document.get("models", {})
    scores: dict[str, float] = {}
    hawkes = _hawkes_score(quoting, models, held_out)
    depth = _depth_score(quoting, models, held_out, depth_support_bps)
    found: dict[str, float | None] = {
        SCORE_HAWKES: hawkes,
        SCORE_DEPTH: depth,
        SCORE_SIGMA: _sigma_score(quoting, models, held_out),
        SCORE_MICROPRICE: _microprice_score(quoting, models, held_out),
        "sigma_abs_error_bps_per_sqrt_s": _sigma_error(quoting, held_out),
    }
    addon = _addon_score(quoting, models, held_out)
    if addon is not None:
        found[SCORE_ADDON], found["addon_oos_bias_bps"] = addon
    if hawkes is not None and depth is not None:
        found[PRIMARY_SCORE] = hawkes + depth
    scores = {k: float(v) for k, v in found.items() if v is not None and math.isfinite(v)}
    return scores
