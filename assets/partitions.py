"""Symbol-day partitions: every fit, check and backfill runs per (date, symbol).

Dates are dynamic: a day is a partition once it is registered (``register_days``), which
happens as data lands: `make run` registers the days it generates, the ``lake_days``
sensor (orchestration/sensors.py) registers every day found in the lake (imports by the
CLI or the landing sensor, generation), the nightly schedules register the day they run.
The UI then shows the days that exist, not a range from a fixed start to today, and a
backfill over any registered days (30 days x 3 symbols) works from the UI and from
Python. Symbols are the configured universe (``MMCAL_SYMBOLS``, default BTC, ETH, SOL).
"""

import datetime as dt
import os
import warnings
from collections.abc import Iterable

import dagster as dg

__all__ = [
    "DATE_DIMENSION",
    "DEFAULT_START",
    "DEFAULT_SYMBOLS",
    "date_partitions",
    "partition_date",
    "partition_symbol",
    "register_days",
    "registered_days",
    "symbol_day_check_spec",
    "symbol_day_partitions",
    "symbol_partitions",
]

# The embedded synthetic market starts on this Monday (data_lake.sources.synthetic).
DEFAULT_START = dt.date(2026, 1, 5)
DEFAULT_SYMBOLS = ("BTC", "ETH", "SOL")
DATE_DIMENSION = "date"


def _symbols() -> list[str]:
    # Read once when the code location loads: the partition set is part of the graph.
    raw = os.environ.get("MMCAL_SYMBOLS", ",".join(DEFAULT_SYMBOLS))
    return [s.strip() for s in raw.split(",") if s.strip()]


date_partitions = dg.DynamicPartitionsDefinition(name=DATE_DIMENSION)
symbol_partitions = dg.StaticPartitionsDefinition(_symbols())
symbol_day_partitions = dg.MultiPartitionsDefinition(
    {DATE_DIMENSION: date_partitions, "symbol": symbol_partitions}
)


def registered_days(instance: dg.DagsterInstance) -> list[dt.date]:
    """The days registered as partitions in ``instance``, oldest first."""
    keys = instance.get_dynamic_partitions(DATE_DIMENSION)
    return sorted(dt.date.fromisoformat(k) for k in keys)


def register_days(instance: dg.DagsterInstance, days: Iterable[dt.date]) -> list[dt.date]:
    """Register ``days`` as date partitions (idempotent); returns the ones that were new."""
    known = set(instance.get_dynamic_partitions(DATE_DIMENSION))
    new = sorted({d for d in days if d.isoformat() not in known})
    if new:
        instance.add_dynamic_partitions(DATE_DIMENSION, [d.isoformat() for d in new])
    return new


def symbol_day_check_spec(
    name: str, asset: str, description: str, *, blocking: bool = False
) -> dg.AssetCheckSpec:
    """A check evaluated per symbol-day: each result names its partition in the UI, and a
    failure on one day is not hidden by a later day's pass."""
    with warnings.catch_warnings():
        # Partitioned checks are a Dagster preview feature; the warning would repeat for
        # every check at every code-location load.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(
            name=name,
            asset=asset,
            description=description,
            blocking=blocking,
            partitions_def=symbol_day_partitions,
        )


def partition_date(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> dt.date:
    key = context.partition_key
    assert isinstance(key, dg.MultiPartitionKey)
    return dt.date.fromisoformat(key.keys_by_dimension[DATE_DIMENSION])


def partition_symbol(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> str:
    key = context.partition_key
    assert isinstance(key, dg.MultiPartitionKey)
    return key.keys_by_dimension["symbol"]
