"""Out-of-sample scores of a param document on a held-out day. No Dagster.

Scores are computed from the JSON document alone, so the candidate and the currently
published set are scored the same way on the same day. Higher is better for every
score named ``*_loglik*``; ``primary`` is the sum of the two predictive log scores the
quoting model lives on: order-flow timing (Hawkes) and fill depth (kappa).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assets.features import DayFeatures, minute_close_mids
from assets.model_fits import hawkes_inputs, trade_depths
from calibration.hawkes import intensity_path, merge_same_timestamp, rescaled_residuals
from data_lake.registry.document import current_estimates

__all__ = ["PRIMARY_SCORE", "score_document"]

PRIMARY_SCORE = "oos_loglik_per_event"


def _hawkes_loglik_per_event(hawkes: dict[str, Any], f: DayFeatures) -> float | None:
    """Mean log-likelihood per event of the next day's trades under the fitted Hawkes."""
    try:
        mu = np.asarray(hawkes["mu"], float)
        alpha = np.asarray(hawkes["alpha_terms"], float)
        beta = np.asarray(hawkes["beta_terms"], float)
    except (KeyError, TypeError):
        return None
    times, marks, window = hawkes_inputs(f)
    if times.size < 10:
        return None
    t, m, _ = merge_same_timestamp(times, marks)
    lam = intensity_path(t, m, mu, alpha, beta, t)
    log_lam = np.log(np.maximum(lam[np.arange(t.size), m], 1e-300)).sum()
    comp = sum(float(r.sum()) for r in rescaled_residuals(t, m, mu, alpha, beta))
    # Tail of the compensator after each component's last event, at the baseline rate.
    tail = sum(
        float(mu[i]) * (window - float(t[m == i][-1])) for i in range(mu.size) if np.any(m == i)
    )
    return float((log_lam - comp - tail) / t.size)


def _depth_loglik_per_order(quoting: dict[str, Any], f: DayFeatures) -> float | None:
    """Mean log density of the next day's fill depths under the quoted kappas (exponential)."""
    depths = trade_depths(f)
    keep = depths.depth_bps >= 0
    if keep.sum() < 10:
        return None
    d, side = depths.depth_bps[keep], depths.side[keep]
    kappa = np.where(side > 0, quoting["kappa_ask_per_bps"], quoting["kappa_bid_per_bps"])
    return float(np.mean(np.log(kappa) - kappa * d))


def _sigma_error(quoting: dict[str, Any], f: DayFeatures) -> float | None:
    """|forecast - realised| of sigma (bps/sqrt(s)), realised from 1-minute mids."""
    q = f.quotes
    if len(q) < 100:
        return None
    r = np.diff(np.log(minute_close_mids(q))) * 1e4
    realised = float(np.sqrt(np.sum(r**2) / (r.size * 60.0)))
    return abs(float(quoting["sigma_bps_per_sqrt_s"]) - realised)


def score_document(document: dict[str, Any], held_out: DayFeatures) -> dict[str, float]:
    """Every out-of-sample score of a param document on the held-out day."""
    quoting, models = document["quoting"], document.get("models", {})
    scores: dict[str, float] = {}
    hawkes_estimates = current_estimates("hawkes", models.get("hawkes", {}))
    hawkes = _hawkes_loglik_per_event(hawkes_estimates, held_out)
    depth = _depth_loglik_per_order(quoting, held_out)
    sigma = _sigma_error(quoting, held_out)
    if hawkes is not None:
        scores["hawkes_oos_loglik_per_event"] = hawkes
    if depth is not None:
        scores["depth_oos_loglik_per_order"] = depth
    if sigma is not None:
        scores["sigma_abs_error_bps_per_sqrt_s"] = sigma
    if hawkes is not None and depth is not None:
        scores[PRIMARY_SCORE] = hawkes + depth
    return scores
