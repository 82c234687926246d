"""Build a param document from a symbol-day's fits. No Dagster.

The quoting block takes, for each field, the estimate the trader needs and the fallback
it uses when a model could not be fitted on the day (documented per field below).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from assets.model_fits import DayFits, FitResult, ModelFit, fit_items
from calibration.errors import CalibrationError

__all__ = ["REQUIRED_MODELS", "QuotingBlock", "build_document", "quoting_block"]

# Without these the trader has no spread: the candidate is not built.
REQUIRED_MODELS = ("volatility", "fill_depth")


QuotingBlock = dict[str, float | bool | None]
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
    sides = {}
    for name, side in (("bid", depth.bid), ("ask", depth.ask)):
        kappa = _finite(side.kappa_glft) or _finite(side.kappa)
        a = _finite(side.A_glft) or _finite(side.A)
        if a is None and side.fit is not None and side.fit.window_s:
            a = side.n_obs / side.fit.window_s  # arrival rate at the touch, orders per second
        if kappa is None or a is None:
            raise CalibrationError(f"no usable kappa/A on the {name} side")
        sides[name] = (kappa, a)
    hawkes = fits["hawkes"].result
    addon = 0.0
    as_fit = fits["adverse_selection"].result
    if as_fit is not None:
        quote_depth = 1.0 / max(sides["bid"][0], sides["ask"][0])  # GLFT-ish touch depth, bps
        if as_fit.addon is not None and as_fit.addon.depth_bps:
            addon = as_fit.addon.addon_at(quote_depth)
        else:
            addon = as_fit.mean_markout_bps
    funding_per_hour = last_funding_per_hour or 0.0
    f = fits["funding"].result
    if f is not None:
        funding_per_hour = float(f.theta) * 3600.0 / float(f.interval_s)
    micro = fits["microprice"].result
    return {
        "sigma_bps_per_sqrt_s": float(vol.sigma_effective.sigma_bps),
        "kappa_bid_per_bps": sides["bid"][0],
        "kappa_ask_per_bps": sides["ask"][0],
        "A_bid_per_s": sides["bid"][1],
        "A_ask_per_s": sides["ask"][1],
        "as_addon_bps": max(0.0, float(addon)),
        "hawkes_branching_ratio": float(hawkes.branching_ratio) if hawkes is not None else 0.0,
        "hawkes_decay_per_s": float(hawkes.beta.mean()) if hawkes is not None else None,
        "funding_rate_per_hour": funding_per_hour,
        "microprice_fallback_to_mid": bool(micro.use_fallback) if micro is not None else True,
        "microprice_r2_oos": _finite(micro.oos_r2) if micro is not None else None,
    }


def build_document(
    *,
    symbol: str,
    venue: str,
    day: dt.date,
    window_ns: tuple[int, int],
    fits: DayFits,
    quality: list[dict[str, Any]],
    code_version: str,
    last_funding_per_hour: float | None = None,
) -> dict[str, Any]:
    """The candidate param document (validated later by data_lake.registry.document)."""
    partition = f"{venue}/{symbol}/{day.isoformat()}"
    return {
        "symbol": symbol,
        "venue": venue,
        "quoting": quoting_block(fits, last_funding_per_hour),
        "models": {name: fit.to_dict() for name, fit in fit_items(fits)},
        "window": {"start_ns": window_ns[0], "end_ns": window_ns[1]},
        "partitions": [partition],
        "quality": [
            {
                "partition": partition,
                "check": q["name"],
                "passed": bool(q["passed"]),
                "blocking": bool(q["blocking"]),
                "detail": q.get("description"),
            }
            for q in quality
        ],
        "code_version": code_version,
    }
