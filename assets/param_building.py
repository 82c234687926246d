"""Build a param document from a symbol-day's fits. No Dagster.

The quoting block takes, for each field, the estimate the trader needs and the fallback
it uses when a model could not be fitted on the day (documented per field below).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from assets.inputs import CheckedInputs
from assets.model_fits import DayFits, FitResult, ModelFit, fit_items
from calibration.clock.vpin import VPINResult
from calibration.errors import CalibrationError
from calibration.order_flow.microprice import MicropriceFit
from calibration.volatility.stochastic_vol import HestonFit

__all__ = ["REQUIRED_MODELS", "QuotingBlock", "build_document", "quoting_block"]

# Without these the trader has no spread: the candidate is not built.
REQUIRED_MODELS = ("volatility", "fill_depth")


QuotingBlock = dict[str, Any]
"""The quoting block's fields (data_lake.registry.document.QuotingParams) and values."""


def _finite(x: float | None) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def quoting_block(fits: DayFits, last_funding_per_hour: float | None = None) -> QuotingBlock:
    """The typed block the trader quotes with (units in the field names).

    Funding: the OU's long-run level when it could be fitted, else the last published
    rate (per hour), else 0 (no funding prints at all, e.g. a spot venue).
    """
    vol = fits["volatility"].result
    depth = fits["fill_depth"].result
    if vol is None or depth is None:
        required: list[ModelFit[FitResult]] = [fits["volatility"], fits["fill_depth"]]
        reasons = "; ".join(
            f"{m}: {fit.error}" for m, fit in zip(REQUIRED_MODELS, required, strict=True)
            if not fit.ok
        )
        raise CalibrationError(f"no candidate: required model(s) failed ({reasons})")
    # GLFT fill rate lambda(delta) = A exp(-kappa delta), per side: the fill-depth fit's
    # kappa_glft / A_glft (its exponential MLE on the quoting support, or the chosen law's
    # local exponential fit over the quote range; calibration.fill_depth.fit_fill_depth).
    # A missing or non-positive value falls back to the exponential MLE, then (A only) to
    # the side's order rate at the touch.
    sides = {}
    for name, side in (("bid", depth.bid), ("ask", depth.ask)):
        kappa = _positive(side.kappa_glft) or _positive(side.kappa)
        a = _positive(side.A_glft) or _positive(side.A)
        if a is None and side.fit is not None and side.fit.window_s:
            a = side.n_obs / side.fit.window_s  # arrival rate at the touch, orders per second
        if kappa is None or a is None:
            raise CalibrationError(f"no usable kappa/A on the {name} side")
        sides[name] = (kappa, a)
    hawkes = fits["hawkes"].result
    addon = 0.0
    curve: tuple[list[float], list[float]] | None = None
    as_fit = fits["adverse_selection"].result
    if as_fit is not None:
        quote_depth = 1.0 / max(sides["bid"][0], sides["ask"][0])  # GLFT-ish touch depth, bps
        if as_fit.addon is not None and as_fit.addon.depth_bps:
            addon = as_fit.addon.addon_at(quote_depth)
            curve = (
                [float(d) for d in as_fit.addon.depth_bps],
                [max(0.0, float(a)) for a in as_fit.addon.addon_bps],
            )
        else:
            addon = as_fit.mean_markout_bps
    funding_per_hour = last_funding_per_hour or 0.0
    f = fits["funding"].result
    if f is not None:
        funding_per_hour = float(f.theta) * 3600.0 / float(f.interval_s)
    micro = fits["microprice"].result
    toxicity = _vpin_toxicity(fits["vpin"].result)
    primary = vol.scale(vol.primary_label)
    blend = primary.sigma_effective(toxicity or 0.0)
    return {
        "sigma_bps_per_sqrt_s": float(blend.sigma_bps),
        "kappa_bid_per_bps": sides["bid"][0],
        "kappa_ask_per_bps": sides["ask"][0],
        "A_bid_per_s": sides["bid"][1],
        "A_ask_per_s": sides["ask"][1],
        "as_addon_bps": max(0.0, float(addon)),
        "hawkes_branching_ratio": float(hawkes.branching_ratio) if hawkes is not None else 0.0,
        "hawkes_decay_per_s": (
            _hawkes_decay(hawkes.alpha, hawkes.beta) if hawkes is not None else None
        ),
        "funding_rate_per_hour": funding_per_hour,
        "microprice_fallback_to_mid": bool(micro.use_fallback) if micro is not None else True,
        "microprice_r2_oos": _finite(micro.oos_r2) if micro is not None else None,
        # schema 2
        "sigma_bid_bps_per_sqrt_s": _positive(blend.sigma_bid_bps),
        "sigma_ask_bps_per_sqrt_s": _positive(blend.sigma_ask_bps),
        "sigma_diffusion_bps_per_sqrt_s": _positive(blend.sigma_clean_bps),
        "sigma_total_bps_per_sqrt_s": _positive(blend.sigma_total_bps),
        "vpin_toxicity": toxicity,
        "student_t_df": _finite(primary.student_t.df) if primary.student_t else None,
        "as_addon_curve_depth_bps": curve[0] if curve else None,
        "as_addon_curve_bps": curve[1] if curve else None,
        "hawkes_mu_per_s": _finite_list(hawkes.mu) if hawkes is not None else None,
        "hawkes_branching_matrix": _finite_matrix(hawkes.alpha) if hawkes is not None else None,
        **_microprice_fields(micro),
        "volume_bucket_size": _volume_bucket(fits["vpin"].result),
        "heston": _heston_block(fits["heston"].result),
    }


def _positive(x: float | None) -> float | None:
    v = _finite(x)
    return v if v is not None and v > 0 else None


def _finite_list(values: Any) -> list[float] | None:
    out = [float(v) for v in np.asarray(values, float).ravel()]
    return out if all(math.isfinite(v) for v in out) else None


def _finite_matrix(values: Any) -> list[list[float]] | None:
    rows = [_finite_list(row) for row in np.asarray(values, float)]
    return None if any(r is None for r in rows) else [r for r in rows if r is not None]


def _hawkes_decay(alpha: Any, beta: Any) -> float | None:
    """``sum n_ij / sum (n_ij / beta_ij)``: the reciprocal of the branching-weighted mean
    lag, 1/s. Channels with no excitation (or an unidentified beta) carry no weight, so an
    empty cross channel cannot drag the decay the way a plain mean of beta does."""
    a, b = np.asarray(alpha, float), np.asarray(beta, float)
    use = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
    if not use.any():
        return None
    return float(a[use].sum() / (a[use] / b[use]).sum())


def _vpin_toxicity(fit: VPINResult | None) -> float | None:
    """VPIN at the window's end, in [0, 1] (None without a VPIN fit)."""
    latest = None if fit is None else _finite(fit.latest)
    return None if latest is None else min(max(latest, 0.0), 1.0)


def _volume_bucket(fit: VPINResult | None) -> float | None:
    """The session's VPIN/volume-clock bucket, base units (median bucket volume)."""
    if fit is None or not fit.bucket_volumes:
        return None
    return _positive(float(np.median(fit.bucket_volumes)))


def _microprice_fields(micro: MicropriceFit | None) -> dict[str, Any]:
    keys = (
        "microprice_feature_names",
        "microprice_coef_bps",
        "microprice_intercept_bps",
        "microprice_regime_edges_bps_per_sqrt_s",
        "microprice_regime_coef_bps",
    )
    if micro is None:
        return dict.fromkeys(keys)
    return {
        "microprice_feature_names": list(micro.feature_names),
        "microprice_coef_bps": [float(c) for c in micro.coef_bps],
        "microprice_intercept_bps": _finite(micro.intercept_bps),
        "microprice_regime_edges_bps_per_sqrt_s": [
            float(e) for e in micro.regime_edges_bps_per_sqrt_s
        ],
        "microprice_regime_coef_bps": [
            None if c is None else [float(x) for x in c] for c in micro.regime_coef_bps
        ],
    }


def _heston_block(h: HestonFit | None) -> dict[str, Any] | None:
    """The identified Heston parameters (None when not fitted or not identified)."""
    if h is None or not h.identifiable:
        return None
    if h.kappa is None or h.xi is None or h.rho is None or h.half_life_s is None:
        return None
    values = (h.kappa, h.theta, h.xi, h.rho, h.half_life_s)
    if any(_finite(v) is None for v in values):
        return None
    return {
        "kappa_per_year": float(h.kappa),
        "theta_var_per_year": float(h.theta),
        "xi_per_year": float(h.xi),
        "rho": float(h.rho),
        "half_life_s": float(h.half_life_s),
        "rv_interval_s": float(h.rv_interval_s),
        "n_obs": int(h.n_obs),
    }


def build_document(
    *,
    symbol: str,
    venue: str,
    window_ns: tuple[int, int],
    fits: DayFits,
    inputs: CheckedInputs,
    code_version: str,
    last_funding_per_hour: float | None = None,
) -> dict[str, Any]:
    """The candidate param document (validated later by data_lake.registry.document).

    ``partitions`` lists every ``venue/symbol/date`` the fits read and ``quality`` every
    check of every one of those partitions, with the file's SHA-256 (``inputs``, from
    :func:`assets.inputs.require_inputs`).
    """
    return {
        "symbol": symbol,
        "venue": venue,
        "quoting": quoting_block(fits, last_funding_per_hour),
        "models": {name: fit.to_dict() for name, fit in fit_items(fits)},
        "window": {"start_ns": window_ns[0], "end_ns": window_ns[1]},
        "partitions": inputs.partitions(),
        "quality": inputs.quality(),
        "code_version": code_version,
    }
