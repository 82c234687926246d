"""The plots a person would rather see than read, one per calibration (matplotlib only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypedDict

import numpy as np
from matplotlib.figure import Figure
from scipy import stats

from assets.features import DayFeatures, minute_close_mids
from assets.model_fits import hawkes_inputs, trade_depths
from assets.model_plots_flow import adverse_selection_plot, microprice_plot, vpin_plot
from assets.model_plots_multiday import funding_plot, heston_plot, volume_profile_plot
from assets.plots import figure
from calibration.clock.volume_clock import VolumeProfile
from calibration.clock.vpin import VPINResult
from calibration.fill_depth import FillDepthSides
from calibration.funding import FundingOUFit
from calibration.hawkes import HawkesFit, merge_same_timestamp, rescaled_residuals
from calibration.order_flow.adverse_selection import AdverseSelectionFit
from calibration.order_flow.markouts import MarkoutTable
from calibration.order_flow.microprice import MicropriceFit
from calibration.volatility import VolatilityEstimate
from calibration.volatility.stochastic_vol import HestonFit

__all__ = ["PLOTTERS", "Plotters"]


def _fill_depth(fit: FillDepthSides, f: DayFeatures) -> Figure:
    """Empirical survival of depths (log scale) with the three laws fitted on the support."""
    depths = trade_depths(f)
    fig, ax = figure()
    pooled_depths = np.sort(depths.depth_bps[depths.depth_bps >= 0])
    for side, name in ((-1, "bid"), (1, "ask")):
        d = np.sort(depths.depth_bps[(depths.side == side) & (depths.depth_bps >= 0)])
        if d.size:
            ax.step(d, 1.0 - np.arange(d.size) / d.size, where="post", label=f"{name} (n={d.size})")
    pooled = fit.pooled.fit
    if pooled is not None and pooled_depths.size:
        lo = pooled.support_min_bps
        s_lo = float(np.mean(pooled_depths >= lo))
        grid = np.linspace(lo, float(pooled_depths[-1]), 200)
        styles = {"exponential": "k--", "power_law": "r:", "lognormal": "b-."}
        for law, style in styles.items():
            lw = 2.0 if law == pooled.best else 1.0
            ax.plot(grid, s_lo * np.exp(pooled.log_sf(grid, law)), style, lw=lw,
                    label=f"{law} (p={_p(pooled.laws[law].p_value)})")
        ax.axvline(lo, color="grey", lw=0.8, ls="--", label=f"xmin {lo:.3g} bps (support start)")
    ax.set_yscale("log")
    ax.set_xlabel("depth from mid (bps)")
    ax.set_ylabel("P(fill depth >= x), fraction")
    ax.set_title(f"{f.symbol} {f.day} fill depth: best {fit.pooled.best}")
    ax.legend(fontsize=7)
    return fig


def _p(p: float | None) -> str:
    return "n/a" if p is None else f"{p:.2f}"


def _hawkes(fit: HawkesFit, f: DayFeatures) -> Figure:
    """QQ plot of time-rescaled residuals against Exp(1)."""
    times, marks, _ = hawkes_inputs(f)
    t, m, _ = merge_same_timestamp(times, marks)
    residuals = rescaled_residuals(t, m, fit.mu, fit.alpha_terms, fit.beta_terms)
    fig, ax = figure(5, 5)
    for i, r in enumerate(residuals):
        r = np.sort(r[r > 0])
        if r.size < 2:
            continue
        q = stats.expon.ppf((np.arange(1, r.size + 1) - 0.5) / r.size)
        step = max(1, r.size // 2000)
        ax.plot(q[::step], r[::step], ".", ms=2, label=("buy", "sell")[i])
    hi = ax.get_xlim()[1]
    ax.plot([0, hi], [0, hi], "k--", lw=1)
    ax.set_xlabel("Exp(1) quantile (dimensionless)")
    ax.set_ylabel("time-rescaled residual (dimensionless)")
    ax.set_title(
        f"{f.symbol} {f.day} Hawkes residual QQ, n={fit.branching_ratio:.2f}, "
        f"K-S p={fit.ks_pvalue_pooled:.3g}",
        fontsize=9,
    )
    ax.legend()
    return fig


def _markouts(fit: MarkoutTable, f: DayFeatures) -> Figure:
    fig, ax = figure()
    for curve in (fit.overall, *fit.by_side):
        mean = np.array([np.nan if v is None else v for v in curve.mean_bps])
        se = np.array([np.nan if v is None else v for v in curve.mean_stderr_bps])
        ax.errorbar(curve.horizons_s, mean, yerr=2 * se, capsize=3, marker="o", label=curve.label)
    ax.set_xscale("log")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("horizon (s)")
    ax.set_ylabel("markout (bps, +2 s.e.)")
    ax.set_title(f"{f.symbol} {f.day} markouts of trades (buy/sell/all)")
    ax.legend(fontsize=7)
    return fig


def _volatility(fit: VolatilityEstimate, f: DayFeatures) -> Figure:
    """Per-minute realised and bipower variance through the day."""
    mids = minute_close_mids(f.quotes)
    # 1-second returns within each minute would be costlier; 1-minute bars suffice to see it.
    r = np.diff(np.log(mids)) * 1e4
    window = 30
    rv = np.convolve(r**2, np.ones(window), "valid")
    bv = (np.pi / 2) * np.convolve(np.abs(r[1:]) * np.abs(r[:-1]), np.ones(window - 1), "valid")
    fig, ax = figure()
    ax.plot(rv, label="RV (30 min rolling, bps^2)")
    ax.plot(bv[: rv.size], label="BV (30 min rolling, bps^2)")
    ax.set_xlabel("minute of the day (UTC)")
    ax.set_ylabel("30-minute variance (bps^2)")
    ax.set_title(
        f"{f.symbol} {f.day} RV vs BV; sigma_eff={fit.sigma_effective.sigma_bps:.3g} bps/sqrt(s)",
        fontsize=9,
    )
    ax.legend()
    return fig


class Plotters(TypedDict):
    """Every model's plot, each plotter typed by the result it draws (the correlation's is
    :func:`assets.model_plots_flow.correlation_plot`: it reads no features)."""

    fill_depth: Callable[[FillDepthSides, DayFeatures], Figure]
    hawkes: Callable[[HawkesFit, DayFeatures], Figure]
    markouts: Callable[[MarkoutTable, DayFeatures], Figure]
    volatility: Callable[[VolatilityEstimate, DayFeatures], Figure]
    heston: Callable[[HestonFit, DayFeatures], Figure]
    adverse_selection: Callable[[AdverseSelectionFit, DayFeatures], Figure]
    microprice: Callable[[MicropriceFit, DayFeatures], Figure]
    volume_profile: Callable[[VolumeProfile, DayFeatures], Figure]
    vpin: Callable[[VPINResult, DayFeatures], Figure]
    funding: Callable[[FundingOUFit, DayFeatures], Figure]


PLOTTERS: Plotters = {
    "fill_depth": _fill_depth,
    "hawkes": _hawkes,
    "markouts": _markouts,
    "volatility": _volatility,
    "heston": heston_plot,
    "adverse_selection": adverse_selection_plot,
    "microprice": microprice_plot,
    "volume_profile": volume_profile_plot,
    "vpin": vpin_plot,
    "funding": funding_plot,
}
