"""The ground-truth document of a synthetic symbol-day, and its DuckDB view.

One JSON file per symbol-day at
``<lake>/ground_truth/venue=<V>/symbol=<S>/date=<D>/truth.json`` holds every planted
parameter (section per model, units in the key names or in ``units``) and what the
simulation realised (counts, variances, markouts, the imbalance slope). Importing this
module registers the ``ground_truth`` view, one row per document, in the lake catalog.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from data_lake.catalog import JsonView, register_json_view
from data_lake.paths import LakePaths
from data_lake.sources.synthetic.config import (
    SECONDS_PER_YEAR,
    BookParams,
    HestonParams,
    InformedParams,
    MarketConfig,
    SymbolConfig,
)
from data_lake.sources.synthetic.flow import HawkesExpectation

__all__ = [
    "GROUND_TRUTH_VIEW",
    "MARKOUT_HORIZONS_S",
    "RV_INTERVAL_S",
    "SCHEMA_VERSION",
    "expected_imbalance_sq",
    "expected_integrated_variance",
    "planted_truth",
    "read_truth",
    "truth_path",
    "write_truth",
]

SCHEMA_VERSION = 2
"""2 added the ``quoting`` section (data_lake/sources/synthetic/quoting_truth.py)."""
MARKOUT_HORIZONS_S: tuple[float, ...] = (0.1, 1.0, 5.0, 30.0)
TRUTH_FILE = "truth.json"
RV_INTERVAL_S = 300.0  # realised variances in the document sample the log price every 5 min

GROUND_TRUTH_VIEW = JsonView(
    name="ground_truth",
    # The first '*' must open a path segment: the catalog lists files under the text before it.
    glob=lambda paths: str(paths.ground_truth / "*" / "*" / "*" / TRUTH_FILE),
    empty_columns=(
        ("venue", "VARCHAR"),
        ("symbol", "VARCHAR"),
        ("date", "DATE"),
        ("seed", "BIGINT"),
        ("path", "VARCHAR"),
    ),
)
register_json_view(GROUND_TRUTH_VIEW)


def truth_path(paths: LakePaths, venue: str, symbol: str, date: dt.date) -> Path:
    return (
        paths.ground_truth
        / f"venue={venue}"
        / f"symbol={symbol}"
        / f"date={date.isoformat()}"
        / TRUTH_FILE
    )


def write_truth(paths: LakePaths, doc: dict[str, Any]) -> Path:
    """Write a truth document atomically (temp file + rename); returns its path."""
    target = truth_path(paths, doc["venue"], doc["symbol"], dt.date.fromisoformat(doc["date"]))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{TRUTH_FILE}.{uuid.uuid4().hex}.tmp"
    text = json.dumps(doc, indent=2, sort_keys=True, allow_nan=False) + "\n"
    try:
        tmp.write_text(text)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def read_truth(
    paths: LakePaths, symbol: str, date: dt.date, venue: str = "synthetic"
) -> dict[str, Any]:
    """The truth document of one symbol-day (FileNotFoundError if it was never generated)."""
    doc: dict[str, Any] = json.loads(truth_path(paths, venue, symbol, date).read_text())
    return doc


# -- planted expectations -------------------------------------------------------------


def expected_integrated_variance(heston: HestonParams, v0: float, duration_s: float) -> float:
    """E[int_0^T v dt] given v(0) = v0, in (annualised variance) x years; T in seconds."""
    t_years = duration_s / SECONDS_PER_YEAR
    k = heston.kappa
    return heston.theta * t_years + (v0 - heston.theta) * (-math.expm1(-k * t_years)) / k


def expected_imbalance_sq(touch_sigma: float) -> float:
    """E[I^2] for I = (b - a) / (b + a) with b, a i.i.d. lognormal of log-sd sigma.

    I = tanh(D / 2), D ~ N(0, 2 sigma^2); Gauss-Hermite quadrature (lot rounding ignored).
    """
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    d = nodes * touch_sigma * math.sqrt(2.0)
    return float(np.sum(weights * np.tanh(d / 2.0) ** 2) / math.sqrt(2.0 * math.pi))


def _signal_variance_bps2(book: BookParams, duration_s: float) -> float:
    """E[5-minute RV] of the transient signal (bps^2): 2 Var(S) per 5-minute interval, with
    the stationary Var(S) = b^2 E[I^2] / (1 - phi^2), phi = exp(-snapshot / decay)
    (the signal forgets within an interval; its rising phase is neglected)."""
    phi = math.exp(-book.snapshot_interval_s / book.imbalance_decay_s)
    var_s = book.imbalance_coef_bps**2 * expected_imbalance_sq(book.touch_sigma) / (1.0 - phi**2)
    return 2.0 * var_s * duration_s / RV_INTERVAL_S


def _informed_variance_bps2(informed: InformedParams, hawkes: HawkesExpectation) -> float:
    """Var of the day's informed move: m^2 (f (1 - f) E[N] + f^2 Var(N_buy - N_sell))."""
    f = informed.fraction
    return informed.markout_bps**2 * (
        f * (1.0 - f) * hawkes.expected_total + f**2 * hawkes.imbalance_var
    )


def planted_truth(
    *,
    market: MarketConfig,
    cfg: SymbolConfig,
    date: dt.date,
    seed: int,
    duration_s: float,
    start_price: float,
    start_variance: float,
    start_funding_rate: float,
    hawkes: HawkesExpectation,
    layout: dict[str, list[float]],
) -> dict[str, Any]:
    """Every planted parameter of a symbol-day, with the expectations they imply."""
    iv = expected_integrated_variance(cfg.heston, start_variance, duration_s)
    days = duration_s / 86_400.0
    variance = {
        "diffusion": iv * 1e8,
        "jumps": cfg.jumps.rate_per_day * days * cfg.jumps.second_moment_bps2,
        "informed": _informed_variance_bps2(cfg.informed, hawkes),
        "signal": _signal_variance_bps2(cfg.book, duration_s),
    }
    variance["total"] = sum(variance.values())
    inv = cfg.hawkes
    idx = market.index(cfg.symbol)
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": "data_lake.sources.synthetic",
        "venue": market.venue,
        "symbol": cfg.symbol,
        "date": date.isoformat(),
        "seed": int(seed),
        "duration_s": float(duration_s),
        "units": {
            "time": "seconds",
            "depth": "bps of mid",
            "markout": "bps of mid, signed by the aggressor side",
            "heston": "kappa per year, theta annualised variance, xi per sqrt(year); 365-day year",
            "variance_bps2": "expected / realised 5-minute realised variance of the log price "
            "over the window, bps^2, per component (diffusion = E[int v dt])",
            "funding_rate": "fraction per interval",
        },
        "conventions": {
            "order": "one aggressive order = all trades sharing (ts, side); Hawkes events "
            "are orders, not trades",
            "order_depth": "max |price - mid| / mid * 1e4 over the order's prints, mid = "
            "(bid_px + ask_px) / 2 of the last bbo row at or before ts",
            "imbalance": "I = (bid_sz[0] - ask_sz[0]) / (bid_sz[0] + ask_sz[0]) of a book "
            "snapshot; snapshots are taken before the orders of their timestamp",
            "day": "a run carries price, variance and funding from one day to the next; "
            "Hawkes history, informed ramps and the imbalance signal restart at midnight",
        },
        "price": {
            "start_price": float(start_price),
            "tick_size": cfg.book.tick_size,
            "spread_ticks": cfg.book.spread_ticks,
            "step_s": market.step_s,
            "heston": {
                "kappa": cfg.heston.kappa,
                "theta": cfg.heston.theta,
                "xi": cfg.heston.xi,
                "rho": cfg.heston.rho,
                "v_start": float(start_variance),
                "feller": cfg.heston.feller,
                "scheme": "full-truncation Euler",
            },
            "jumps": {
                "rate_per_day": cfg.jumps.rate_per_day,
                "up_prob": cfg.jumps.up_prob,
                "up_mean_bps": cfg.jumps.up_mean_bps,
                "down_mean_bps": cfg.jumps.down_mean_bps,
                "size_law": "double exponential (Kou)",
                "second_moment_bps2": cfg.jumps.second_moment_bps2,
            },
            "expected_variance_bps2": variance,
            "expected_annualised_variance": variance["total"]
            * 1e-8
            * SECONDS_PER_YEAR
            / duration_s,
            "sigma_bps_per_sqrt_s": math.sqrt(cfg.heston.theta * 1e8 / SECONDS_PER_YEAR),
        },
        "correlation": {
            "symbols": market.names,
            "matrix": [list(map(float, r)) for r in market.correlation],
            "row": [float(x) for x in market.correlation[idx]],
            "applies_to": "Brownian price shocks (jumps and flow are independent across symbols)",
        },
        "hawkes": {
            "marks": ["buy", "sell"],
            "mu": [float(x) for x in inv.mu],
            "alpha": [[float(x) for x in r] for r in inv.alpha],
            "beta": [[float(x) for x in r] for r in inv.beta],
            "kernel": "phi_ij(t) = alpha_ij beta_ij exp(-beta_ij t)",
            "branching_ratio": inv.branching_ratio,
            "hourly_profile": [float(x) for x in inv.profile],
            "seasonality": "baseline of hour h (UTC) = mu * hourly_profile[h]; excitation "
            "not modulated",
            "stationary_rate_per_hour": {
                "buy": [float(x) for x in hawkes.rate_per_hour[:, 0]],
                "sell": [float(x) for x in hawkes.rate_per_hour[:, 1]],
            },
            "stationary_rate_mean": [float(x) for x in hawkes.rate_per_hour.mean(axis=0)],
            "expected_orders": [float(x) for x in hawkes.expected_counts],
            "expected_orders_total": hawkes.expected_total,
            "orders_total_sd": hawkes.total_sd,
        },
        "sizes": {"law": cfg.sizes.kind, "scale": cfg.sizes.scale, "shape": cfg.sizes.shape},
        "fill_depth": {
            "law": cfg.depth.kind,
            "kappa_per_bps": cfg.depth.kappa,
            "alpha": cfg.depth.alpha,
            "xmin_bps": cfg.depth.xmin_bps,
            "mean_bps": cfg.depth.mean_bps,
            "size_depth_copula_corr": cfg.size_depth_corr,
        },
        "informed": {
            "fraction": cfg.informed.fraction,
            "markout_bps": cfg.informed.markout_bps,
            "horizon_s": cfg.informed.horizon_s,
            "markout_horizons_s": list(MARKOUT_HORIZONS_S),
            "planted_markout_bps": [
                cfg.informed.planted_markout_bps(h) for h in MARKOUT_HORIZONS_S
            ],
            "note": "planted_markout is the orders' own information: E[markout | informed] "
            "- E[markout | uninformed] = markout_bps min(h, horizon_s) / horizon_s; the "
            "unconditional expected markout adds the ramps of neighbouring orders (flow "
            "clustering) and is realised.markout_bps.expected_given_flow",
        },
        "microprice": {
            "imbalance_coef_bps": cfg.book.imbalance_coef_bps,
            "horizon_s": cfg.book.imbalance_horizon_s,
            "decay_s": cfg.book.imbalance_decay_s,
            "feature": "top-1 imbalance of each book snapshot",
            "expected_imbalance_sq": expected_imbalance_sq(cfg.book.touch_sigma),
        },
        "book": {
            "levels": cfg.book.levels,
            "snapshot_interval_s": cfg.book.snapshot_interval_s,
            "touch_size": cfg.book.touch_size,
            "touch_sigma": cfg.book.touch_sigma,
            "refill_rate_per_s": cfg.book.refill_rate_per_s,
            "lot_size": cfg.book.lot_size,
            **layout,
        },
        "funding": {
            "kappa_per_s": cfg.funding.kappa_per_s,
            "kappa_per_hour": cfg.funding.kappa_per_s * 3600.0,
            "theta": cfg.funding.theta,
            "sigma_per_sqrt_s": cfg.funding.sigma_per_sqrt_s,
            "sigma_per_sqrt_hour": cfg.funding.sigma_per_sqrt_s * 60.0,
            "interval_s": cfg.funding.interval_s,
            "stationary_sd": cfg.funding.stationary_sd,
            "lag1_autocorrelation": cfg.funding.lag1_autocorrelation,
            "rate_start": float(start_funding_rate),
            "mark_noise_bps": cfg.funding.mark_noise_bps,
            "oracle_noise_bps": cfg.funding.oracle_noise_bps,
        },
    }
