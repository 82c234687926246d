"""The few numbers of each model fit shown on its asset page, with units in the labels.

Units follow docs/architecture.md §4; the label carries the unit in brackets
(``kappa bid [1/bps]``). Counts are integers (``MetadataValue.int``), booleans booleans,
estimates floats; a value that could not be estimated is left out (never NaN).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import dagster as dg
import numpy as np

from calibration.clock.volume_clock import VolumeProfile
from calibration.clock.vpin import VPINResult
from calibration.correlation import CorrelationFit
from calibration.fill_depth import FillDepthSides
from calibration.funding import FundingOUFit
from calibration.hawkes import HawkesFit
from calibration.order_flow.adverse_selection import AdverseSelectionFit
from calibration.order_flow.markouts import MarkoutTable
from calibration.order_flow.microprice import MicropriceFit
from calibration.volatility import VolatilityEstimate
from calibration.volatility.stochastic_vol import HestonFit

__all__ = [
    "Headline",
    "adverse_selection_headline",
    "correlation_headline",
    "fill_depth_headline",
    "funding_headline",
    "hawkes_headline",
    "heston_headline",
    "markouts_headline",
    "metadata_values",
    "microprice_headline",
    "volatility_headline",
    "volume_profile_headline",
    "vpin_headline",
]

Headline = dict[str, float | int | bool | str | None]
"""Label (with its unit) -> value; ints become integer metadata, floats float metadata."""

_HOURS_PER_WEEK = 168
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def metadata_values(headline: Mapping[str, object]) -> dict[str, dg.MetadataValue]:
    """Typed metadata of a headline: int, float (4 significant digits), bool and text;
    None and NaN left out."""
    out: dict[str, dg.MetadataValue] = {}
    for label, value in headline.items():
        if isinstance(value, (bool, np.bool_)):
            out[label] = dg.MetadataValue.bool(bool(value))
        elif isinstance(value, (int, np.integer)):
            out[label] = dg.MetadataValue.int(int(value))
        elif isinstance(value, (float, np.floating)):
            if math.isfinite(float(value)):
                # Four significant digits: an estimate's error is larger than that.
                out[label] = dg.MetadataValue.float(float(f"{float(value):.4g}"))
        elif value is not None:
            out[label] = dg.MetadataValue.text(str(value))
    return out


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600.0


def hawkes_headline(r: HawkesFit) -> Headline:
    return {
        "branching ratio [dimensionless]": r.branching_ratio,
        "baseline buy mu [1/s]": float(r.mu[0]),
        "baseline sell mu [1/s]": float(r.mu[1]),
        "decay beta buy->buy [1/s]": float(r.beta[0, 0]),
        "residual K-S p-value (pooled)": r.ks_pvalue_pooled,
        "events [count]": int(r.n_obs),
        "same-timestamp prints merged [count]": int(r.n_merged),
    }


def volatility_headline(r: VolatilityEstimate) -> Headline:
    s = r.sigma_effective
    return {
        "sigma effective [bps/sqrt(s)]": s.sigma_bps,
        "sigma bid side [bps/sqrt(s)]": s.sigma_bid_bps,
        "sigma ask side [bps/sqrt(s)]": s.sigma_ask_bps,
        "sigma diffusion (jump-robust) [bps/sqrt(s)]": s.sigma_clean_bps,
        "sigma total [bps/sqrt(s)]": s.sigma_total_bps,
        "sigma annualised [fraction/sqrt(yr)]": s.sigma_annualised,
        "jump share of variance [fraction]": s.jump_share,
        "primary scale": r.primary_label,
        "price samples [count]": int(r.n_prices),
    }


def heston_headline(r: HestonFit) -> Headline:
    return {
        "identified": bool(r.identifiable),
        "reason": r.reason,
        "kappa (mean reversion) [1/yr]": r.kappa,
        "half-life [h]": _hours(r.half_life_s),
        "theta (long-run variance) [annualised, decimal]": r.theta,
        "long-run vol sqrt(theta) [annualised, decimal]": math.sqrt(r.theta)
        if r.theta > 0
        else None,
        "xi (vol of variance) [1/sqrt(yr)]": r.xi,
        "rho (price-variance correlation) [dimensionless]": r.rho,
        "Feller ratio 2 kappa theta / xi^2 [dimensionless]": r.feller_ratio,
        "5-min variance bars [count]": int(r.n_obs),
    }


def fill_depth_headline(r: FillDepthSides) -> Headline:
    pooled = r.pooled.fit
    return {
        "best law": r.pooled.best,
        "kappa bid [1/bps]": r.bid.kappa_glft,
        "kappa ask [1/bps]": r.ask.kappa_glft,
        "A bid [fills/s]": r.bid.A_glft,
        "A ask [fills/s]": r.ask.A_glft,
        "xmin (quoting support starts) [bps]": None if pooled is None else pooled.support_min_bps,
        "fill depths [count]": int(r.pooled.n_obs),
    }


def markouts_headline(r: MarkoutTable) -> Headline:
    return {
        f"mean markout at {h:g} s [bps]": m
        for h, m in zip(r.horizons_s, r.overall.mean_bps, strict=True)
    }


def adverse_selection_headline(r: AdverseSelectionFit) -> Headline:
    out: Headline = {
        "mean markout [bps]": r.mean_markout_bps,
        "informed share [fraction]": r.informed_share,
        "informed markout [bps]": r.informed_markout_bps,
        "noise sd [bps]": r.noise_sd_bps,
        "mixture LR statistic [2 log-lik units]": r.lr_statistic,
        "EM converged": bool(r.em_converged),
        "markout horizon [s]": r.horizon_s,
        "trades [count]": int(r.n_obs),
    }
    if r.addon is not None and r.addon.depth_bps:
        out["add-on at the shallowest depth [bps]"] = r.addon.addon_bps[0]
        out["add-on depth grid [bps]"] = (
            f"{r.addon.depth_bps[0]:g}..{r.addon.depth_bps[-1]:g} ({len(r.addon.depth_bps)})"
        )
    return out


def microprice_headline(r: MicropriceFit) -> Headline:
    return {
        "out-of-sample R^2 [dimensionless]": r.oos_r2,
        "falls back to the mid": bool(r.use_fallback),
        "ridge alpha [dimensionless]": r.alpha,
        "horizon [s]": r.horizon_s,
        "vol regimes [count]": len(r.regime_n_obs),
        "snapshots [count]": int(r.n_obs),
    }


def volume_profile_headline(r: VolumeProfile) -> Headline:
    exposure = np.asarray(r.exposure_hours, float)
    volume = np.asarray(r.volume, float)
    rate = np.divide(volume, exposure, out=np.zeros_like(volume), where=exposure > 0)
    peak = int(np.argmax(rate))
    return {
        "bins with >= 1 h of history [of 168]": int(np.sum(exposure >= r.min_exposure_hours)),
        "hours of history [h]": float(exposure.sum()),
        "volume [base units]": float(volume.sum()),
        "busiest hour of week [UTC]": f"{_WEEKDAYS[peak // 24]} {peak % 24:02d}:00",
        "busiest hour's rate [base units/h]": float(rate[peak]),
    }


def vpin_headline(r: VPINResult) -> Headline:
    return {
        "latest VPIN [fraction]": r.latest,
        "latest VPIN percentile [fraction]": r.latest_percentile,
        "volume buckets [count]": int(r.n_buckets),
        "rolling window [buckets]": int(r.window),
        "trades [count]": int(r.n_obs),
    }


def funding_headline(r: FundingOUFit) -> Headline:
    per_hour = 3600.0 / r.interval_s
    return {
        "identified": bool(r.identifiable),
        "note": r.note,
        "kappa (mean reversion) [1/yr]": r.kappa,
        "half-life [h]": _hours(r.half_life_s),
        "theta (long-run rate) [fraction/h]": r.theta * per_hour,
        "stationary sd [fraction/h]": r.stationary_std * per_hour,
        "funding interval [s]": r.interval_s,
        "prints [count]": int(r.n_obs),
    }


def correlation_headline(r: CorrelationFit) -> Headline:
    return {
        "symbols": ", ".join(r.symbols),
        "half-lives [s]": ", ".join(f"{e.half_life_s:g}" for e in r.estimates),
        "grid step [s]": r.grid_s,
        "hedge symbol": r.hedge_symbol,
        "grid returns [count]": int(r.n_obs),
    }
