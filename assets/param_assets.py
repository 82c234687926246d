"""Candidate param set -> out-of-sample validation on the next day -> (backtest of the
next day, assets/backtest_gate.py) -> publish gate.

The candidate and the validation re-run the quality gate (assets.inputs) on every
partition read when they write the document, so its ``partitions``/``quality`` list
exactly what the fits and the validation read, as checked.
"""

import datetime as dt
from typing import Any

import dagster as dg

from assets.backtest_gate import NIGHTLY_GATE
from assets.calibration_assets import CALIBRATION_ASSETS, correlation_fit
from assets.features import DayFeatures
from assets.held_out import held_out_date
from assets.history import HISTORY_DAYS, HistoryError, history_days, history_input_keys
from assets.inputs import (
    CheckedInputs,
    correlation_input_keys,
    day_input_keys,
    merged_quality,
    require_inputs,
)
from assets.model_fits import DayFits, FitResult, ModelFit, day_fits, typed_fit
from assets.param_building import build_document
from assets.partitions import (
    partition_date,
    partition_symbol,
    symbol_day_partitions,
    symbol_partitions,
)
from assets.plots import plot_dir
from assets.profile_borrowing import ProfileChoice, choose_profile, donor_correlations
from assets.queue_fit import queue_cancel_fit
from assets.quoting_fallbacks import PreviousSet
from assets.resources import LakeResource
from assets.validation import PRIMARY_SCORE, depth_support, score_document
from assets.validation_table import validation_markdown
from calibration.errors import CalibrationError
from calibration.queue_cancel import QueueCancelFit
from data_lake.quality_store import QualityGateError
from data_lake.registry import (
    ParamRegistry,
    current_code_version,
)
from data_lake.registry.document import QUOTING_UNITS, ParamSet
from data_lake.registry.report import write_report
from data_lake.writer import day_window_ns

__all__ = ["param_candidate", "param_validation", "published_params"]

_FIT_INPUTS = {
    a.key.path[-1]: dg.AssetIn(a.key)
    for a in [*CALIBRATION_ASSETS, correlation_fit, queue_cancel_fit]
}


def _fitted_inputs(lake: LakeResource, symbol: str, day: dt.date) -> CheckedInputs:
    """Every partition the fits of a symbol-day read, re-checked now (dg.Failure if not)."""
    try:
        days = history_days(lake.lake, lake.venue, symbol, day, HISTORY_DAYS)
        keys = [
            *day_input_keys(lake.venue, symbol, day),
            *history_input_keys(lake.venue, symbol, days),
            *correlation_input_keys(
                lake.venue, symbol, day, symbol_partitions.get_partition_keys()
            ),
        ]
        return require_inputs(lake.paths, keys)
    except (QualityGateError, HistoryError) as exc:
        raise dg.Failure(description=f"no candidate for {symbol} {day}: {exc}") from exc


def _window(inputs: CheckedInputs, day: dt.date) -> tuple[int, int]:
    """From the first day of any partition read (trailing window, funding) to the day's end."""
    first = min((r.key.date for r in inputs.records), default=day)
    return day_window_ns(min(first, day))[0], day_window_ns(day)[1]


@dg.asset(
    partitions_def=symbol_day_partitions,
    ins=_FIT_INPUTS,
    group_name="params",
    description="The candidate param document of one symbol-day, from every calibration. "
    "Cost: O(1) in n trades and m snapshots (assembles the fits' summaries).",
)
def param_candidate(
    context: dg.AssetExecutionContext, lake: LakeResource, **fits: ModelFit[FitResult]
) -> dg.Output[dict[str, Any]]:
    symbol, day = partition_symbol(context), partition_date(context)
    by_model = {name.removesuffix("_fit"): fit for name, fit in fits.items()}
    inputs = _fitted_inputs(lake, symbol, day)
    funding = lake.day("funding", symbol, day)
    last_funding = None
    if funding.num_rows:
        rate = funding.column("rate")[-1].as_py()
        interval_s = funding.column("interval_s")[-1].as_py()
        last_funding = float(rate) * 3600.0 / float(interval_s)
    previous = _previous_set(ParamRegistry(lake.paths), symbol)
    typed = day_fits(by_model)
    choice = _profile_choice(context, lake, symbol, day, typed)
    if choice is not None:
        inputs = inputs + choice.inputs
    try:
        document = build_document(
            symbol=symbol,
            venue=lake.venue,
            window_ns=_window(inputs, day),
            fits=typed,
            inputs=inputs,
            code_version=current_code_version(),
            last_funding_per_hour=last_funding,
            previous=previous,
            queue=typed_fit(by_model, "queue_cancel", QueueCancelFit),
        )
    except CalibrationError as exc:
        raise dg.Failure(description=f"{symbol} {day}: {exc}") from exc
    document["dagster_run_id"] = context.run_id  # the UI's /runs/<id>; outside the hash
    if choice is not None:
        document["models"]["volume_profile_choice"] = {
            **choice.borrowed.to_dict(),
            "skipped_donors": choice.skipped,
        }
    failed = sorted(m for m, f in by_model.items() if not f.ok)
    return dg.Output(
        document,
        metadata={
            "quoting": dg.MetadataValue.json(document["quoting"]),
            "fallbacks": dg.MetadataValue.json(document["fallbacks"]),
            "models_failed": dg.MetadataValue.json({m: by_model[m].error for m in failed}),
            "partitions_read": dg.MetadataValue.json(document["partitions"]),
        },
    )


def _profile_choice(
    context: dg.AssetExecutionContext, lake: LakeResource, symbol: str, day: dt.date,
    fits: DayFits,
) -> ProfileChoice | None:
    """Own hour-of-week profile, or a correlated donor's when the own history is short."""
    own = fits["volume_profile"].result
    if own is None:
        return None
    correlation = fits["correlation"].result
    try:
        choice = choose_profile(
            lake.lake, lake.venue, symbol, day, own, donor_correlations(correlation, symbol)
        )
    except CalibrationError as exc:
        context.log.warning(f"{symbol} {day}: volume profile not borrowed: {exc}")
        return None
    context.log.info(f"{symbol} {day}: volume profile: {choice.borrowed.reason}")
    for donor, why in choice.skipped.items():
        context.log.warning(f"{symbol} {day}: donor {donor} skipped: {why}")
    return choice


def _previous_set(registry: ParamRegistry, symbol: str) -> PreviousSet | None:
    """The symbol's last published set (failed models fall back on it), or None."""
    current = registry.published(symbol)
    if current is None or current.version is None:
        return None
    return PreviousSet(current.version, current.quoting.model_dump(mode="json"))


@dg.asset(
    partitions_def=symbol_day_partitions,
    group_name="params",
    description="Out-of-sample scores of the candidate and of the published set on the "
    "held-out day (`held_out_day`: the next day, gated), side by side with the gate's "
    "verdict, written into the candidate's validation block. Cost: O(n log n + n log m + "
    "m L) on the held-out day's n trades and m quotes/snapshots (one pass per score; the "
    "depth score sorts the depths).",
)
def param_validation(
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    param_candidate: dict[str, Any],
    held_out_day: DayFeatures | None,
) -> dg.Output[dict[str, Any]]:
    symbol, day = partition_symbol(context), partition_date(context)
    next_day = held_out_date(day)
    if held_out_day is None or held_out_day.trades.empty:
        raise dg.Failure(
            description=f"cannot validate {symbol} {day}: no usable held-out day {next_day} "
            f"(see the held_out_day check); ingest it first (job `ingest`, partition "
            f"{next_day}|{symbol})"
        )
    held_out = held_out_day
    try:
        checked = require_inputs(lake.paths, day_input_keys(lake.venue, symbol, next_day))
    except QualityGateError as exc:
        raise dg.Failure(
            description=f"cannot validate {symbol} {day} on the held-out day {next_day}: {exc}"
        ) from exc
    registry = ParamRegistry(lake.paths)
    published = registry.published(symbol)
    current = None if published is None else published.model_dump(mode="json")
    if current is None:
        context.log.info(f"{symbol}: no published set yet; nothing to compare with")
    # Both sets scored on the same held-out fill depths: the larger of their supports.
    support = depth_support(param_candidate)
    if current is not None:
        theirs = depth_support(current)
        support = {side: max(lo, theirs[side]) for side, lo in support.items()}
    scores = score_document(param_candidate, held_out, support)
    if PRIMARY_SCORE not in scores:
        raise dg.Failure(description=f"{symbol} {next_day}: too few events to score ({scores})")
    baseline: dict[str, float] = {}
    baseline_version = None
    if current is not None:
        baseline = score_document(current, held_out, support)
        baseline_version = current["version"]
    document = {
        **param_candidate,
        "quality": merged_quality(param_candidate["quality"], checked.quality()),
        "validation": {
            "primary": PRIMARY_SCORE,
            "scores": scores,
            "baseline": baseline,
            "baseline_version": baseline_version,
            "held_out": [f"{lake.venue}/{symbol}/{next_day.isoformat()}"],
        },
    }
    table = validation_markdown(scores, baseline, baseline_version, PRIMARY_SCORE, NIGHTLY_GATE)
    return dg.Output(
        document,
        metadata={
            "candidate vs published (held out)": dg.MetadataValue.md(table),
            "held-out partition": f"{lake.venue}/{symbol}/{next_day.isoformat()}",
            **{f"candidate {k}": dg.MetadataValue.float(float(v)) for k, v in scores.items()},
            "published version compared": baseline_version or "none",
        },
    )


@dg.asset(
    partitions_def=symbol_day_partitions,
    group_name="params",
    description="The publish gate's decision: the validated and backtested candidate "
    "published as `latest`, rejected with the reason stored, or `unchanged` (same fit as "
    "the published set: nothing new written). Shows the quoting block with units, the "
    "document's path, the run that made the set and its calibration report. Cost: O(1) "
    "in n trades and m snapshots (one JSON document; the registry's listing is O(versions)).",
)
def published_params(
    context: dg.AssetExecutionContext, lake: LakeResource, param_backtest: dict[str, Any]
) -> dg.MaterializeResult:
    registry = ParamRegistry(lake.paths, gate=NIGHTLY_GATE)
    decision = registry.submit(param_backtest)
    log = context.log.info if decision.accepted else context.log.warning
    log(f"{decision.symbol}: {decision.status} {decision.version}: {decision.reason or ''}")
    metadata: dict[str, Any] = {
        "status": dg.MetadataValue.text(str(decision.status)),
        "decision code": dg.MetadataValue.text(decision.code),
        "reason": dg.MetadataValue.text(decision.reason or "passed every rule"),
        "version": dg.MetadataValue.text(decision.version or "none"),
    }
    as_json = {"decision (JSON)": dg.MetadataValue.json(decision.to_dict())}
    if decision.version is None:
        metadata["report"] = dg.MetadataValue.text(
            f"none: the set fails the schema; kept as {decision.document}"
        )
        return dg.MaterializeResult(metadata={**metadata, **as_json})
    doc = registry.load(decision.symbol, decision.version)
    document_path = registry.path_of(decision.symbol, decision.version)
    day = partition_date(context)
    saved = plot_dir(lake.paths, lake.venue, doc.symbol, day)
    plots = {p.stem: p for p in sorted(saved.glob("*.png"))}
    report = write_report(document_path, doc, decision.to_dict(), plots)
    metadata.update(
        {
            "quoting block": dg.MetadataValue.md(quoting_markdown(doc)),
            "document": dg.MetadataValue.path(str(document_path)),
            "report": dg.MetadataValue.path(str(report)),
            "report (open in a browser)": dg.MetadataValue.url(report.as_uri()),
        }
    )
    if doc.dagster_run_id:
        metadata["made by run"] = dg.MetadataValue.dagster_run(doc.dagster_run_id)
    return dg.MaterializeResult(metadata={**metadata, **as_json})


def quoting_markdown(doc: ParamSet) -> str:
    """The quoting block as a markdown table with units (docs/architecture.md §4)."""
    lines = ["| field | value | unit |", "|---|---|---|"]
    for field, value in doc.quoting.model_dump(mode="json").items():
        if value is None or isinstance(value, (dict, list)):
            continue
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        lines.append(f"| {field} | {shown} | {QUOTING_UNITS.get(field, '')} |")
    return "\n".join(lines)
