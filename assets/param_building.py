"""Build a param document from a symbol-day's fits. No Dagster.

The quoting block takes, for each field, the estimate the trader needs and the fallback
it uses when a model could not be fitted on the day (documented per field below).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from assets.model_fits import ModelFit
from calibration.errors import CalibrationError

__all__ = ["REQUIRED_MODELS", "build_document", "quoting_block"]

# Without these the trader has no spread: the candidate is not built.
REQUIRED_MODELS = ("volatility", "fill_depth")


def _finite(x: Any) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def _positive(x: Any) -> float | None:
    v = _finite(x)
    return v if v is not None and v > 0.0 else None


def quoting_block(
    fits: Mapping[str, ModelFit], last_funding_per_hour: float | None = None
) -> dict[str, Any]:
    """The typed block the trader quotes with (units in the field names).

    Funding: the OU's long-run level when it could be fitted, else the last published
    rate (per hour), else 0 (no funding prints at all, e.g. a spot venue).
    """
    missing = [m for m in REQUIRED_MODELS if not fits[m].ok]
    if missing:
        reasons = "; ".join(f"{m}: {fits[m].error}" for m in missing)
        raise CalibrationError(f"no candidate: required model(s) failed ({reasons})")
    vol = fits["volatility"].result
    depth = fits["fill_depth"].result
    # GLFT fill rate lambda(delta) = A exp(-kappa delta), per side: the fill-depth fit's
    # kappa_glft / A_glft (its exponential MLE on the quoting support, or the chosen law's
    # local exponential fit over the quote range; calibration.fill_depth.fit_fill_depth).
    # A missing or non-positive value falls back to the exponential MLE, then (A only) to
    # the side's order rate at the touch.
    sides = {}
    for name in ("bid", "ask"):
        side = getattr(depth, name)
        kappa = _positive(side.kappa_glft) or _positive(side.kappa)
        a = _positive(side.A_glft) or _positive(side.A)
        if a is None and side.fit is not None and side.fit.window_s:
            a = side.n_obs / side.fit.window_s  # arrival rate at the touch, orders per second
        if kappa is None or a is None:
            raise CalibrationError(f"no usable kappa/A on the {name} side")
        sides[name] = (kappa, a)
    hawkes = fits["hawkes"].result if fits["hawkes"].ok else None
    addon = 0.0
    if fits["adverse_selection"].ok:
        as_fit = fits["adverse_selection"].result
        quote_depth = 1.0 / max(sides["bid"][0], sides["ask"][0])  # GLFT-ish touch depth, bps
        if as_fit.addon is not None and as_fit.addon.depth_bps:
            addon = as_fit.addon.addon_at(quote_depth)
        else:
            addon = as_fit.mean_markout_bps
    funding_per_hour = last_funding_per_hour or 0.0
    if fits["funding"].ok:
        f = fits["funding"].result
        funding_per_hour = float(f.theta) * 3600.0 / float(f.interval_s)
    micro = fits["microprice"].result if fits["microprice"].ok else None
    return {
        "sigma_bps_per_sqrt_s": float(vol.sigma_effective.sigma_bps),
        "kappa_bid_per_bps": sides["bid"][0],
        "kappa_ask_per_bps": sides["ask"][0],
        "A_bid_per_s": sides["bid"][1],
        "A_ask_per_s": sides["ask"][1],
        "as_addon_bps": max(0.0, float(addon)),
        "hawkes_branching_ratio": float(hawkes.branching_ratio) if hawkes else 0.0,
        "hawkes_decay_per_s": float(hawkes.beta.mean()) if hawkes else None,
        "funding_rate_per_hour": funding_per_hour,
        "microprice_fallback_to_mid": bool(micro.use_fallback) if micro else True,
        "microprice_r2_oos": _finite(micro.oos_r2) if micro else None,
    }


def build_document(
    *,
    symbol: str,
    venue: str,
    day: dt.date,
    window_ns: tuple[int, int],
    fits: Mapping[str, ModelFit],
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
        "models": {name: fit.to_dict() for name, fit in sorted(fits.items())},
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
