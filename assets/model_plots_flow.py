"""Plots of the order-flow fits: the adverse-selection add-on curve with its band, the
micro-price coefficients by volatility regime, VPIN over the day, and the correlation
matrix at each EWMA half-life (matplotlib only; titles name the symbol and day).

Units: bps of mid for add-ons and coefficients, hours of the UTC day for times.
"""

from __future__ import annotations

import datetime as dt

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from assets.features import DayFeatures
from assets.plots import figure
from calibration.clock.vpin import VPINResult
from calibration.correlation import CorrelationFit
from calibration.order_flow.adverse_selection import AdverseSelectionFit
from calibration.order_flow.microprice import MicropriceFit

__all__ = ["adverse_selection_plot", "correlation_plot", "microprice_plot", "vpin_plot"]


def adverse_selection_plot(fit: AdverseSelectionFit, f: DayFeatures) -> Figure:
    """Add-on by quote depth with a ±2 s.e. band, and the mixture's informed markout."""
    fig, ax = figure(7, 4)
    addon = fit.addon
    if addon is not None and addon.depth_bps:
        d = np.asarray(addon.depth_bps, float)
        a = np.asarray(addon.addon_bps, float)
        se = np.asarray(addon.addon_stderr_bps, float)
        ax.plot(d, a, "o-", label="add-on (mean markout of fills at >= depth)")
        ax.fill_between(d, a - 2 * se, a + 2 * se, alpha=0.25, label="± 2 s.e. (Newey-West)")
    ax.axhline(
        fit.mean_markout_bps,
        color="grey",
        ls="--",
        label=f"mean markout {fit.mean_markout_bps:.3g} bps",
    )
    ax.axhline(0.0, color="k", lw=0.5)
    ax.set_xlabel("quote depth from mid (bps)")
    ax.set_ylabel(f"markout at {fit.horizon_s:g} s (bps)")
    ax.set_title(
        f"{f.symbol} {f.day} adverse-selection add-on; informed share "
        f"{fit.informed_share:.2f}, informed markout {fit.informed_markout_bps:.3g} bps",
        fontsize=9,
    )
    ax.legend(fontsize=7)
    return fig


def microprice_plot(fit: MicropriceFit, f: DayFeatures) -> Figure:
    """Ridge coefficients per feature: pooled and per volatility regime (calm first)."""
    fig, ax = figure(8, 4)
    names = list(fit.feature_names)
    x = np.arange(len(names))
    series: list[tuple[str, tuple[float, ...]]] = [("pooled", fit.coef_bps)]
    edges = fit.regime_edges_bps_per_sqrt_s
    for i, coef in enumerate(fit.regime_coef_bps):
        if coef is None:
            continue
        lo = "0" if i == 0 else f"{edges[i - 1]:.2g}"
        hi = "inf" if i >= len(edges) else f"{edges[i]:.2g}"
        series.append((f"regime {i} (vol {lo}..{hi} bps/sqrt(s), n={fit.regime_n_obs[i]})", coef))
    width = 0.8 / max(len(series), 1)
    for k, (label, coef) in enumerate(series):
        ax.bar(x + (k - (len(series) - 1) / 2) * width, coef, width=width, label=label)
    ax.axhline(0.0, color="k", lw=0.5)
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel(f"coefficient (bps of mid move over {fit.horizon_s:g} s)")
    use = "falls back to the mid" if fit.use_fallback else "used"
    ax.set_title(
        f"{f.symbol} {f.day} micro-price by regime: OOS R^2 {fit.oos_r2:.3g} ({use})", fontsize=9
    )
    ax.legend(fontsize=6)
    return fig


def vpin_plot(fit: VPINResult, f: DayFeatures) -> Figure:
    """VPIN at each volume bucket's end through the UTC day."""
    fig, ax = figure(8, 3.5)
    start = dt.datetime.combine(f.day, dt.time(), tzinfo=dt.UTC).timestamp() * 1e9
    hours = (np.asarray(fit.bucket_end_ns, float) - start) / 3.6e12
    ax.plot(hours, fit.vpin, lw=0.8)
    ax.axhline(
        fit.latest,
        color="r",
        lw=0.6,
        ls="--",
        label=f"latest {fit.latest:.3g} (percentile {fit.latest_percentile:.2f})",
    )
    ax.set_xlim(0, 24)
    ax.set_xlabel("hour of the day (UTC)")
    ax.set_ylabel(f"VPIN over {fit.window} buckets (fraction)")
    ax.set_title(f"{f.symbol} {f.day} VPIN ({fit.n_buckets} volume buckets)")
    ax.legend(fontsize=7)
    return fig


def correlation_plot(fit: CorrelationFit, symbol: str, day: dt.date) -> Figure:
    """The correlation matrix of grid returns at each EWMA half-life."""
    n = len(fit.estimates)
    fig, grid = plt.subplots(
        1, max(n, 1), squeeze=False, figsize=(3.2 * max(n, 1) + 0.8, 3.4), dpi=90
    )
    axes = grid[0]
    labels = list(fit.symbols)
    image = None
    for ax, est in zip(axes, fit.estimates, strict=False):
        corr = np.asarray(est.correlation, float)
        image = ax.imshow(corr, vmin=-1, vmax=1, cmap="RdBu_r")
        for i in range(corr.shape[0]):
            for j in range(corr.shape[1]):
                ax.text(j, i, f"{corr[i, j]:.2f}", ha="center", va="center", fontsize=7)
        ax.set_xticks(range(len(labels)), labels, fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set_title(f"half-life {est.half_life_s:g} s", fontsize=8)
    if image is not None:
        fig.colorbar(image, ax=list(axes), shrink=0.8, label="correlation")
    fig.suptitle(f"{symbol} {day} EWMA correlation of {fit.grid_s:g} s returns", fontsize=9)
    return fig
