"""The derived-tables asset: ``mid_1s``, ``rv_5m`` and ``volume_1h`` of a checked symbol-day."""

import dagster as dg
import pandas as pd

from assets.checks import checked_day
from assets.derived import derive_day, write_derived
from assets.features import quotes_from_lake
from assets.history import history_input_keys
from assets.inputs import require_inputs
from assets.partitions import partition_date, partition_symbol, symbol_day_partitions
from assets.resources import LakeResource
from data_lake.partitions import PartitionKey, day_window_ns
from data_lake.quality_store import QualityGateError

__all__ = ["derived_day"]


@dg.asset(
    partitions_def=symbol_day_partitions,
    deps=[checked_day],
    group_name="derived",
    compute_kind="parquet",
    description=(
        "Small tables the multi-day fits read instead of the ticks: 1-second mids "
        "(mid_1s), 5-minute realised-variance bars (rv_5m) and hourly volume (volume_1h) "
        "of one checked symbol-day. Replaced atomically; re-deriving gives the same bytes. "
        "Cost: O(n + m) for n trades and m quotes (one pass each onto fixed grids)."
    ),
)
def derived_day(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    symbol, day = partition_symbol(context), partition_date(context)
    try:
        require_inputs(lake.paths, history_input_keys(lake.venue, symbol, (day,)))
    except QualityGateError as exc:
        raise dg.Failure(description=f"no derived tables for {symbol} {day}: {exc}") from exc
    start, end = day_window_ns(day)

    def read(table: str, columns: list[str]) -> pd.DataFrame:
        return lake.lake.frame(
            table, symbol=symbol, venue=lake.venue, start_ns=start, end_ns=end, columns=columns
        )

    trades = read("trades", ["ts", "size"])
    bbo = read("bbo", ["ts", "bid_px", "ask_px"])
    # The book is only read when the venue publishes no bbo (its top level is the quote).
    book = lake.day("book", symbol, day).to_pandas() if bbo.empty else pd.DataFrame()
    if bbo.empty:
        quotes, _ = quotes_from_lake(bbo, book, depth=1)
    else:
        quotes = pd.DataFrame({"ts": bbo["ts"], "mid": 0.5 * (bbo["bid_px"] + bbo["ask_px"])})
    key = PartitionKey(lake.venue, symbol, day)
    rows = write_derived(lake.paths.lake, key, derive_day(day, trades, quotes))
    lake.lake.refresh()
    context.log.info(f"derived {symbol} {day}: {rows}")
    return dg.MaterializeResult(
        metadata={f"{k} rows [count]": dg.MetadataValue.int(v) for k, v in rows.items()}
    )
