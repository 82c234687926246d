"""One function per model: a day's features in, a :class:`ModelFit` out. No Dagster.

A model that cannot be fitted on the day records its reason instead of failing the
whole calibration; the candidate decides which models it cannot do without.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypedDict, TypeVar

import numpy as np
import pandas as pd

from assets.derived import MID_STEP_S, RV_INTERVAL_S
from assets.features import DayFeatures
from calibration.clock.volume_clock import (
    HOURS_PER_WEEK,
    VolumeProfile,
    hour_of_week,
    volume_profile,
    vpin,
)
from calibration.clock.vpin import VPINResult
from calibration.correlation import CorrelationFit, ewma_covariance
from calibration.errors import CalibrationError
from calibration.fill_depth import FillDepthSides, fit_fill_depth_sides
from calibration.fill_depth.book_depth import TradeDepths, book_depth_kappa, trade_depths_bps
from calibration.funding import FundingOUFit, fit_funding_ou
from calibration.hawkes import HawkesFit, fit_hawkes
from calibration.hawkes.burst_toxicity import fit_burst_toxicity
from calibration.order_flow.adverse_selection import AdverseSelectionFit, fit_adverse_selection
from calibration.order_flow.markouts import MarkoutTable, markouts
from calibration.order_flow.microprice import MicropriceFit, fit_microprice
from calibration.volatility import VolatilityEstimate, estimate_volatility
from calibration.volatility.jump_sign import jump_signs
from calibration.volatility.rv_series import RealizedVarianceSeries, RvBars, series_from_bars
from calibration.volatility.stochastic_vol import HestonFit, fit_heston, fit_heston_series
from data_lake.writer import day_window_ns

__all__ = [
    "MODEL_FITTERS",
    "DayFits",
    "FitResult",
    "ModelFit",
    "ModelFitters",
    "day_fits",
    "fit_correlation_model",
    "fit_items",
    "fit_model",
    "hawkes_inputs",
    "heston_series",
    "hourly_profile",
    "print_depths",
    "snapshot_jump_signs",
    "trade_depths",
    "typed_fit",
]

_NS = 1_000_000_000
HESTON_MEASURE = "bipower"  # 5-minute variance the Heston fit reads (see _heston)
PROFILE_PRIOR_WEIGHT = 1.0  # no forgetting inside the trailing window (see _volume_profile)
MICROPRICE_SAMPLE_INTERVAL_S = None  # the micro-price samples every book snapshot


class FitResult(Protocol):
    """What the pipeline needs of every calibration result: a JSON view for the document."""

    def to_dict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=FitResult)
R_co = TypeVar("R_co", bound=FitResult, covariant=True)


@dataclass(frozen=True)
class ModelFit(Generic[R_co]):
    """A model's result on one symbol-day, or why there is none.

    ``ModelFit[HawkesFit]`` holds a :class:`~calibration.hawkes.HawkesFit` when the fit
    worked; ``result`` is None (and ``error`` says why) when it did not.
    """

    model: str
    result: R_co | None
    error: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.result is not None

    def to_dict(self) -> dict[str, Any]:
        if self.result is None:
            return {"error": self.error, "warnings": list(self.warnings)}
        return {**self.result.to_dict(), "warnings": list(self.warnings)}


def fit_model(model: str, fitter: Callable[[], R]) -> ModelFit[R]:
    """Run a fitter, turning CalibrationError into a recorded reason.

    A numerical failure inside the estimator (an ArithmeticError or a singular matrix)
    is recorded the same way, naming the exception: the fit fails, its check says so,
    the quoter falls back to its wider setting, and the other fits of the day still run.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fitter()
        except CalibrationError as exc:
            return ModelFit(model, None, str(exc), tuple(str(w.message) for w in caught))
        except (ArithmeticError, np.linalg.LinAlgError) as exc:
            reason = (f"numerical failure in the {model} estimator: {type(exc).__name__}: "
                      f"{exc} (an estimator bug: report it with the partition)")
            return ModelFit(model, None, reason, tuple(str(w.message) for w in caught))
    return ModelFit(model, result, None, tuple(sorted({str(w.message) for w in caught})))


def hawkes_inputs(f: DayFeatures) -> tuple[np.ndarray, np.ndarray, float]:
    """Trade times (s from the day start), marks (0 buy, 1 sell), window length (s)."""
    start, end = f.window_ns
    times = (f.trades["ts"].to_numpy(np.int64) - start) / _NS
    marks = (f.trades["side"].to_numpy() < 0).astype(np.int64)
    return times, marks, (end - start) / _NS


def _hawkes(f: DayFeatures) -> HawkesFit:
    """The bivariate (buy, sell) kernel, then the burst toxicity it implies on the same
    day (the extra markout per unit excess intensity; None where it cannot be measured,
    and the quoter then widens by its setting instead)."""
    times, marks, window = hawkes_inputs(f)
    # Hourly baseline: intraday seasonality otherwise leaks into alpha and beta.
    edges = np.arange(0.0, window + 1.0, 3600.0)
    fit = fit_hawkes(times, marks, window=(0.0, window), baseline_edges=edges)
    decay = fit.effective_decay_per_s()
    if decay is None or fit.dim != 2 or not 0.0 <= fit.branching_ratio < 1.0:
        return fit
    t, q = f.trades, f.quotes
    try:
        toxicity = fit_burst_toxicity(
            t["ts"].to_numpy(np.int64), t["side"].to_numpy(np.int64),
            q["ts"].to_numpy(np.int64), q["mid"].to_numpy(float),
            mu=fit.mu, branching=np.nan_to_num(fit.alpha), decay_per_s=decay,
        )
    except CalibrationError:
        return fit
    return dataclasses.replace(fit, burst_toxicity=toxicity)


def _volatility(f: DayFeatures) -> VolatilityEstimate:
    """Sigma at 10 s, or at 60 s when the 10 s returns are autocorrelated (informed moves
    ramping over tens of seconds): the rate inventory is exposed to over its holding time."""
    q = f.quotes
    return estimate_volatility(
        q["ts"].to_numpy(np.int64), q["mid"].to_numpy(float), signature_z=2.0
    )


def _heston(f: DayFeatures) -> HestonFit:
    """Heston on the trailing window's 5-minute bipower bars (the day alone without one).

    Bipower, not RV: the synthetic and real markets jump, and a jump is a one-bar spike
    in RV that hides the persistence the AR coefficient reads (see ``series_from_bars``).
    """
    if f.history is None:
        q = f.quotes
        return fit_heston(
            q["ts"].to_numpy(np.int64), q["mid"].to_numpy(float), rv_interval_s=RV_INTERVAL_S
        )
    return fit_heston_series(heston_series(f))


def heston_series(f: DayFeatures) -> RealizedVarianceSeries:
    """The trailing window's annualised 5-minute variance series the Heston fit reads."""
    if f.history is None:
        raise CalibrationError(f"{f.symbol} {f.day}: no trailing window to build a series from")
    b = f.history.rv_5m
    bars = RvBars(
        rv=b["rv"].to_numpy(float),
        returns=b["ret"].to_numpy(float),
        n_returns=b["n_returns"].to_numpy(np.int64),
        quarticity=b["quarticity"].to_numpy(float),
        ac1=b["ac1"].to_numpy(float),
        bipower=b["bipower"].to_numpy(float),
    )
    return series_from_bars(
        bars, interval_s=RV_INTERVAL_S, sample_interval_s=MID_STEP_S, measure=HESTON_MEASURE
    )


def trade_depths(f: DayFeatures) -> TradeDepths:
    t, q = f.trades, f.quotes
    return trade_depths_bps(
        t["ts"].to_numpy(np.int64),
        t["price"].to_numpy(float),
        t["side"].to_numpy(np.int64),
        q["ts"].to_numpy(np.int64),
        book_bid_px=q["bid_px"].to_numpy(float),
        book_ask_px=q["ask_px"].to_numpy(float),
    )


def _fill_depth(f: DayFeatures, *, n_boot: int = 200, seed: int = 0) -> FillDepthSides:
    depths = trade_depths(f)
    keep = depths.depth_bps >= 0  # prints on the near side of a stale mid carry no depth
    levels = f.book_levels
    book = None
    if levels["ts"].shape[0]:
        book = book_depth_kappa(
            levels["bid_px"], levels["bid_sz"], levels["ask_px"], levels["ask_sz"]
        )
    start, end = f.observed_ns  # fills per second of recorded market, not of the calendar
    return fit_fill_depth_sides(
        depths.depth_bps[keep],
        depths.side[keep],
        book=book,
        seed=seed,
        n_boot=n_boot,
        window_s=(end - start) / _NS,
    )


def _markouts(f: DayFeatures) -> MarkoutTable:
    t, q = f.trades, f.quotes
    return markouts(
        t["ts"].to_numpy(np.int64),
        t["side"].to_numpy(np.int64),
        t["size"].to_numpy(float),
        q["ts"].to_numpy(np.int64),
        q["mid"].to_numpy(float),
    )


def print_depths(f: DayFeatures) -> np.ndarray:
    """Each trade print's order depth, bps (>= 0; 0 where its order has no depth).

    A sweep prints many trades at one timestamp and side: each print carries its order's
    depth (same ts and side), as the adverse-selection add-on reads them.
    """
    t = f.trades
    depths = trade_depths(f)
    order_key = depths.ts_ns * 4 + (depths.side + 1)
    print_key = t["ts"].to_numpy(np.int64) * 4 + (t["side"].to_numpy(np.int64) + 1)
    pos = np.searchsorted(order_key, print_key)
    pos = np.clip(pos, 0, max(len(order_key) - 1, 0))
    matched = order_key[pos] == print_key if len(order_key) else np.zeros(len(t), bool)
    depth = np.where(matched, depths.depth_bps[pos] if len(order_key) else 0.0, np.nan)
    return np.where(np.isfinite(depth), np.maximum(depth, 0.0), 0.0)


def _adverse_selection(f: DayFeatures) -> AdverseSelectionFit:
    t, q = f.trades, f.quotes
    return fit_adverse_selection(
        t["ts"].to_numpy(np.int64),
        t["side"].to_numpy(np.int64),
        q["ts"].to_numpy(np.int64),
        q["mid"].to_numpy(float),
        trade_depth_bps=print_depths(f),
        n_boot=100,
    )


def snapshot_jump_signs(f: DayFeatures) -> np.ndarray:
    """The jump state at each book snapshot: +1/-1 while a jump of the quotes' mid is in
    progress, else 0 (calibration.volatility.jump_sign: 1 s returns beyond 5 local
    bipower sigmas, held 5 s; past quotes only)."""
    q = f.quotes
    snaps = f.book_levels["ts"]
    if not len(q) or not snaps.shape[0]:
        return np.zeros(snaps.shape[0])
    return jump_signs(q["ts"].to_numpy(np.int64), q["mid"].to_numpy(float), snaps)


def _microprice(f: DayFeatures) -> MicropriceFit:
    """Ridge micro-price at every book snapshot, the target read from the quotes.

    Snapshots can be sparser than the 300 ms horizon (1 s on the synthetic venue); the
    quotes (bbo, every change) give the mid at t + 300 ms instead. The jump state
    (:func:`snapshot_jump_signs`) is a regressor: a mid that just jumped may keep going
    or revert.
    """
    levels, t, q = f.book_levels, f.trades, f.quotes
    return fit_microprice(
        levels["ts"],
        np.nan_to_num(levels["bid_px"]),
        np.nan_to_num(levels["bid_sz"]),
        np.nan_to_num(levels["ask_px"]),
        np.nan_to_num(levels["ask_sz"]),
        trade_ts_ns=t["ts"].to_numpy(np.int64),
        trade_side=t["side"].to_numpy(np.int64),
        trade_size=t["size"].to_numpy(float),
        jump_sign=snapshot_jump_signs(f),
        sample_interval_s=MICROPRICE_SAMPLE_INTERVAL_S,
        target_ts_ns=q["ts"].to_numpy(np.int64),
        target_mid=q["mid"].to_numpy(float),
    )


def hourly_profile(hours: pd.DataFrame) -> VolumeProfile | None:
    """The profile of stored ``volume_1h`` rows (None when there are none)."""
    if hours.empty:
        return None
    bins = hour_of_week(hours["ts"].to_numpy(np.int64))

    def per_bin(col: str) -> tuple[float, ...]:
        weights = hours[col].to_numpy(float)
        return tuple(float(v) for v in np.bincount(bins, weights, minlength=HOURS_PER_WEEK))

    return VolumeProfile(per_bin("volume"), per_bin("exposure_h"), per_bin("n_trades"))


def _volume_profile(f: DayFeatures, prior: VolumeProfile | None = None) -> VolumeProfile:
    """The day's hour-of-week profile warm-started from the trailing window's days.

    The previous days' ``volume_1h`` statistics are merged oldest first without
    forgetting (``PROFILE_PRIOR_WEIGHT``: the window itself bounds the memory, and
    geometric forgetting inside one week would leave bins below one hour of exposure).
    """
    start, end = f.window_ns
    if prior is None and f.history is not None:
        for day in f.history.days[:-1]:
            lo, hi = day_window_ns(day)
            hours = f.history.volume_1h
            day_profile = hourly_profile(hours[(hours["ts"] >= lo) & (hours["ts"] < hi)])
            if day_profile is None:
                continue
            prior = (
                day_profile
                if prior is None
                else prior.merged(day_profile, prior_weight=PROFILE_PRIOR_WEIGHT)
            )
    return volume_profile(
        f.trades["ts"].to_numpy(np.int64),
        f.trades["size"].to_numpy(float),
        start_ns=start,
        end_ns=end,
        prior=prior,
        prior_weight=PROFILE_PRIOR_WEIGHT,
    )


def _vpin(f: DayFeatures) -> VPINResult:
    t = f.trades
    return vpin(
        t["ts"].to_numpy(np.int64),
        t["price"].to_numpy(float),
        t["size"].to_numpy(float),
        t["side"].to_numpy(np.int64),
        bucket_volume=float(t["size"].sum()) / 200.0,
    )


def _funding(f: DayFeatures) -> FundingOUFit:
    """Funding OU on the funding window's prints (assets.inputs.FUNDING_HISTORY_DAYS)."""
    fund = f.funding
    interval = float(fund["interval_s"].iloc[0]) if len(fund) else 3600.0
    return fit_funding_ou(
        fund["ts"].to_numpy(np.int64), fund["rate"].to_numpy(float), interval_s=interval
    )


class ModelFitters(TypedDict):
    """Each model's fitter, typed by the result it returns (checked against calibration/)."""

    hawkes: Callable[[DayFeatures], HawkesFit]
    volatility: Callable[[DayFeatures], VolatilityEstimate]
    heston: Callable[[DayFeatures], HestonFit]
    fill_depth: Callable[[DayFeatures], FillDepthSides]
    markouts: Callable[[DayFeatures], MarkoutTable]
    adverse_selection: Callable[[DayFeatures], AdverseSelectionFit]
    microprice: Callable[[DayFeatures], MicropriceFit]
    volume_profile: Callable[[DayFeatures], VolumeProfile]
    vpin: Callable[[DayFeatures], VPINResult]
    funding: Callable[[DayFeatures], FundingOUFit]


MODEL_FITTERS: ModelFitters = {
    "hawkes": _hawkes,
    "volatility": _volatility,
    "heston": _heston,
    "fill_depth": _fill_depth,
    "markouts": _markouts,
    "adverse_selection": _adverse_selection,
    "microprice": _microprice,
    "volume_profile": _volume_profile,
    "vpin": _vpin,
    "funding": _funding,
}


def fit_correlation_model(
    mids: Mapping[str, tuple[np.ndarray, np.ndarray]], hedge_symbol: str, window: tuple[int, int]
) -> ModelFit[CorrelationFit]:
    """EWMA correlations of the day's mids across symbols, hedged on ``hedge_symbol``."""
    return fit_model(
        "correlation",
        lambda: ewma_covariance(
            dict(mids), hedge_symbol=hedge_symbol, start_ns=window[0], end_ns=window[1]
        ),
    )


class DayFits(TypedDict):
    """Every model's fit of one symbol-day, each typed by its result."""

    hawkes: ModelFit[HawkesFit]
    volatility: ModelFit[VolatilityEstimate]
    heston: ModelFit[HestonFit]
    fill_depth: ModelFit[FillDepthSides]
    markouts: ModelFit[MarkoutTable]
    adverse_selection: ModelFit[AdverseSelectionFit]
    microprice: ModelFit[MicropriceFit]
    volume_profile: ModelFit[VolumeProfile]
    vpin: ModelFit[VPINResult]
    funding: ModelFit[FundingOUFit]
    correlation: ModelFit[CorrelationFit]


def typed_fit(fits: Mapping[str, ModelFit[FitResult]], model: str, kind: type[R]) -> ModelFit[R]:
    """``fits[model]``, checked to hold a ``kind`` (or no result); the typed view of it.

    Dagster hands the calibration assets' outputs over untyped; this is where their
    result types are checked once.
    """
    if model not in fits:
        raise KeyError(f"no {model} fit among {sorted(fits)}; is its asset an input?")
    fit = fits[model]
    result = fit.result
    if result is None:
        return ModelFit(fit.model, None, fit.error, fit.warnings)
    if not isinstance(result, kind):
        raise TypeError(
            f"the {model} fit holds a {type(result).__name__}, expected {kind.__name__}: "
            "the asset and assets.model_fits.DayFits disagree"
        )
    return ModelFit(fit.model, result, fit.error, fit.warnings)


def day_fits(fits: Mapping[str, ModelFit[FitResult]]) -> DayFits:
    """The typed bundle of a day's fits from a mapping keyed by model name."""
    return DayFits(
        hawkes=typed_fit(fits, "hawkes", HawkesFit),
        volatility=typed_fit(fits, "volatility", VolatilityEstimate),
        heston=typed_fit(fits, "heston", HestonFit),
        fill_depth=typed_fit(fits, "fill_depth", FillDepthSides),
        markouts=typed_fit(fits, "markouts", MarkoutTable),
        adverse_selection=typed_fit(fits, "adverse_selection", AdverseSelectionFit),
        microprice=typed_fit(fits, "microprice", MicropriceFit),
        volume_profile=typed_fit(fits, "volume_profile", VolumeProfile),
        vpin=typed_fit(fits, "vpin", VPINResult),
        funding=typed_fit(fits, "funding", FundingOUFit),
        correlation=typed_fit(fits, "correlation", CorrelationFit),
    )


def fit_items(
    fits: Mapping[str, ModelFit[FitResult]] | DayFits,
) -> list[tuple[str, ModelFit[FitResult]]]:
    """(model, fit) pairs sorted by model name: the generic view for the document."""
    out: list[tuple[str, ModelFit[FitResult]]] = []
    for name, fit in sorted(fits.items()):
        if not isinstance(fit, ModelFit):
            raise TypeError(f"{name}: expected a ModelFit, got {type(fit).__name__}")
        out.append((name, fit))
    return out
