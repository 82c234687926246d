"""Plots of the multi-day fits: Heston on the 5-minute variance series, the funding OU,
the hour-of-week volume profile (matplotlib only; titles name the symbol and fit day).

Units: variance annualised (decimal), funding in fraction per hour, volume in base units.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from assets.features import DayFeatures
from assets.model_fits import heston_series
from assets.plots import figure
from calibration.clock.volume_clock import VolumeProfile
from calibration.errors import CalibrationError
from calibration.funding import FundingOUFit
from calibration.volatility.stochastic_vol import HestonFit

__all__ = ["funding_plot", "heston_plot", "volume_profile_plot"]

_NS_PER_H = 3.6e12
_MAX_LAG = 48  # 4 hours of 5-minute bars


def _acf(y: np.ndarray, max_lag: int) -> np.ndarray:
    y = y - y.mean()
    denom = float(np.dot(y, y))
    if denom <= 0:
        return np.zeros(max_lag)
    return np.array([float(np.dot(y[:-k], y[k:])) / denom for k in range(1, max_lag + 1)])


def heston_plot(fit: HestonFit, f: DayFeatures) -> Figure:
    """The 5-minute variance series with theta, and its autocorrelation against the fit's."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), dpi=90)
    try:
        series = heston_series(f)
        y = series.variance_annualised
        hours = np.arange(y.size) * series.interval_s / 3600.0
        top.plot(hours, y, lw=0.6, label="bipower variance per 5 min bar")
        acf = _acf(y, min(_MAX_LAG, max(y.size - 2, 1)))
        lags = np.arange(1, acf.size + 1)
        bottom.bar(
            lags * series.interval_s / 60.0, acf, width=3.0, color="grey", label="sample ACF"
        )
        if fit.kappa is not None:
            model = np.exp(-fit.kappa * lags * series.delta_years)
            bottom.plot(
                lags * series.interval_s / 60.0,
                model,
                "r-",
                label=f"latent variance ACF exp(-kappa lag), kappa={fit.kappa:.3g}/yr",
            )
    except CalibrationError as exc:  # no trailing window: say so on the plot
        top.text(0.5, 0.5, str(exc), ha="center", transform=top.transAxes)
    top.axhline(fit.theta, color="r", lw=1, label=f"theta={fit.theta:.3g}")
    top.set_xlabel("hours since the window's start (UTC)")
    top.set_ylabel("variance (annualised, decimal)")
    state = "identified" if fit.identifiable else f"NOT identified: {fit.reason}"
    top.set_title(f"{f.symbol} {f.day} Heston on 5-min bipower variance ({state})", fontsize=9)
    top.legend(fontsize=7)
    bottom.axhline(0, color="k", lw=0.5)
    bottom.set_xlabel("lag (minutes)")
    bottom.set_ylabel("autocorrelation")
    bottom.legend(fontsize=7)
    return fig


def funding_plot(fit: FundingOUFit, f: DayFeatures) -> Figure:
    """Funding prints (fraction per hour) with the OU's long-run level and stationary band."""
    fig, ax = figure(8, 4)
    fund = f.funding
    per_hour = 3600.0 / fit.interval_s
    if len(fund):
        ts = fund["ts"].to_numpy(np.int64)
        hours = (ts - ts[0]) / _NS_PER_H
        ax.plot(
            hours,
            fund["rate"].to_numpy(float) * per_hour,
            ".-",
            ms=3,
            lw=0.6,
            label="funding prints",
        )
        theta = fit.theta * per_hour
        band = 2.0 * fit.stationary_std * per_hour
        ax.axhline(theta, color="r", label=f"OU theta {theta:.3g}/h")
        ax.axhspan(
            theta - band, theta + band, color="r", alpha=0.1, label="theta ± 2 stationary sd"
        )
    half_life = fit.half_life_s / 3600.0
    state = "identified" if fit.identifiable else "NOT identified"
    ax.set_title(f"{f.symbol} {f.day} funding OU: half-life {half_life:.3g} h ({state})")
    ax.set_xlabel("hours since the funding window's first print (UTC)")
    ax.set_ylabel("funding rate (fraction per hour)")
    ax.legend(fontsize=7)
    return fig


def volume_profile_plot(fit: VolumeProfile, f: DayFeatures) -> Figure:
    """Volume rate per hour of week; bins with under the minimum exposure are hatched."""
    fig, ax = figure(9, 3.5)
    volume = np.asarray(fit.volume, float)
    exposure = np.asarray(fit.exposure_hours, float)
    rate = np.divide(volume, exposure, out=np.zeros_like(volume), where=exposure > 0)
    thin = exposure < fit.min_exposure_hours
    bins = np.arange(rate.size)
    ax.bar(bins[~thin], rate[~thin], width=1.0, label=">= 1 h of history")
    ax.bar(
        bins[thin],
        rate[thin],
        width=1.0,
        color="lightgrey",
        hatch="//",
        label="under 1 h (falls back to the hour-of-day mean)",
    )
    for day in range(1, 7):
        ax.axvline(24 * day, color="k", lw=0.4)
    ax.set_xticks(
        [24 * d + 12 for d in range(7)], ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    )
    ax.set_xlabel("hour of week (UTC)")
    ax.set_ylabel("volume rate (base units per hour)")
    ax.set_title(
        f"{f.symbol} {f.day} hour-of-week volume profile "
        f"({int((~thin).sum())}/168 bins with history)"
    )
    ax.legend(fontsize=7)
    return fig
