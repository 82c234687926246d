"""Adverse selection: informed-flow share and the depth-dependent spread add-on.

Two questions a market maker asks of its trade tape:

1. How much of the flow is informed? A two-component mixture on the long-horizon
   markout: uninformed trades leave no expected move (mean 0), informed trades move the
   mid by ``m`` bps in their direction; both share the same noise. The mixture identifies
   ``f`` (informed share) and ``m`` separately; their product is the mean markout.
2. What does a quote at depth ``delta`` bps pay for being picked off? A passive quote at
   ``delta`` is filled only by trades that reach at least ``delta`` from the mid, so its
   adverse-selection add-on is the mean markout of those trades, ``A(delta)``; the ratio
   ``A(delta) / mean markout`` replaces a fixed 2x safety factor on the naive markout.

The per-trade markout machinery lives in ``calibration.order_flow.markouts``
and is re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from calibration.common.asof import BPS, NS_PER_S, as_float_array
from calibration.common.newey_west import hac_mean, overlap_lags
from calibration.errors import CalibrationError
from calibration.order_flow.markout_mixture import fit_markout_mixture
from calibration.order_flow.markouts import (
    MarkoutCurve,
    MarkoutTable,
    TradeMarkouts,
    _markout_unchecked,
    _validated,
    markout_bps,
    markouts,
)
from calibration.types import Float64Array

__all__ = [
    "AdverseSelectionFit",
    "DepthAddOn",
    "MarkoutCurve",
    "MarkoutTable",
    "TradeMarkouts",
    "fit_adverse_selection",
    "markout_bps",
    "markouts",
]

#: Depth quantiles used for the add-on grid when none is given (plus depth 0, the mid).
DEFAULT_DEPTH_QUANTILES: tuple[float, ...] = (0.5, 0.75, 0.9, 0.95, 0.99)
#: A depth grid point needs trades at this many distinct times for its error to mean much.
_MIN_EVENTS_PER_DEPTH = 10
#: Relative slack in "reached depth delta": prints at the same tick differ in the 4th
#: significant digit of their bps depth as the mid drifts, and must not split.
_DEPTH_RTOL = 0.01


@dataclass(frozen=True)
class DepthAddOn:
    """Adverse-selection add-on for a passive quote at each depth of a grid.

    Attributes
    ----------
    depth_bps : tuple of float
        Quote depth from the pre-trade mid, bps.
    addon_bps : tuple of float
        Mean markout of trades that reached at least that depth (within 1% of it), bps.
    addon_stderr_bps : tuple of float
        Newey-West standard error of each add-on, bps.
    multiplier : tuple of float or None
        ``addon / mean markout of all trades`` (None when the overall mean markout is not
        positive, so the ratio has no meaning as a safety factor).
    multiplier_ci_low, multiplier_ci_high : tuple of float or None
        95% moving-block-bootstrap percentile interval of the multiplier.
    n_trades : tuple of int
        Trades that reached each depth.
    n_events : tuple of int
        Distinct trade timestamps among them (one sweep prints many trades at one time,
        all with the same markout, so this is the effective sample size).
    """

    depth_bps: tuple[float, ...]
    addon_bps: tuple[float, ...]
    addon_stderr_bps: tuple[float, ...]
    multiplier: tuple[float | None, ...]
    multiplier_ci_low: tuple[float | None, ...]
    multiplier_ci_high: tuple[float | None, ...]
    n_trades: tuple[int, ...]
    n_events: tuple[int, ...]

    def addon_at(self, depth_bps: float) -> float:
        """Add-on for a quote at ``depth_bps`` (bps), linear between grid points, flat beyond."""
        return float(np.interp(depth_bps, self.depth_bps, self.addon_bps))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable plain-Python view."""
        return {
            "depth_bps": list(self.depth_bps),
            "addon_bps": list(self.addon_bps),
            "addon_stderr_bps": list(self.addon_stderr_bps),
            "multiplier": list(self.multiplier),
            "multiplier_ci_low": list(self.multiplier_ci_low),
            "multiplier_ci_high": list(self.multiplier_ci_high),
            "n_trades": list(self.n_trades),
            "n_events": list(self.n_events),
        }


@dataclass(frozen=True)
class AdverseSelectionFit:
    """Informed-flow mixture on the markout at one horizon, and the depth add-on curve.

    Attributes
    ----------
    horizon_s : float
        Markout horizon, seconds.
    n_obs : int
        Trades with a complete horizon.
    hac_lags : int
        Kernel width of the HAC errors, trades.
    mean_markout_bps, mean_markout_stderr_bps : float
        Mean signed markout (the naive adverse-selection cost per fill) and its HAC error.
    informed_share, informed_share_stderr : float
        Mixture weight ``f`` of the informed component, and its sandwich-HAC error (the
        mixture's errors are None where their sandwich variance is not positive).
    informed_markout_bps, informed_markout_stderr_bps : float
        Mean markout ``m`` of an informed trade, bps.
    noise_sd_bps, noise_sd_stderr_bps : float
        Common standard deviation of both components, bps.
    implied_mean_bps, implied_mean_stderr_bps : float
        ``f * m``, the mixture's implied mean markout (compare with the sample mean).
    loglik : float
        Mixture log-likelihood (Gaussian components).
    loglik_one_component : float
        Log-likelihood of a single Gaussian with free mean.
    lr_statistic : float
        ``2 * (loglik - loglik_one_component)`` (the mixture LR has a non-standard null
        distribution; large values, say > 10, mean the second component is real).
    em_iterations : int
        EM iterations of the best start.
    em_converged : bool
        Whether that start met the tolerance.
    addon : DepthAddOn or None
        Depth add-on curve (None when no trade depths or prices were given).
    """

    horizon_s: float
    n_obs: int
    hac_lags: int
    mean_markout_bps: float
    mean_markout_stderr_bps: float
    informed_share: float
    informed_share_stderr: float | None
    informed_markout_bps: float
    informed_markout_stderr_bps: float | None
    noise_sd_bps: float
    noise_sd_stderr_bps: float | None
    implied_mean_bps: float
    implied_mean_stderr_bps: float | None
    loglik: float
    loglik_one_component: float
    lr_statistic: float
    em_iterations: int
    em_converged: bool
    addon: DepthAddOn | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable plain-Python view."""
        out: dict[str, Any] = {
            k: getattr(self, k) for k in self.__dataclass_fields__ if k != "addon"
        }
        out["addon"] = None if self.addon is None else self.addon.to_dict()
        return out


# ---------------------------------------------------------------- depth add-on ----------


class _BlockBootstrap:
    """Moving-block bootstrap sums of series over 0..n-1, from cumulative sums.

    A resample is ``ceil(n / block)`` blocks of ``block`` consecutive positions at uniform
    starts, cut to ``n`` positions. Its sum of any series is a sum of block sums, each a
    difference of the series' cumulative sum: O(resamples x blocks) per series instead of
    materialising the (resamples x n) index matrix (157 MB per array on a 200,000-trade
    day, one more per grid depth).
    """

    def __init__(self, n: int, block: int, n_boot: int, rng: np.random.Generator) -> None:
        self.block = int(min(max(block, 1), n))
        n_blocks = -(-n // self.block)
        self.starts = rng.integers(0, n - self.block + 1, size=(n_boot, n_blocks))
        self.last = n - (n_blocks - 1) * self.block  # length of the cut last block

    def sums(self, values: npt.NDArray[Any]) -> Float64Array:
        """Each resample's sum of ``values`` (length n), shape (n_boot,)."""
        cs = np.concatenate(([0.0], np.cumsum(values, dtype=np.float64)))
        full = self.starts[:, :-1]
        tail = self.starts[:, -1]
        inner = (cs[full + self.block] - cs[full]).sum(axis=1)
        return np.asarray(inner + (cs[tail + self.last] - cs[tail]), dtype=np.float64)


def _depth_addon(
    x: Float64Array,
    depth: Float64Array,
    times_s: Float64Array,
    trade_ts_ns: npt.NDArray[np.int64],
    horizon_s: float,
    grid: Float64Array,
    mean_all: float,
    block: int,
    n_boot: int,
    min_trades: int,
    seed: int,
    lag_quantile: float,
) -> DepthAddOn:
    rng = np.random.default_rng(seed)
    boot = _BlockBootstrap(x.size, block, n_boot, rng)
    boot_mean_all = boot.sums(x) / x.size
    keys = ("d", "a", "se", "mu", "lo", "hi", "n", "ev")
    cols: dict[str, list[Any]] = {k: [] for k in keys}
    for delta in grid:
        reached = depth >= delta * (1.0 - _DEPTH_RTOL)
        n_reached = int(reached.sum())
        n_events = int(np.unique(trade_ts_ns[reached]).size)
        if n_reached < min_trades or n_events < _MIN_EVENTS_PER_DEPTH:
            continue
        n_lags = overlap_lags(times_s[reached], horizon_s, quantile=lag_quantile)
        addon, se = hac_mean(x[reached], n_lags)
        mult: float | None = None
        lo: float | None = None
        hi: float | None = None
        if mean_all > 0.0:
            mult = addon / mean_all
            counts = np.rint(boot.sums(reached))
            ok = (counts > 0) & (boot_mean_all > 0.0)
            if ok.sum() >= 20:
                boot_addon = boot.sums(np.where(reached, x, 0.0))[ok] / counts[ok]
                ratios = boot_addon / boot_mean_all[ok]
                lo, hi = (float(v) for v in np.percentile(ratios, [2.5, 97.5]))
        for key, val in zip(
            keys, (float(delta), addon, se, mult, lo, hi, n_reached, n_events), strict=True
        ):
            cols[key].append(val)
    if not cols["d"]:
        raise CalibrationError(
            f"no depth on the grid was reached by at least {min_trades} trades at "
            f"{_MIN_EVENTS_PER_DEPTH} distinct times; "
            "lower min_trades_per_depth or pass a shallower depth_grid_bps"
        )
    return DepthAddOn(
        depth_bps=tuple(cols["d"]),
        addon_bps=tuple(cols["a"]),
        addon_stderr_bps=tuple(cols["se"]),
        multiplier=tuple(cols["mu"]),
        multiplier_ci_low=tuple(cols["lo"]),
        multiplier_ci_high=tuple(cols["hi"]),
        n_trades=tuple(cols["n"]),
        n_events=tuple(cols["ev"]),
    )


# ---------------------------------------------------------------- entry point -----------


def fit_adverse_selection(
    trade_ts_ns: npt.ArrayLike,
    trade_side: npt.ArrayLike,
    mid_ts_ns: npt.ArrayLike,
    mid: npt.ArrayLike,
    *,
    horizon_s: float = 5.0,
    trade_price: npt.ArrayLike | None = None,
    trade_depth_bps: npt.ArrayLike | None = None,
    depth_grid_bps: npt.ArrayLike | None = None,
    min_trades_per_depth: int = 30,
    n_boot: int = 200,
    seed: int = 0,
    lag_quantile: float = 0.9,
) -> AdverseSelectionFit:
    """Fit the informed-flow mixture and the depth-dependent adverse-selection add-on.

    Parameters
    ----------
    trade_ts_ns : array of int64
        Trade times, ns, sorted (exchange time).
    trade_side : array
        +1 buy aggressor, -1 sell aggressor.
    mid_ts_ns : array of int64
        Mid update times, ns, sorted, same clock as the trades.
    mid : array of float
        Mid after each update, price units.
    horizon_s : float
        Markout horizon, seconds: long enough for informed moves to have played out.
    trade_price : array of float, optional
        Trade prices; each trade's depth is then ``side * (price - mid before) / mid * 1e4``.
    trade_depth_bps : array of float, optional
        Depth each trade reached from the pre-trade mid, bps (overrides ``trade_price``).
    depth_grid_bps : array of float, optional
        Quote depths at which to evaluate the add-on, bps; default 0 (the mid: all trades
        that printed on their own side of it) and the 50, 75, 90, 95 and 99% quantiles of
        the positive trade depths.
    min_trades_per_depth : int
        Grid points reached by fewer trades (or by trades at fewer than 10 distinct
        times) are dropped.
    n_boot : int
        Moving-block bootstrap replicates for the multiplier interval.
    seed : int
        Bootstrap seed.
    lag_quantile : float
        Quantile of the per-trade overlap count used as the HAC lag.

    Returns
    -------
    AdverseSelectionFit

    Raises
    ------
    CalibrationError
        On malformed inputs, fewer than 50 complete markouts, or markouts with no
        variation.

    Warns
    -----
    IdentifiabilityWarning
        When the mixture collapses (informed share near 0 or 1): ``f`` and ``m`` are then
        not separately identified, only their product (the mean markout) is.
    ConvergenceWarning
        When EM does not converge or the Hessian is not negative definite.

    Notes
    -----
    Identification. Markouts ``x_i`` at horizon ``h`` follow
    ``(1 - f) N(0, s^2) + f N(m, s^2)``: an uninformed trade leaves no expected move, an
    informed one moves the mid ``m`` bps its way, and both see the same noise (the other
    trades' impact and the volatility over ``h``). With ``m`` fixed at 0 for one component
    and a common variance, ``f`` and ``m`` are identified from the shape of the markout
    distribution (its skew and kurtosis), not only from its mean ``f m``; the split is
    sharp when ``m`` is large against ``s`` and weak otherwise (then trust ``f m`` and
    read the standard errors). EM from several starts picks the best local maximum; the
    errors are a sandwich ``H^-1 S H^-1`` whose meat ``S`` is a Newey-West long-run
    covariance of the per-trade scores, because overlapping markouts are dependent.

    Add-on. ``A(delta) = E[x | depth >= delta]`` with a HAC error; the multiplier
    ``A(delta) / E[x]`` has a 95% interval from a moving-block bootstrap of the trade
    sequence (block = the HAC lag), which keeps the overlap dependence inside blocks.

    References
    ----------
    Glosten & Milgrom (1985); Easley, Kiefer, O'Hara & Paperman (1996) for the
    informed-share idea; Newey & West (1987); Kunsch (1989) for the block bootstrap.
    """
    t_ns, side, m_ns, mid_arr = _validated(trade_ts_ns, trade_side, mid_ts_ns, mid)
    if horizon_s <= 0:
        raise CalibrationError(f"horizon_s must be positive, got {horizon_s}")
    tm = _markout_unchecked(t_ns, side, m_ns, mid_arr, horizon_s)
    depth_all: Float64Array | None = None
    if trade_depth_bps is not None:
        depth_all = as_float_array("trade_depth_bps", trade_depth_bps, t_ns.size)
    elif trade_price is not None:
        price = as_float_array("trade_price", trade_price, t_ns.size)
        depth_all = side * (price - tm.mid_before) / tm.mid_before * BPS
    valid = tm.valid
    x = tm.markout_bps[valid]
    if x.size < 50:
        raise CalibrationError(
            f"only {x.size} trades have a complete {horizon_s} s markout; need at least 50"
        )
    if float(np.std(x)) <= 0.0:
        raise CalibrationError("all markouts are equal (the mid never moved); nothing to fit")
    times_s = (t_ns[valid] - t_ns[0]).astype(np.float64) / NS_PER_S
    n_lags = overlap_lags(times_s, horizon_s, quantile=lag_quantile)
    mean_all, mean_se = hac_mean(x, n_lags)

    mix = fit_markout_mixture(x, n_lags, mean_hint=mean_all)

    addon: DepthAddOn | None = None
    if depth_all is not None:
        depth = depth_all[valid]
        if depth_grid_bps is not None:
            grid = np.sort(np.asarray(depth_grid_bps, dtype=np.float64))
        else:
            positive = depth[depth > 0]
            grid = np.zeros(1)
            if positive.size:
                grid = np.unique(np.append(grid, np.quantile(positive, DEFAULT_DEPTH_QUANTILES)))
        addon = _depth_addon(
            x, depth, times_s, t_ns[valid], horizon_s, grid, mean_all, max(n_lags, 1), n_boot,
            min_trades_per_depth, seed, lag_quantile,
        )
    return AdverseSelectionFit(
        horizon_s=float(horizon_s),
        n_obs=int(x.size),
        hac_lags=int(n_lags),
        mean_markout_bps=mean_all,
        mean_markout_stderr_bps=mean_se,
        informed_share=mix.informed_share,
        informed_share_stderr=mix.informed_share_stderr,
        informed_markout_bps=mix.informed_markout_bps,
        informed_markout_stderr_bps=mix.informed_markout_stderr_bps,
        noise_sd_bps=mix.noise_sd_bps,
        noise_sd_stderr_bps=mix.noise_sd_stderr_bps,
        implied_mean_bps=mix.implied_mean_bps,
        implied_mean_stderr_bps=mix.implied_mean_stderr_bps,
        loglik=mix.loglik,
        loglik_one_component=mix.loglik_one_component,
        lr_statistic=mix.lr_statistic,
        em_iterations=mix.em_iterations,
        em_converged=mix.em_converged,
        addon=addon,
    )
