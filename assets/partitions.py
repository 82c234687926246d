"""Daily x symbol partitions: every fit, check and backfill runs per symbol-day."""

import datetime as dt
import os

import dagster as dg

__all__ = [
    "DEFAULT_START",
    "DEFAULT_SYMBOLS",
    "date_partitions",
    "partition_date",
    "partition_symbol",
    "symbol_day_partitions",
    "symbol_partitions",
]

# The embedded synthetic market starts on this Monday (data_lake.sources.synthetic).
DEFAULT_START = dt.date(2026, 1, 5)
DEFAULT_SYMBOLS = ("BTC", "ETH", "SOL")


def _symbols() -> list[str]:
    # Read once when the code location loads: the partition set is part of the graph.
    raw = os.environ.get("MMCAL_SYMBOLS", ",".join(DEFAULT_SYMBOLS))
    return [s.strip() for s in raw.split(",") if s.strip()]


date_partitions = dg.DailyPartitionsDefinition(
    start_date=os.environ.get("MMCAL_START_DATE", DEFAULT_START.isoformat()),
    timezone="UTC",
)
symbol_partitions = dg.StaticPartitionsDefinition(_symbols())
symbol_day_partitions = dg.MultiPartitionsDefinition(
    {"date": date_partitions, "symbol": symbol_partitions}
)


def partition_date(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> dt.date:
    key = context.partition_key
    assert isinstance(key, dg.MultiPartitionKey)
    return dt.date.fromisoformat(key.keys_by_dimension["date"])


def partition_symbol(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> str:
    key = context.partition_key
    assert isinstance(key, dg.MultiPartitionKey)
    return key.keys_by_dimension["symbol"]
