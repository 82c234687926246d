"""Read a param set's quoting block into strategy fields, replacing what is unusable.

The quoter must never narrow its quotes because a fit failed: each field that is missing,
NaN, infinite, zero or outside its sanity range (the bounds of
``data_lake.registry.document.QuotingParams``) is replaced by a value that widens both
half-spreads relative to any valid value, and ``"field: reason -> value used"`` is
recorded. Fields of the coming schema (per-side sigma, Student-t df, the add-on curve,
the Hawkes baseline and branching matrix, the micro-price coefficients) are read when
present; when absent they are derived from the schema 1 fields without a fallback note.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np

__all__ = [
    "A_FALLBACK_PER_S",
    "FUNDING_FALLBACK_ABS_PER_HOUR",
    "HAWKES_FALLBACK_MIN_RATIO",
    "KAPPA_FALLBACK_PER_BPS",
    "SIGMA_FALLBACK_BPS_PER_SQRT_S",
    "STUDENT_T_DF_FALLBACK",
    "read_quoting_block",
]

SIGMA_FALLBACK_BPS_PER_SQRT_S = 50.0
"""The schema's upper sanity bound (about 2800 % annualised)."""
KAPPA_FALLBACK_PER_BPS = 1e-3
"""The schema's lower sanity bound: the depth ``1/kappa`` alone is 1000 bps."""
A_FALLBACK_PER_S = 1e-3
"""One fill per ~17 minutes at the touch: a small A makes the inventory term large."""
STUDENT_T_DF_FALLBACK = 2.0
"""Infinite variance: the kernel applies its largest fat-tail factor."""
HAWKES_FALLBACK_MIN_RATIO = 2.0
"""With no trustworthy Hawkes fit, quote as if both sides ran at twice their baseline."""
FUNDING_FALLBACK_ABS_PER_HOUR = 1e-4
"""0.01 %/h, eight times Hyperliquid's baseline rate: the default funding uncertainty."""

_AS_ADDON_MAX_BPS = 500.0
_AS_DEPTH_MAX_BPS = 1e4


def _number(
    quoting: Mapping[str, Any],
    name: str,
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
    allow_inf: bool = False,
) -> tuple[float | None, str | None]:
    """``(value, None)`` if ``quoting[name]`` is usable, else ``(None, reason)``."""
    raw = quoting.get(name)
    if raw is None:
        return None, "missing"
    if isinstance(raw, bool) or not isinstance(raw, Real):
        return None, f"not a number ({raw!r})"
    value = float(raw)
    if math.isnan(value):
        return None, "NaN"
    if math.isinf(value) and not (allow_inf and value > 0):
        return None, "infinite"
    if value == 0.0 and (low > 0.0 or low_open):
        return None, "zero"
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if below or above:
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        return None, f"{value!r} outside {lo}{low}, {high}{hi}"
    return value, None


class _Notes:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, name: str, reason: str, used: str) -> None:
        self.items.append(f"{name}: {reason} -> {used}")


def _sigmas(quoting: Mapping[str, Any], notes: _Notes) -> dict[str, float]:
    bounds = (0.0, 50.0)
    sym, sym_why = _number(quoting, "sigma_bps_per_sqrt_s", *bounds, low_open=True)
    per_side = {}
    # Schema 2 publishes the per-side blend; the semivariance names are its older spelling.
    for side, keys in (
        ("bid", ("sigma_bid_bps_per_sqrt_s", "sigma_down_bps_per_sqrt_s")),
        ("ask", ("sigma_ask_bps_per_sqrt_s", "sigma_up_bps_per_sqrt_s")),
    ):
        key = next((k for k in keys if quoting.get(k) is not None), keys[0])
        per_side[side] = (
            _number(quoting, key, *bounds, low_open=True) if key in quoting else None,
            key,
        )
    out = {}
    for side, other in (("bid", "ask"), ("ask", "bid")):
        own, key = per_side[side]
        if own is not None and own[0] is not None:
            out[side] = own[0]
            continue
        # The larger of what is usable: a side's downside risk is at least the symmetric one.
        other_own = per_side[other][0]
        candidates = [v for v in (sym, other_own[0] if other_own else None) if v is not None]
        value = max(candidates) if candidates else SIGMA_FALLBACK_BPS_PER_SQRT_S
        if own is not None:
            notes.add(key, str(own[1]), f"{value!r} (largest usable sigma)")
        elif sym is None:
            notes.add("sigma_bps_per_sqrt_s", str(sym_why), f"{value!r} for the {side}")
        out[side] = value
    return {"sigma_bid_bps_per_sqrt_s": out["bid"], "sigma_ask_bps_per_sqrt_s": out["ask"]}


def _fill_intensity(quoting: Mapping[str, Any], notes: _Notes) -> dict[str, float]:
    out = {}
    for side in ("bid", "ask"):
        key = f"kappa_{side}_per_bps"
        kappa, why = _number(quoting, key, 1e-3, 50.0)
        if kappa is None:
            kappa = KAPPA_FALLBACK_PER_BPS
            notes.add(key, str(why), f"{kappa!r} (smallest plausible kappa)")
        out[key] = kappa
        key = f"A_{side}_per_s"
        a, why = _number(quoting, key, 0.0, 1e4, low_open=True)
        if a is None:
            a = A_FALLBACK_PER_S
            notes.add(key, str(why), f"{a!r}")
        out[key] = a
    return out


def _student_t_df(quoting: Mapping[str, Any], notes: _Notes) -> float:
    if "student_t_df" not in quoting:
        return math.inf
    df, why = _number(quoting, "student_t_df", 0.0, math.inf, low_open=True, allow_inf=True)
    if df is None:
        notes.add("student_t_df", str(why), f"{STUDENT_T_DF_FALLBACK!r} (fattest tail)")
        return STUDENT_T_DF_FALLBACK
    return df


def _resample_curve(
    depths: list[float], addons: list[float], points: int
) -> tuple[list[float], list[float]]:
    """At most ``points`` points whose interpolation is never below the original.

    Each kept point takes the largest add-on of the original on the intervals either side
    of it, so on every coarse interval both end values bound the original from above.
    """
    if len(depths) <= points:
        return depths, addons
    grid = np.linspace(depths[0], depths[-1], points)
    x, y = np.asarray(depths), np.asarray(addons)
    values = []
    for k in range(len(grid)):
        lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
        inside = y[(x >= lo) & (x <= hi)]
        ends = np.interp([lo, hi], x, y)
        values.append(float(max(ends.max(), inside.max() if inside.size else 0.0)))
    return [float(g) for g in grid], values


def _addon_curve(
    quoting: Mapping[str, Any], notes: _Notes, max_half_spread_bps: float, points: int
) -> dict[str, tuple[float, ...]]:
    worst = max_half_spread_bps  # an add-on this large puts the side at the clamp
    curve_keys = ("as_addon_curve_depth_bps", "as_addon_curve_bps")
    if any(k in quoting for k in curve_keys):
        depths_raw, addons_raw = (quoting.get(k) for k in curve_keys)
        problem = _curve_problem(depths_raw, addons_raw)
        if problem is None:
            assert isinstance(depths_raw, Sequence) and isinstance(addons_raw, Sequence)
            depths = [float(d) for d in depths_raw]
            addons = []
            for i, raw in enumerate(addons_raw):
                value, why = _number({"v": raw}, "v", 0.0, _AS_ADDON_MAX_BPS)
                if value is None:
                    notes.add(f"as_addon_curve_bps[{i}]", str(why), f"{worst!r} (max add-on)")
                    value = worst
                addons.append(value)
            if len(depths) > points:
                notes.add(
                    "as_addon_curve_bps",
                    f"{len(depths)} points",
                    f"resampled to {points} from above",
                )
            depths, addons = _resample_curve(depths, addons, points)
            return {"as_addon_depth_bps": tuple(depths), "as_addon_bps": tuple(addons)}
        notes.add("as_addon_curve_depth_bps", problem, f"{worst!r} at every depth (max add-on)")
        return {"as_addon_depth_bps": (0.0,), "as_addon_bps": (worst,)}
    addon, why = _number(quoting, "as_addon_bps", 0.0, _AS_ADDON_MAX_BPS)
    if addon is None:
        notes.add("as_addon_bps", str(why), f"{worst!r} (max add-on)")
        addon = worst
    return {"as_addon_depth_bps": (0.0,), "as_addon_bps": (addon,)}


def _curve_problem(depths: Any, addons: Any) -> str | None:
    if not isinstance(depths, Sequence) or not isinstance(addons, Sequence):
        return "depths or add-ons missing or not lists"
    if isinstance(depths, str) or isinstance(addons, str):
        return "depths or add-ons not lists"
    if not depths or len(depths) != len(addons):
        return f"{len(depths)} depths for {len(addons)} add-ons"
    previous = -math.inf
    for i, raw in enumerate(depths):
        value, why = _number({"v": raw}, "v", 0.0, _AS_DEPTH_MAX_BPS, high_open=True)
        if value is None:
            return f"depth {i}: {why}"
        if value <= previous:
            return f"depths not strictly increasing at {i}"
        previous = value
    return None


def _spectral_radius_problem(matrix: Any) -> str | None:
    try:
        m = np.asarray(matrix, dtype=float)
    except (TypeError, ValueError):
        return "not a numeric matrix"
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.size == 0:
        return f"shape {m.shape} is not square"
    if not np.all(np.isfinite(m)) or np.any(m < 0.0):
        return "entries must be finite and >= 0"
    radius = float(np.max(np.abs(np.linalg.eigvals(m))))
    if radius >= 1.0:
        return f"spectral radius {radius:.4g} >= 1 (explosive)"
    return None


def _hawkes_min_ratio(quoting: Mapping[str, Any], notes: _Notes) -> float:
    broken = []
    has_matrix = "hawkes_branching_matrix" in quoting
    _, why = _number(quoting, "hawkes_branching_ratio", 0.0, 1.0, high_open=True)
    if why is not None and not (why == "missing" and has_matrix):
        broken.append(("hawkes_branching_ratio", why))
    if quoting.get("hawkes_decay_per_s") is not None:
        _, why = _number(quoting, "hawkes_decay_per_s", 0.0, 1e6, low_open=True)
        if why is not None:
            broken.append(("hawkes_decay_per_s", why))
    if has_matrix:
        why = _spectral_radius_problem(quoting["hawkes_branching_matrix"])
        if why is not None:
            broken.append(("hawkes_branching_matrix", why))
    if "hawkes_mu_per_s" in quoting:
        raw = quoting["hawkes_mu_per_s"]
        values = raw if isinstance(raw, Sequence) and not isinstance(raw, str) else [raw]
        for i, v in enumerate(values):
            _, why = _number({"v": v}, "v", 0.0, math.inf, low_open=True)
            if why is not None:
                broken.append((f"hawkes_mu_per_s[{i}]", why))
    for name, why in broken:
        notes.add(name, why, f"live intensity ratio floored at {HAWKES_FALLBACK_MIN_RATIO!r}")
    return HAWKES_FALLBACK_MIN_RATIO if broken else 1.0


def _hawkes_toxicity(quoting: Mapping[str, Any], notes: _Notes) -> float:
    """NaN (widen by the setting) when absent; a present but unusable value says so."""
    if quoting.get("hawkes_toxicity_bps_per_excess") is None:
        return math.nan
    value, why = _number(quoting, "hawkes_toxicity_bps_per_excess", 0.0, 500.0)
    if value is None:
        notes.add("hawkes_toxicity_bps_per_excess", str(why),
                  "the setting's share of the half-spread per unit excess")
        return math.nan
    return value


def _funding(
    quoting: Mapping[str, Any], notes: _Notes, fallback_abs_per_hour: float
) -> dict[str, float]:
    rate, why = _number(quoting, "funding_rate_per_hour", -0.04, 0.04)
    if rate is None:
        notes.add(
            "funding_rate_per_hour",
            str(why),
            f"no lean; both sides widened as for |funding| = {fallback_abs_per_hour!r}/h",
        )
        return {"funding_rate_per_hour": 0.0, "funding_uncertainty_per_hour": fallback_abs_per_hour}
    return {"funding_rate_per_hour": rate, "funding_uncertainty_per_hour": 0.0}


def _use_microprice(quoting: Mapping[str, Any], notes: _Notes, min_r2: float) -> bool:
    fallback = quoting.get("microprice_fallback_to_mid")
    if not isinstance(fallback, bool):
        notes.add("microprice_fallback_to_mid", f"not a bool ({fallback!r})", "centre on mid")
        return False
    if fallback:
        return False  # the fit itself chose the mid: a decision, not a failure
    r2, why = _number(quoting, "microprice_r2_oos", -math.inf, 1.0)
    if r2 is None:
        notes.add("microprice_r2_oos", str(why), "centre on mid")
        return False
    if "microprice_coef_bps" in quoting:
        coef = quoting["microprice_coef_bps"]
        ok = isinstance(coef, Sequence) and not isinstance(coef, str) and len(coef) > 0
        if ok:
            ok = all(_number({"v": c}, "v", -math.inf, math.inf)[0] is not None for c in coef)
        if not ok:
            notes.add("microprice_coef_bps", f"unusable ({coef!r})", "centre on mid")
            return False
    return r2 > min_r2


def read_quoting_block(
    quoting: Mapping[str, Any],
    *,
    max_half_spread_bps: float,
    microprice_min_r2: float,
    funding_fallback_abs_per_hour: float,
    curve_points: int,
) -> dict[str, Any]:
    """The calibrated :class:`~trader.strategy.params.StrategyParams` fields of a block.

    Returns the keyword arguments for the calibrated fields (sigma, kappa and A per side,
    ``student_t_df``, the add-on curve, ``hawkes_min_ratio``, funding, ``use_microprice``)
    and ``fallbacks``; an add-on curve longer than ``curve_points`` is resampled to that
    many points from above. See :func:`trader.strategy.params.from_quoting` for the rules.
    """
    if not math.isfinite(funding_fallback_abs_per_hour) or funding_fallback_abs_per_hour < 0:
        raise ValueError(
            f"funding_fallback_abs_per_hour must be finite and >= 0, "
            f"got {funding_fallback_abs_per_hour!r}"
        )
    notes = _Notes()
    fields: dict[str, Any] = {}
    fields.update(_sigmas(quoting, notes))
    fields.update(_fill_intensity(quoting, notes))
    fields["student_t_df"] = _student_t_df(quoting, notes)
    fields.update(_addon_curve(quoting, notes, max_half_spread_bps, curve_points))
    fields["hawkes_min_ratio"] = _hawkes_min_ratio(quoting, notes)
    fields["hawkes_toxicity_bps_per_excess"] = _hawkes_toxicity(quoting, notes)
    fields.update(_funding(quoting, notes, funding_fallback_abs_per_hour))
    fields["use_microprice"] = _use_microprice(quoting, notes, microprice_min_r2)
    fields["fallbacks"] = tuple(notes.items)
    return fields
