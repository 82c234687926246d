"""Feature and calibration assets: one asset per model, per symbol-day partition."""

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

import dagster as dg
import numpy as np
from matplotlib.figure import Figure

from assets.checks import checked_day
from assets.features import TRADE_COLUMNS, DayFeatures, build_features
from assets.fit_checks import FIT_CHECK_DESCRIPTION, FIT_CHECK_NAME, fit_verdict
from assets.fit_metadata import (
    Headline,
    adverse_selection_headline,
    correlation_headline,
    fill_depth_headline,
    funding_headline,
    hawkes_headline,
    heston_headline,
    markouts_headline,
    metadata_values,
    microprice_headline,
    volatility_headline,
    volume_profile_headline,
    vpin_headline,
)
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
from assets.model_plots_flow import correlation_plot
from assets.partitions import (
    partition_date,
    partition_symbol,
    symbol_day_check_spec,
    symbol_day_partitions,
    symbol_partitions,
)
from assets.plots import plot_dir, png_bytes, png_markdown, save_plot
from assets.resources import LakeResource
from calibration.correlation import CorrelationFit
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
    return dg.Output(
        features,
        metadata=metadata_values({_FEATURE_LABELS.get(k, k): v for k, v in summary.items()}),
    )


_FEATURE_LABELS = {
    "trades": "trades [count]",
    "quotes": "quotes [count]",
    "book_snapshots": "book snapshots [count]",
    "funding_rows": "funding prints in the window [count]",
    "median_spread_bps": "median spread [bps]",
    "volume": "volume [base units]",
    "history_days": "trailing window [days]",
}


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

Metadata = dict[str, dg.MetadataValue]

MODEL_FIT_TYPE = dg.PythonObjectDagsterType(ModelFit, name="ModelFit")
"""Dagster cannot read ``ModelFit[R]`` annotations; it checks the class, mypy the result type."""


def fit_check_spec(asset_name: str) -> dg.AssetCheckSpec:
    """The per-partition check that says, at a glance, whether the fit is usable."""
    return symbol_day_check_spec(FIT_CHECK_NAME, asset_name, FIT_CHECK_DESCRIPTION)


def fit_check_result(fit: ModelFit[FitResult]) -> dg.AssetCheckResult:
    """:func:`assets.fit_checks.fit_verdict` as a check result with the reason."""
    verdict = fit_verdict(fit)
    severity = (
        dg.AssetCheckSeverity.ERROR if verdict.severity == "error" else dg.AssetCheckSeverity.WARN
    )
    return dg.AssetCheckResult(
        check_name=FIT_CHECK_NAME,
        passed=verdict.passed,
        severity=severity,
        description=verdict.reason,
        metadata={"reason": dg.MetadataValue.text(verdict.reason)},
    )


def fit_metadata(fit: ModelFit[FitResult], headline: Mapping[str, object]) -> Metadata:
    """The status first (FAILED with the reason, or fitted), then the headline, then JSON."""
    meta: Metadata = {
        "status": dg.MetadataValue.text("fitted" if fit.ok else "FAILED"),
    }
    if fit.error:
        meta["reason"] = dg.MetadataValue.text(fit.error)
    meta.update(metadata_values(headline))
    if fit.warnings:
        meta["warnings"] = dg.MetadataValue.json(list(fit.warnings))
    meta["full result (JSON)"] = dg.MetadataValue.json(fit.to_dict())
    return meta


def plot_metadata(
    lake: LakeResource, symbol: str, day: dt.date, model: str, fig: Figure, title: str
) -> Metadata:
    """The plot inline (markdown) and as a file the calibration report embeds."""
    png = png_bytes(fig)
    path = save_plot(png, plot_dir(lake.paths, lake.venue, symbol, day), model)
    return {f"plot: {title}": png_markdown(png, title), "plot file": dg.MetadataValue.path(path)}


def _calibration_asset(
    model: str,
    fitter: Callable[[DayFeatures], R],
    headline: Callable[[R], Headline],
    plotter: Callable[[R, DayFeatures], Figure],
) -> dg.AssetsDefinition:
    name = f"{model}_fit"

    @dg.asset(
        name=name,
        partitions_def=symbol_day_partitions,
        group_name="calibration",
        compute_kind="numpy",
        dagster_type=MODEL_FIT_TYPE,
        check_specs=[fit_check_spec(name)],
        description=f"The {model.replace('_', ' ')} calibration of one symbol-day "
        "(calibration/; a failed fit records its reason, and its `fit_quality` check "
        f"fails with it). Cost: {COMPLEXITY[model]}",
    )
    def _asset(
        context: dg.AssetExecutionContext, lake: LakeResource, day_features: DayFeatures
    ) -> Iterator[dg.Output[ModelFit[R]] | dg.AssetCheckResult]:
        f = day_features
        fit = fit_model(model, lambda: fitter(f))
        if fit.ok:
            context.log.info(f"{model} {f.symbol} {f.day}: fitted")
        else:
            context.log.warning(f"{model} {f.symbol} {f.day}: {fit.error}")
        result = fit.result
        meta = fit_metadata(fit, {} if result is None else headline(result))
        if result is not None:
            title = f"{f.symbol} {f.day} {model.replace('_', ' ')}"
            meta.update(plot_metadata(lake, f.symbol, f.day, model, plotter(result, f), title))
        yield dg.Output(fit, metadata=meta)
        yield fit_check_result(fit)

    return _asset


F, P = MODEL_FITTERS, PLOTTERS
CALIBRATION_ASSETS = [
    _calibration_asset("hawkes", F["hawkes"], hawkes_headline, P["hawkes"]),
    _calibration_asset("volatility", F["volatility"], volatility_headline, P["volatility"]),
    _calibration_asset("heston", F["heston"], heston_headline, P["heston"]),
    _calibration_asset("fill_depth", F["fill_depth"], fill_depth_headline, P["fill_depth"]),
    _calibration_asset("markouts", F["markouts"], markouts_headline, P["markouts"]),
    _calibration_asset(
        "adverse_selection",
        F["adverse_selection"],
        adverse_selection_headline,
        P["adverse_selection"],
    ),
    _calibration_asset("microprice", F["microprice"], microprice_headline, P["microprice"]),
    _calibration_asset(
        "volume_profile", F["volume_profile"], volume_profile_headline, P["volume_profile"]
    ),
    _calibration_asset("vpin", F["vpin"], vpin_headline, P["vpin"]),
    _calibration_asset("funding", F["funding"], funding_headline, P["funding"]),
]


@dg.asset(
    partitions_def=symbol_day_partitions,
    group_name="calibration",
    dagster_type=MODEL_FIT_TYPE,
    check_specs=[fit_check_spec("correlation_fit")],
    description="EWMA correlations (1 min, 10 min, 1 h) of this symbol with the others "
    "of the day, hedge ratios and the regime flag. Cost: O(S m log m) for S symbols' m "
    "quotes each (sampled onto a fixed grid by binary search, then one EWMA pass).",
)
def correlation_fit(
    context: dg.AssetExecutionContext, lake: LakeResource, day_features: DayFeatures
) -> Iterator[dg.Output[ModelFit[CorrelationFit]] | dg.AssetCheckResult]:
    symbol, day = partition_symbol(context), partition_date(context)
    others = symbol_partitions.get_partition_keys()
    try:
        require_inputs(lake.paths, correlation_input_keys(lake.venue, symbol, day, others))
    except QualityGateError as exc:
        raise dg.Failure(description=f"correlation {symbol} {day}: {exc}") from exc
    mids: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for other_symbol in others:
        if other_symbol == symbol:
            continue
        bbo = lake.day("bbo", other_symbol, day).to_pandas()
        if len(bbo):
            mids[other_symbol] = (
                bbo["ts"].to_numpy(np.int64),
                0.5 * (bbo["bid_px"] + bbo["ask_px"]).to_numpy(float),
            )
    q = day_features.quotes
    mids[symbol] = (q["ts"].to_numpy(np.int64), q["mid"].to_numpy(float))
    fit = fit_correlation_model(mids, symbol, day_features.window_ns)
    result = fit.result
    meta = fit_metadata(fit, {} if result is None else correlation_headline(result))
    if result is not None:
        title = f"{symbol} {day} correlation"
        fig = correlation_plot(result, symbol, day)
        meta.update(plot_metadata(lake, symbol, day, "correlation", fig, title))
    yield dg.Output(fit, metadata=meta)
    yield fit_check_result(fit)
