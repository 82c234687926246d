"""The truth of every quoting-block field, planted where planted, derived where not.

``quoting_truth(doc)`` reads a symbol-day's truth document (planted parameters plus what
the day realised, ``truth.py`` / ``realised.py``) and returns the ``quoting`` section: one
entry per field of ``data_lake.registry.document.QuotingParams`` with its ``value`` (or a
``low``/``high`` bracket), a ``how`` saying where it comes from, and, where the truth
itself is random, its ``sd``. Units are those of the field names (docs/architecture.md §4).

Derivations (``how``):

- sigma_diffusion: the continuous part of the day's quadratic variation,
  ``sqrt((IV + RV_informed + RV_signal) / T)``: the realised integrated Heston variance
  plus the informed ramps and the imbalance signal, which move the price continuously
  (over 5-30 s), so the jump-robust (bipower) estimator rightly counts them; only the
  Kou jumps are discontinuous. The Heston diffusion alone (``heston_only``, the planted
  0.89 / 1.25 / 1.60 of the default market in the long run), the expected IV given
  v_start and the long-run ``sqrt(theta)`` are kept alongside.
- sigma_total: the day's quadratic variation over T, ``sqrt((IV + sum J^2 + RV_informed
  + RV_signal) / T)``: the exact integrated variance and squared jumps, plus the 5-minute
  realised variance of the informed ramps and the imbalance signal (small; the 5-minute
  RV of the mid itself is too noisy, ~8 % in variance, to be a truth). The strategy needs the
  total when flow is toxic (jumps and informed moves hit a resting quote) and the
  diffusion otherwise; the published blend ``sigma_bps_per_sqrt_s`` must lie between
  them, and the per-side sigmas between the diffusion and
  ``sqrt(diffusion^2 + 2 (total^2 - diffusion^2))`` (a side's jump part is at most twice
  the total jump variance, all moves on one side).
- Hawkes: baselines ``mu`` (daily average), branching matrix ``alpha`` planted; the
  branching ratio is its spectral radius; the decay is the branching-weighted
  reciprocal mean lag ``sum alpha_ij / sum (alpha_ij / beta_ij)``.
- kappa, A per side: the fill intensity of a quote at depth d is the side's expected
  order rate (``expected_orders[side] / T``) times the planted P(order depth >= d); the
  truth is the least-squares line through its log over the quote range (0.5-5 bps, 33
  points), as the GLFT fit does with the fitted law. With an exponential law that line
  is exact: kappa is planted and A is the order rate. A power-law book (ETH) gets the
  exponential that best matches it where quotes sit.
- as_addon_bps: informed orders are independent of depth, so the add-on at any depth is
  the expected markout at the add-on's horizon (5 s) given the day's order times and
  sides (``realised.markout_bps.expected_given_flow``).
- as_addon_curve_bps: flat at that add-on (depth carries no information here).
- microprice_coef: the planted top-1 imbalance coefficient; the pipeline's fit reads
  1 s snapshots against a 0.3 s horizon and is attenuated, so only its sign is a truth;
  the intercept is 0 (symmetric book), the fit should not fall back to the mid, and its
  out-of-sample R^2 is positive. The jump-sign coefficient's truth is 0: the Kou jumps
  are compound-Poisson increments of the efficient price, with no drift after them (a
  jump predicts nothing about the next mid change). Feature names, regime edges and
  per-regime coefficients are estimator settings: no truth.
- funding_rate_per_hour: the planted OU level ``theta * 3600 / interval_s``; sd the
  stationary sd per hour (one day of prints sits anywhere in it).
- volume_bucket_size: the day's expected volume over 200 buckets (the pipeline's VPIN
  rule), ``expected_orders_total * E[size]`` (lognormal: ``scale exp(shape^2 / 2)``;
  Pareto: ``scale shape / (shape - 1)``).
- student_t_df: no closed form (a t fitted by maximum likelihood to Gaussian moves plus
  rare Kou jumps is not the kurtosis match); its truth is the pseudo-true df the MLE
  converges to on the planted law at the quoting scale h: returns N(0, sigma_cont^2 h v),
  v the Heston variance relative to its mean from the CIR stationary Gamma law (the
  planted variance reverts within hours, so a day's returns mix variances), plus
  Poisson(rate h) Kou jumps, simulated with a fixed seed by the end-to-end truth
  test, which knows the scale the pipeline chose. The jump law is copied here.
- heston: planted (annualised), identifiable only on multi-day history.
- vpin_toxicity: a state of the flow, not a parameter: no truth.
- queue_model, queue_power_n: the synthetic venue writes no per-order (L3) events, so
  nothing fits them: no truth (the pipeline publishes None; the backtest queues
  risk-averse).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["AS_HORIZON_S", "QUOTE_RANGE_BPS", "VPIN_BUCKETS_PER_DAY", "quoting_truth"]

AS_HORIZON_S = 5.0
"""Horizon of the pipeline's adverse-selection add-on (calibration default), seconds."""
QUOTE_RANGE_BPS = (0.5, 5.0)
"""Depths the GLFT kappa and A are fitted over (calibration.fill_depth default), bps."""
VPIN_BUCKETS_PER_DAY = 200
"""The pipeline's volume-clock bucket: the day's volume over this many buckets."""

BURST_HORIZON_S = 5.0
"""Markout horizon of ``calibration.hawkes.burst_toxicity.fit_burst_toxicity``, s."""


def _mean_size(sizes: dict[str, Any]) -> float | None:
    scale, shape = float(sizes["scale"]), float(sizes["shape"])
    if sizes["law"] == "lognormal":
        return scale * math.exp(shape**2 / 2.0)
    if sizes["law"] == "pareto" and shape > 1.0:
        return scale * shape / (shape - 1.0)
    return None


def _sigmas(doc: dict[str, Any]) -> dict[str, Any]:
    t = float(doc["duration_s"])
    rv = doc["realised"]["variance_bps2"]
    heston_only = math.sqrt(rv["integrated_variance"] / t)
    continuous = rv["integrated_variance"] + rv["informed"] + rv["signal"]
    diffusion = math.sqrt(continuous / t)
    jumps = float(doc["realised"]["jumps"]["sum_sq_bps2"])
    total = math.sqrt((continuous + jumps) / t)
    side_high = math.sqrt(diffusion**2 + 2.0 * max(total**2 - diffusion**2, 0.0))
    expected = doc["price"]["expected_variance_bps2"]
    return {
        "sigma_diffusion_bps_per_sqrt_s": {
            "value": diffusion,
            "how": "sqrt((IV + 5-minute RV of the informed and signal components) / T): "
            "the continuous part of the day's quadratic variation",
            "heston_only": heston_only,
            "expected": math.sqrt(expected["diffusion"] / t),
            "long_run": doc["price"]["sigma_bps_per_sqrt_s"],
        },
        "sigma_total_bps_per_sqrt_s": {
            "value": total,
            "how": "sqrt((IV + sum of squared jumps + 5-minute RV of the informed and "
            "signal components) / T)",
            "expected": math.sqrt(expected["total"] / t),
        },
        "sigma_bps_per_sqrt_s": {
            "low": diffusion,
            "high": total,
            "how": "the blend lies between the diffusion and the total sigma",
        },
        **{
            f"sigma_{side}_bps_per_sqrt_s": {
                "low": diffusion,
                "high": side_high,
                "how": "diffusion plus at most twice the total jump variance on one side",
            }
            for side in ("bid", "ask")
        },
    }


def _hawkes(doc: dict[str, Any]) -> dict[str, Any]:
    h = doc["hawkes"]
    alpha, beta = np.asarray(h["alpha"], float), np.asarray(h["beta"], float)
    use = alpha > 0
    decay = float(alpha[use].sum() / (alpha[use] / beta[use]).sum())
    return {
        "hawkes_branching_ratio": {
            "value": float(np.max(np.abs(np.linalg.eigvals(alpha)))),
            "how": "spectral radius of the planted branching matrix",
        },
        "hawkes_decay_per_s": {
            "value": decay,
            "how": "planted sum alpha_ij / sum(alpha_ij / beta_ij)",
        },
        "hawkes_mu_per_s": {"value": list(h["mu"]), "how": "planted daily-average baseline"},
        "hawkes_branching_matrix": {"value": alpha.tolist(), "how": "planted alpha"},
        "hawkes_toxicity_bps_per_excess": _burst_toxicity(doc),
    }


def _burst_toxicity(doc: dict[str, Any]) -> dict[str, Any]:
    """A fill's own markout does not depend on the burst here (informed is a Bernoulli per
    order); only the extra same-side orders a burst brings within the horizon can add to
    it. Per unit excess intensity at most ``Lambda h`` extra orders arrive in ``h``, each
    moving the price by at most ``m`` with probability ``f``: ``[0, f m Lambda h]``."""
    inf = doc["informed"]
    rate = max(float(x) for x in doc["hawkes"]["expected_orders"]) / float(doc["duration_s"])
    high = float(inf["fraction"]) * float(inf["markout_bps"]) * rate * BURST_HORIZON_S
    return {
        "low": 0.0,
        "high": high,
        "how": "0 up to f m Lambda h: extra informed same-side orders within the "
        f"{BURST_HORIZON_S:g} s markout per unit excess intensity (informed flow is "
        "independent of the bursts)",
    }


def _log_survival(law: dict[str, Any], depth_bps: np.ndarray) -> np.ndarray | None:
    """log P(order depth >= d) under the planted law (None for a law without one here)."""
    if law["law"] == "exponential":
        return np.asarray(-float(law["kappa_per_bps"]) * depth_bps)
    if law["law"] == "power_law":
        xmin, a = float(law["xmin_bps"]), float(law["alpha"])
        return np.asarray(-(a - 1.0) * np.log(np.maximum(depth_bps, xmin) / xmin))
    return None


def _depth(doc: dict[str, Any]) -> dict[str, Any]:
    """GLFT kappa and A per side: the least-squares line through the planted
    ``log lambda(d) = log(rate_side) + log P(depth >= d)`` over the quote range."""
    law = doc["fill_depth"]
    t = float(doc["duration_s"])
    grid = np.linspace(*QUOTE_RANGE_BPS, 33)
    log_sf = _log_survival(law, grid)
    out: dict[str, Any] = {}
    for side in ("bid", "ask"):
        # Sells hit the bid: sell orders (mark 1) fill bids, buy orders (mark 0) asks.
        rate = float(doc["hawkes"]["expected_orders"][1 if side == "bid" else 0]) / t
        kappa = a = None
        if log_sf is not None:
            slope, intercept = np.polyfit(grid, math.log(rate) + log_sf, 1)
            kappa, a = float(-slope), math.exp(float(intercept))
        how = (
            f"line through the planted log fill rate ({law['law']} law, expected order "
            f"rate of the side) over {QUOTE_RANGE_BPS} bps"
        )
        out[f"kappa_{side}_per_bps"] = {"value": kappa, "how": how}
        out[f"A_{side}_per_s"] = {"value": a, "how": how}
    return out


def quoting_truth(doc: dict[str, Any]) -> dict[str, Any]:
    """The ``quoting`` section of a truth document (see the module docstring)."""
    realised = doc["realised"]
    horizons = list(realised["markout_bps"]["horizons_s"])
    addon = realised["markout_bps"]["expected_given_flow"][horizons.index(AS_HORIZON_S)]
    funding = doc["funding"]
    per_hour = 3600.0 / float(funding["interval_s"])
    mean_size = _mean_size(doc["sizes"])
    heston = doc["price"]["heston"]
    return {
        **_sigmas(doc),
        **_hawkes(doc),
        **_depth(doc),
        "as_addon_bps": {
            "value": float(addon),
            "how": f"expected markout at {AS_HORIZON_S:g} s given the day's orders",
        },
        "as_addon_curve_depth_bps": {"value": None, "how": "the estimator's depth grid"},
        "as_addon_curve_bps": {
            "value": float(addon),
            "how": "flat at the add-on: informed orders are independent of depth",
        },
        "microprice_coef_bps": {
            "value": float(doc["microprice"]["imbalance_coef_bps"]),
            "how": "planted top-1 imbalance coefficient (sign only at the pipeline's horizon)",
            "jump_sign": 0.0,
            "jump_sign_how": "the Kou jumps are martingale increments (no drift after them)",
        },
        "microprice_fallback_to_mid": {
            "value": False,
            "how": "the planted imbalance signal is predictive: the fit should not fall back",
        },
        "microprice_r2_oos": {"low": 0.0, "high": 1.0, "how": "positive: a planted signal"},
        "microprice_intercept_bps": {"value": 0.0, "how": "symmetric book: no drift"},
        **{
            name: {"value": None, "how": "an estimator setting, not a market parameter"}
            for name in (
                "microprice_feature_names",
                "microprice_regime_edges_bps_per_sqrt_s",
                "microprice_regime_coef_bps",
            )
        },
        "vpin_toxicity": {"value": None, "how": "a state of the flow, not a parameter"},
        **{
            name: {"value": None, "how": "no per-order (L3) events on the synthetic venue"}
            for name in ("queue_model", "queue_power_n")
        },
        "funding_rate_per_hour": {
            "value": float(funding["theta"]) * per_hour,
            "sd": float(funding["stationary_sd"]) * per_hour,
            "how": "planted OU level per hour; sd the stationary sd per hour",
        },
        "volume_bucket_size": {
            "value": (
                None
                if mean_size is None
                else float(doc["hawkes"]["expected_orders_total"])
                * mean_size
                / VPIN_BUCKETS_PER_DAY
            ),
            "how": f"expected orders x E[size] / {VPIN_BUCKETS_PER_DAY}",
        },
        "student_t_df": {
            "value": None,
            "how": "the pseudo-true df of the Student-t MLE at the quoting scale, by "
            "simulation of the planted law (tests/orchestration/test_truth_end_to_end.py)",
            "jumps": doc["price"]["jumps"],
        },
        "heston": {
            "value": {
                "kappa_per_year": heston["kappa"],
                "theta_var_per_year": heston["theta"],
                "xi_per_year": heston["xi"],
                "rho": heston["rho"],
            },
            "how": "planted; identifiable only on multi-day history",
        },
    }
