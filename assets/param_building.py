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
from assets.quoting_fallbacks import (
    A_BOUND_PER_S,
    AS_ADDON_BOUND_BPS,
    HAWKES_BRANCHING_BOUND,
    KAPPA_BOUND_PER_BPS,
    STUDENT_T_DF_BOUND,
    VPIN_TOXICITY_BOUND,
    Fallbacks,
    PreviousSet,
)
from calibration.clock.vpin import VPINResult
from calibration.errors import CalibrationError
from calibration.hawkes.result import published_decay
from calibration.order_flow.microprice import MicropriceFit
from calibration.queue_cancel import QueueCancelFit
from calibration.volatility.stochastic_vol import HestonFit

__all__ = [
    "REQUIRED_MODELS",
    "RISK_AVERSE_QUEUE",
    "QuotingBlock",
    "build_document",
    "quoting_block",
    "quoting_with_fallbacks",
]

# Without these the trader has no spread: the candidate is not built.
REQUIRED_MODELS = ("volatility", "fill_depth")


QuotingBlock = dict[str, Any]
"""The quoting block's fields (data_lake.registry.document.QuotingParams) and values."""


def _finite(x: float | None) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def quoting_block(
    fits: DayFits,
    last_funding_per_hour: float | None = None,
    previous: PreviousSet | None = None,
    queue: ModelFit[QueueCancelFit] | None = None,
) -> QuotingBlock:
    """The typed block the trader quotes with (units in the field names); see
    :func:`quoting_with_fallbacks` for the fallbacks it applies."""
    return quoting_with_fallbacks(fits, last_funding_per_hour, previous, queue)[0]


def quoting_with_fallbacks(
    fits: DayFits,
    last_funding_per_hour: float | None = None,
    previous: PreviousSet | None = None,
    queue: ModelFit[QueueCancelFit] | None = None,
) -> tuple[QuotingBlock, list[dict[str, Any]]]:
    """The quoting block and the fallbacks it took (assets/quoting_fallbacks.py).

    A field whose model failed takes the symbol's last published value (``previous``)
    or a stated bound that widens the quotes, and is recorded. Volatility and fill depth
    are required: failed with no published set to fall back on, there is no candidate.
    Funding: the OU's long-run level when it could be fitted, else the day's last print
    (per hour), else the last published rate, else 0 (no funding prints: a spot venue).
    Queue model: the day's own L3 fit (``queue``, assets/queue_fit.py), else None with a
    fallback saying the backtest queues risk-averse; never another symbol's fit.
    """
    fb = Fallbacks(previous)
    out: QuotingBlock = {}
    missing = [m for m in REQUIRED_MODELS if not fits[m].ok]  # type: ignore[literal-required]
    if missing and previous is None:
        required: list[ModelFit[FitResult]] = [fits["volatility"], fits["fill_depth"]]
        reasons = "; ".join(
            f"{m}: {fit.error}"
            for m, fit in zip(REQUIRED_MODELS, required, strict=True)
            if not fit.ok
        )
        raise CalibrationError(
            f"no candidate: required model(s) failed ({reasons}) and the symbol has no "
            "published set to fall back on"
        )
    out.update(_volatility_fields(fits, fb))
    out.update(_depth_fields(fits, fb))
    out.update(_addon_fields(fits, out, fb))
    out.update(_hawkes_fields(fits, fb))
    out["funding_rate_per_hour"] = _funding_rate(fits, last_funding_per_hour, fb)
    out.update(_micro_fields(fits, fb))
    bucket = _volume_bucket(fits["vpin"].result)
    if bucket is None:
        bucket = fb.take("volume_bucket_size", _why(fits["vpin"], "no buckets"), None, "none")
    out["volume_bucket_size"] = bucket
    heston = _heston_block(fits["heston"].result)
    if heston is None:
        why = _why(fits["heston"], "not identified on the window")
        heston = fb.take("heston", why, None, "none")
    out["heston"] = heston
    out.update(_queue_fields(queue, fb))
    return out, fb.items


RISK_AVERSE_QUEUE = "risk-averse queue (only trades advance an order: the fewest fills)"
"""The fallback source of the queue fields: what the backtest does without a fit."""


def _queue_fields(queue: ModelFit[QueueCancelFit] | None, fb: Fallbacks) -> QuotingBlock:
    """The fitted queue model and n, or None for both with the fallback recorded.

    No fallback to the last published set or another symbol: a queue model is a property
    of the symbol's own book, and without one the conservative queue is the right one.
    """
    fit = None if queue is None else queue.result
    if fit is None or not (0.0 < fit.power_n <= 50.0):
        why = "queue_cancel: not fitted" if queue is None else _why(queue, "n out of (0, 50]")
        fb.record("queue_model", why, RISK_AVERSE_QUEUE, None)
        return {"queue_model": None, "queue_power_n": None}
    return {"queue_model": fit.preferred, "queue_power_n": float(fit.power_n)}


def _why(fit: ModelFit[Any], default: str) -> str:
    return f"{fit.model} not fitted: {fit.error}" if not fit.ok else f"{fit.model}: {default}"


_SIGMA_FIELDS = (
    "sigma_bps_per_sqrt_s",
    "sigma_bid_bps_per_sqrt_s",
    "sigma_ask_bps_per_sqrt_s",
    "sigma_diffusion_bps_per_sqrt_s",
    "sigma_total_bps_per_sqrt_s",
)


def _volatility_fields(fits: DayFits, fb: Fallbacks) -> QuotingBlock:
    """The sigma blend (toxicity-weighted), its sides and components, and the t df."""
    vol = fits["volatility"].result
    toxicity = _vpin_toxicity(fits["vpin"].result)
    if toxicity is None:
        toxicity = float(
            fb.take(
                "vpin_toxicity",
                _why(fits["vpin"], "no VPIN at the window's end"),
                VPIN_TOXICITY_BOUND,
            )
        )
    if vol is None:
        why = _why(fits["volatility"], "")
        return {
            name: fb.take(name, why, None, "none") for name in (*_SIGMA_FIELDS, "student_t_df")
        } | {"vpin_toxicity": toxicity}
    primary = vol.scale(vol.primary_label)
    blend = primary.sigma_effective(toxicity)
    values = {
        "sigma_bps_per_sqrt_s": _positive(blend.sigma_bps),
        "sigma_bid_bps_per_sqrt_s": _positive(blend.sigma_bid_bps),
        "sigma_ask_bps_per_sqrt_s": _positive(blend.sigma_ask_bps),
        "sigma_diffusion_bps_per_sqrt_s": _positive(blend.sigma_clean_bps),
        "sigma_total_bps_per_sqrt_s": _positive(blend.sigma_total_bps),
    }
    largest = max((v for v in values.values() if v is not None), default=None)
    for name, value in values.items():
        if value is None:
            if largest is None:
                raise CalibrationError(f"volatility: no finite positive sigma ({name})")
            values[name] = fb.record(
                name,
                "volatility: not finite and positive",
                "largest sigma of the day",
                largest,
            )
    # The fat end of the fit's interval: a day rarely pins a tail down (1,440 one-minute
    # returns give df 49 +- 55 on the synthetic SOL), and a thinner tail narrows quotes.
    df = _finite(primary.student_t.df_lower) if primary.student_t else None
    if df is None or df <= 0:
        df = fb.take("student_t_df", "volatility: Student-t not fitted", STUDENT_T_DF_BOUND)
    return {**values, "vpin_toxicity": toxicity, "student_t_df": df}


def _depth_fields(fits: DayFits, fb: Fallbacks) -> QuotingBlock:
    depth = fits["fill_depth"].result
    out: QuotingBlock = {}
    for name in ("bid", "ask"):
        side = None if depth is None else getattr(depth, name)
        kappa = a = None
        if side is not None:
            # GLFT fill rate lambda(delta) = A exp(-kappa delta): the fit's kappa_glft /
            # A_glft (its exponential MLE on the quoting support, or the chosen law's local
            # exponential over the quote range; calibration.fill_depth.fit_fill_depth),
            # else the exponential MLE, else (A only) the side's order rate at the touch.
            kappa = _positive(side.kappa_glft) or _positive(side.kappa)
            a = _positive(side.A_glft) or _positive(side.A)
            if a is None and side.fit is not None and side.fit.window_s:
                a = side.n_obs / side.fit.window_s  # arrival rate at the touch, orders/s
        why = _why(fits["fill_depth"], f"no usable kappa/A on the {name} side")
        if kappa is None or kappa <= 0:
            kappa = fb.take(f"kappa_{name}_per_bps", why, KAPPA_BOUND_PER_BPS)
        if a is None or a <= 0:
            a = fb.take(f"A_{name}_per_s", why, A_BOUND_PER_S)
        out[f"kappa_{name}_per_bps"] = kappa
        out[f"A_{name}_per_s"] = a
    return out


def _addon_fields(fits: DayFits, sides: QuotingBlock, fb: Fallbacks) -> QuotingBlock:
    """The add-on at the GLFT-ish touch depth ``1 / max kappa`` and the curve over depth."""
    as_fit = fits["adverse_selection"].result
    if as_fit is not None and as_fit.addon is not None and as_fit.addon.depth_bps:
        quote_depth = 1.0 / max(sides["kappa_bid_per_bps"], sides["kappa_ask_per_bps"])
        return {
            "as_addon_bps": max(0.0, as_fit.addon.addon_at(quote_depth)),
            "as_addon_curve_depth_bps": [float(d) for d in as_fit.addon.depth_bps],
            "as_addon_curve_bps": [max(0.0, float(a)) for a in as_fit.addon.addon_bps],
        }
    if as_fit is not None and _finite(as_fit.mean_markout_bps) is not None:
        # No depth curve: the mean markout's upper 95 % limit (its HAC error), never below 0.
        se = _finite(as_fit.mean_markout_stderr_bps) or 0.0
        upper = max(0.0, float(as_fit.mean_markout_bps) + 1.96 * se)
        value = fb.record(
            "as_addon_bps",
            "adverse_selection: no depth curve",
            "mean markout upper 95 % limit",
            upper,
        )
        return {"as_addon_bps": value, "as_addon_curve_depth_bps": None, "as_addon_curve_bps": None}
    why = _why(fits["adverse_selection"], "no add-on")
    prev = fb.previous
    if prev is not None and prev.usable("as_addon_bps") is not None:
        depths = prev.usable("as_addon_curve_depth_bps")
        addons = prev.usable("as_addon_curve_bps")
        return {
            "as_addon_bps": fb.take("as_addon_bps", why, AS_ADDON_BOUND_BPS),
            "as_addon_curve_depth_bps": depths if addons is not None else None,
            "as_addon_curve_bps": addons if depths is not None else None,
        }
    # One point at depth 0: the bound applies at every depth (the curve is flat beyond).
    return {
        "as_addon_bps": fb.take("as_addon_bps", why, AS_ADDON_BOUND_BPS),
        "as_addon_curve_depth_bps": [0.0],
        "as_addon_curve_bps": [AS_ADDON_BOUND_BPS],
    }


_HAWKES_FIELDS = (
    "hawkes_decay_per_s", "hawkes_mu_per_s", "hawkes_branching_matrix",
    "hawkes_toxicity_bps_per_excess",
)


def _hawkes_fields(fits: DayFits, fb: Fallbacks) -> QuotingBlock:
    hawkes = fits["hawkes"].result
    ratio = None if hawkes is None else _finite(hawkes.branching_ratio)
    if hawkes is None or ratio is None or not 0.0 <= ratio < 1.0:
        why = _why(fits["hawkes"], f"branching ratio {ratio!r} outside [0, 1)")
        out = {
            "hawkes_branching_ratio": fb.take("hawkes_branching_ratio", why, HAWKES_BRANCHING_BOUND)
        }
        # None for the rest (not 0): the quoter then floors its live intensity ratio.
        out.update({name: fb.take(name, why, None, "none") for name in _HAWKES_FIELDS})
        return out
    return {
        "hawkes_branching_ratio": ratio,
        "hawkes_decay_per_s": published_decay(hawkes.alpha, hawkes.beta),
        "hawkes_mu_per_s": _finite_list(hawkes.mu),
        "hawkes_branching_matrix": _finite_matrix(hawkes.alpha),
        "hawkes_toxicity_bps_per_excess": _toxicity(fits, fb),
    }


def _toxicity(fits: DayFits, fb: Fallbacks) -> float | None:
    """The burst toxicity, floored at 0 (a burst never narrows the quotes); None (the
    quoter widens by its setting instead) where it was not measured."""
    hawkes = fits["hawkes"].result
    tox = None if hawkes is None else hawkes.burst_toxicity
    value = None if tox is None else _finite(tox.slope_bps_per_excess)
    if value is None:
        why = _why(fits["hawkes"], "burst toxicity not measured (too few markouts)")
        return fb.take("hawkes_toxicity_bps_per_excess", why, None, "none")
    return min(max(value, 0.0), 500.0)


def _funding_rate(fits: DayFits, last_print: float | None, fb: Fallbacks) -> float:
    f = fits["funding"].result
    if f is not None:
        return float(f.theta) * 3600.0 / float(f.interval_s)
    why = _why(fits["funding"], "")
    if last_print is not None and math.isfinite(last_print):
        return float(
            fb.record("funding_rate_per_hour", why, "day's last funding print", last_print)
        )
    return float(fb.take("funding_rate_per_hour", why, 0.0, "bound (no funding prints)"))


def _micro_fields(fits: DayFits, fb: Fallbacks) -> QuotingBlock:
    micro = fits["microprice"].result
    if micro is None:
        fb.record("microprice_fallback_to_mid", _why(fits["microprice"], ""), "bound", True)
    return {
        "microprice_fallback_to_mid": bool(micro.use_fallback) if micro is not None else True,
        "microprice_r2_oos": _finite(micro.oos_r2) if micro is not None else None,
        **_microprice_fields(micro),
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
    previous: PreviousSet | None = None,
    queue: ModelFit[QueueCancelFit] | None = None,
) -> dict[str, Any]:
    """The candidate param document (validated later by data_lake.registry.document).

    ``partitions`` lists every ``venue/symbol/date`` the fits read and ``quality`` every
    check of every one of those partitions, with the file's SHA-256 (``inputs``, from
    :func:`assets.inputs.require_inputs`). ``previous`` is the symbol's last published
    set, which failed models fall back on. ``queue`` is the day's queue cancellation fit
    (None: not run; the set then publishes no queue model).
    """
    quoting, fallbacks = quoting_with_fallbacks(fits, last_funding_per_hour, previous, queue)
    models = {name: fit.to_dict() for name, fit in fit_items(fits)}
    if queue is not None:
        models[queue.model] = queue.to_dict()
    return {
        "symbol": symbol,
        "venue": venue,
        "quoting": quoting,
        "fallbacks": fallbacks,
        "models": models,
        "window": {"start_ns": window_ns[0], "end_ns": window_ns[1]},
        "partitions": inputs.partitions(),
        "quality": inputs.quality(),
        "code_version": code_version,
    }
