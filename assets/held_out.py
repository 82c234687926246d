"""The held-out day: the day after the fit day, an explicit gated input of the validation
and of the backtest (docs/architecture.md §5).

``held_out_day`` of partition ``D|S`` reads symbol S on day D+1 after its quality record
passes the gate; its blocking check ``held_out_passes_quality`` fails (with the gate's
reason) when D+1 is not ingested or failed its checks, and then nothing downstream runs.
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg

from assets.calibration_assets import load_features
from assets.features import DayFeatures
from assets.inputs import day_input_keys, require_inputs
from assets.memory import release_freed_memory
from assets.partitions import (
    partition_date,
    partition_symbol,
    symbol_day_check_spec,
    symbol_day_partitions,
)
from assets.resources import LakeResource
from data_lake.quality_store import QualityGateError

__all__ = ["HELD_OUT_CHECK", "held_out_date", "held_out_day"]

HELD_OUT_CHECK = "held_out_passes_quality"


def held_out_date(fit_day: dt.date) -> dt.date:
    """The day the candidate of ``fit_day`` is scored and backtested on."""
    return fit_day + dt.timedelta(days=1)


@dg.asset(
    partitions_def=symbol_day_partitions,
    group_name="params",
    check_specs=[
        symbol_day_check_spec(
            HELD_OUT_CHECK,
            "held_out_day",
            "The day after the fit day is ingested and passed its blocking quality checks "
            "(trades, book, bbo, funding); else nothing is validated.",
            blocking=True,
        )
    ],
    description="Features of the held-out day (the day after the partition's fit day), read "
    "only after its quality record passes the gate: the validation and the backtest score "
    "the candidate on it. Cost: O(n + m L) in the held-out day's n trades and m quotes or "
    "snapshots of L levels (one read of each table).",
)
def held_out_day(
    context: dg.AssetExecutionContext, lake: LakeResource
) -> Iterator[dg.Output[DayFeatures | None] | dg.AssetCheckResult]:
    symbol, day = partition_symbol(context), partition_date(context)
    next_day = held_out_date(day)
    partition = f"{lake.venue}/{symbol}/{next_day.isoformat()}"
    try:
        require_inputs(lake.paths, day_input_keys(lake.venue, symbol, next_day))
        release_freed_memory()  # a second day of ticks on top of the fits' leftovers
        features = load_features(lake, symbol, next_day)
    except QualityGateError as exc:
        reason = (
            f"held-out day {partition} not usable: {exc}. Ingest it first (job `ingest`, "
            f"partition {next_day}|{symbol})."
        )
        context.log.error(reason)
        yield dg.Output(None, metadata={"held-out partition": partition, "status": "GATED"})
        yield dg.AssetCheckResult(
            check_name=HELD_OUT_CHECK,
            passed=False,
            description=reason,
            metadata={"reason": dg.MetadataValue.text(reason)},
        )
        return
    n_trades = len(features.trades)
    yield dg.Output(
        features,
        metadata={
            "held-out partition": partition,
            "trades [count]": dg.MetadataValue.int(n_trades),
            "quotes [count]": dg.MetadataValue.int(len(features.quotes)),
        },
    )
    yield dg.AssetCheckResult(
        check_name=HELD_OUT_CHECK,
        passed=n_trades > 0,
        description=f"{partition} passed its blocking checks"
        if n_trades
        else f"{partition} has no trades: nothing to score",
    )
