"""Feature and calibration assets: one asset per model, per symbol-day partition."""

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

import dagster as dg
import numpy as np
from matplotlib.figure import Figure

from assets.checks import checked_day
from assets.features import TRADE_COLUMNS, DayFeatures, build_features
from assets.history import HISTORY_DAYS, HistoryError, load_history
from assets.inputs import (
    FUNDING_HISTORY_DAYS,
    correlation_input_keys,
    day_input_keys,
    require_inputs,
)
from assets.model_fits import (
    MODEL_FITTERS,
    FitResult,
    ModelFit,
    fit_correlation_model,
    fit_model,
)
from assets.model_plots import PLOTTERS
from assets.partitions import (
    partition_date,
    partition_symbol,
    symbol_day_partitions,
    symbol_partitions,
)
from assets.plots import figure_metadata
from assets.resources import LakeResource
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
from data_lake.quality_store import QualityGateError
from data_lake.writer import DAY_NS, day_window_ns

__all__ = ["CALIBRATION_ASSETS", "correlation_fit", "day_features", "load_features"]

def load_features(
    lake: LakeResource, symbol: str, day: dt.date, *, history_days: int = 0
) -> DayFeatures:
    """Read one symbol-day from the lake and derive its features.

    ``history_days`` > 0 also reads the trailing window the multi-day fits need
    (:func:`assets.history.load_history`: derived tables of gated days); 0 reads the
    day alone (the held-out day of the validation).

    Raises data_lake.quality_store.QualityGateError unless every partition read (the
    day's trades, bbo and book, the funding window, the window's sources) passed its
    blocking checks; assets.history.HistoryError when the window cannot be read.
    """
    require_inputs(lake.paths, day_input_keys(lake.venue, symbol, day))
    history = None
    if history_days > 0:
        history = load_history(lake.lake, lake.venue, symbol, day, history_days)
    start, end = day_window_ns(day)
    # The fits never read trade ids: a million Python strings per day, left in the file.
    trades = lake.lake.read(
        "trades", symbol=symbol, venue=lake.venue, start_ns=start, end_ns=end,
        columns=list(TRADE_COLUMNS),
    ).to_pandas()
    bbo = lake.day("bbo", symbol, day).to_pandas()
    book = lake.day("book", symbol, day)  # list columns: read as Arrow (assets.features)
    funding = lake.lake.frame(
        "funding",
        symbol=symbol,
        venue=lake.venue,
        start_ns=start - FUNDING_HISTORY_DAYS * DAY_NS,
        end_ns=end,
    )
    return build_features(
        lake.venue,
        symbol,
        day,
        trades,
        bbo,
        book,
        funding,
        history=history,
    )


@dg.asset(
    partitions_def=symbol_day_partitions,
    deps=[checked_day],
    group_name="features",
    description=(
        "Quotes (mid, spread, book imbalance at 1/3/5 levels), trades with the prevailing "
        "quote, 1-minute clock bars and volume bars of one symbol-day, and its trailing "
        "window (the derived tables of the checked days up to it). "
        "Cost: O(n log m + m L) for n trades and m quotes or snapshots of L levels (reads "
        "name the day's files; each trade finds its prevailing quote by binary search)."
    ),
)
def day_features(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.Output[DayFeatures]:
    symbol, day = partition_symbol(context), partition_date(context)
    # Checks may have run in another run (the ingest job): their record is the gate here.
    try:
        features = load_features(lake, symbol, day, history_days=HISTORY_DAYS)
    except (QualityGateError, HistoryError) as exc:
        raise dg.Failure(description=f"{symbol} {day}: {exc}") from exc
    summary = features.summary()
    context.log.info(f"features {features.symbol} {features.day}: {summary}")
    return dg.Output(features, metadata={k: float(v) for k, v in summary.items()})


R = TypeVar("R", bound=FitResult)

# Each fit's cost in the day's n trades and m quotes or book snapshots (L levels each),
# shown in its asset description. B (bootstrap resamples), K (candidate tail cut-offs),
# H (markout horizons) and I (optimiser passes) are fixed constants of the fits.
COMPLEXITY: dict[str, str] = {
    "hawkes": "O(I n): each likelihood pass is one O(n) recursion over the exponential "
    "kernels; I passes over a few starts.",
    "volatility": "O(m log m) (quotes sampled onto 1 s / 10 s / 60 s grids by binary "
    "search, then O(grid) estimators).",
    "heston": "O(D) in the D days of 5-minute bars of the trailing window; independent of "
    "n and m.",
    "fill_depth": "O(n log m + n log n + B K n) (depths by binary search in the quotes, one "
    "sort, B bootstrap resamples each scanning K tail cut-offs in O(n); B, K fixed).",
    "markouts": "O(H n log m) (each trade's mid at H horizons by binary search, HAC errors "
    "in O(n) per horizon).",
    "adverse_selection": "O(n log m + I n + B n): markouts by binary search, I O(n) "
    "likelihood passes (the starts screened on a 100,000-markout subsample), an O(n) HAC "
    "sandwich and B block-bootstrap resamples from cumulative sums.",
    "microprice": "O(m L + n log m) (features per snapshot, trades binned by binary "
    "search, a ridge on a fixed number of regressors).",
    "volume_profile": "O(n) (one bincount into 168 hour-of-week bins).",
    "vpin": "O(n) (volume buckets by cumulative sums; binary search over bucket edges).",
    "funding": "O(F) in the F funding prints of the funding window; independent of n, m.",
}

Headline = dict[str, float | str | None]
"""The few numbers of a fit shown in the asset table."""
Metadata = dict[str, dg.MetadataValue | float | str]

MODEL_FIT_TYPE = dg.PythonObjectDagsterType(ModelFit, name="ModelFit")
"""Dagster cannot read ``ModelFit[R]`` annotations; it checks the class, mypy the result type."""


def _metadata(fit: ModelFit[FitResult], headline: Headline) -> Metadata:
    meta: Metadata = {"ok": fit.ok, "summary": dg.MetadataValue.json(fit.to_dict())}
    if fit.error:
        meta["reason"] = fit.error
    if fit.warnings:
        meta["warnings"] = dg.MetadataValue.json(list(fit.warnings))
    for key, value in headline.items():
        if isinstance(value, (int, float, np.floating)) and np.isfinite(value):
            meta[key] = float(value)
        elif value is not None:
            meta[key] = str(value)
    return meta


def _hawkes_headline(r: HawkesFit) -> Headline:
    return {
        "branching_ratio": r.branching_ratio,
        "mu_buy": float(r.mu[0]),
        "mu_sell": float(r.mu[1]),
        "ks_pvalue_pooled": r.ks_pvalue_pooled,
        "n_obs": r.n_obs,
        "n_merged": r.n_merged,
    }


def _volatility_headline(r: VolatilityEstimate) -> Headline:
    s = r.sigma_effective
    return {
        "sigma_eff_bps_per_sqrt_s": s.sigma_bps,
        "sigma_clean": s.sigma_clean_bps,
        "sigma_total": s.sigma_total_bps,
        "jump_share": s.jump_share,
    }


def _heston_headline(r: HestonFit) -> Headline:
    return {
        "theta": r.theta,
        "kappa": r.kappa,
        "xi": r.xi,
        "rho": r.rho,
        "identifiable": str(r.identifiable),
        "n_obs": r.n_obs,
    }


def _fill_depth_headline(r: FillDepthSides) -> Headline:
    return {
        "best": r.pooled.best,
        "kappa_bid": r.bid.kappa_glft,
        "kappa_ask": r.ask.kappa_glft,
        "A_bid": r.bid.A_glft,
        "A_ask": r.ask.A_glft,
        "n_obs": r.pooled.n_obs,
    }


def _markouts_headline(r: MarkoutTable) -> Headline:
    return {f"markout_{h}s_bps": m for h, m in zip(r.horizons_s, r.overall.mean_bps, strict=True)}


def _adverse_selection_headline(r: AdverseSelectionFit) -> Headline:
    return {
        "mean_markout_bps": r.mean_markout_bps,
        "informed_share": r.informed_share,
        "informed_markout_bps": r.informed_markout_bps,
        "n_obs": r.n_obs,
    }


def _microprice_headline(r: MicropriceFit) -> Headline:
    return {"oos_r2": r.oos_r2, "use_fallback": str(r.use_fallback), "alpha": r.alpha}


def _volume_profile_headline(r: VolumeProfile) -> Headline:
    return {}


def _vpin_headline(r: VPINResult) -> Headline:
    return {"latest": r.latest, "latest_percentile": r.latest_percentile}


def _funding_headline(r: FundingOUFit) -> Headline:
    return {"kappa": r.kappa, "theta": r.theta, "sigma": r.sigma, "n_obs": r.n_obs}


def _calibration_asset(
    model: str,
    fitter: Callable[[DayFeatures], R],
    headline: Callable[[R], Headline],
    plotter: Callable[[R, DayFeatures], Figure] | None = None,
) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"{model}_fit",
        partitions_def=symbol_day_partitions,
        group_name="calibration",
        compute_kind="numpy",
        dagster_type=MODEL_FIT_TYPE,
        description=f"The {model.replace('_', ' ')} calibration of one symbol-day "
        f"(calibration/; a failed fit records its reason). Cost: {COMPLEXITY[model]}",
    )
    def _asset(
        context: dg.AssetExecutionContext, day_features: DayFeatures
    ) -> dg.Output[ModelFit[R]]:
        fit = fit_model(model, lambda: fitter(day_features))
        if fit.ok:
            context.log.info(f"{model} {day_features.symbol} {day_features.day}: fitted")
        else:
            context.log.warning(f"{model} {day_features.symbol} {day_features.day}: {fit.error}")
        result = fit.result
        meta = _metadata(fit, {} if result is None else headline(result))
        if plotter is not None and result is not None:
            meta["plot"] = figure_metadata(plotter(result, day_features), model)
        return dg.Output(fit, metadata=meta)

    return _asset


F, P = MODEL_FITTERS, PLOTTERS
CALIBRATION_ASSETS = [
    _calibration_asset("hawkes", F["hawkes"], _hawkes_headline, P["hawkes"]),
    _calibration_asset("volatility", F["volatility"], _volatility_headline, P["volatility"]),
    _calibration_asset("heston", F["heston"], _heston_headline),
    _calibration_asset("fill_depth", F["fill_depth"], _fill_depth_headline, P["fill_depth"]),
    _calibration_asset("markouts", F["markouts"], _markouts_headline, P["markouts"]),
    _calibration_asset("adverse_selection", F["adverse_selection"], _adverse_selection_headline),
    _calibration_asset("microprice", F["microprice"], _microprice_headline),
    _calibration_asset("volume_profile", F["volume_profile"], _volume_profile_headline),
    _calibration_asset("vpin", F["vpin"], _vpin_headline),
    _calibration_asset("funding", F["funding"], _funding_headline),
]


@dg.asset(
    partitions_def=symbol_day_partitions,
    group_name="calibration",
    dagster_type=MODEL_FIT_TYPE,
    description="EWMA correlations (1 min, 10 min, 1 h) of this symbol with the others "
    "of the day, hedge ratios and the regime flag. Cost: O(S m log m) for S symbols' m "
    "quotes each (sampled onto a fixed grid by binary search, then one EWMA pass).",
)
def correlation_fit(
    context: dg.AssetExecutionContext, lake: LakeResource, day_features: DayFeatures
) -> dg.Output[ModelFit[CorrelationFit]]:
    symbol, day = partition_symbol(context), partition_date(context)
    others = symbol_partitions.get_partition_keys()
    try:
        require_inputs(lake.paths, correlation_input_keys(lake.venue, symbol, day, others))
    except QualityGateError as exc:
        raise dg.Failure(description=f"correlation {symbol} {day}: {exc}") from exc
    mids: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for other in symbol_day_partitions.get_partition_keys():
        other_symbol = other.keys_by_dimension["symbol"]
        if other.keys_by_dimension["date"] != day.isoformat() or other_symbol == symbol:
            continue
        bbo = lake.day(
            "bbo",
            other_symbol,
            day,
        ).to_pandas()
        if len(bbo):
            mids[other_symbol] = (
                bbo["ts"].to_numpy(np.int64),
                0.5 * (bbo["bid_px"] + bbo["ask_px"]).to_numpy(float),
            )
    q = day_features.quotes
    mids[symbol] = (q["ts"].to_numpy(np.int64), q["mid"].to_numpy(float))
    fit = fit_correlation_model(mids, symbol, day_features.window_ns)
    meta = _metadata(fit, {})
    if fit.result is not None:
        meta["symbols"] = ", ".join(sorted(mids))
        meta["summary"] = dg.MetadataValue.json(fit.result.to_dict())
    return dg.Output(fit, metadata=meta)
