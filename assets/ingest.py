"""Ingest: one symbol-day of lake tables, generated (synthetic) or already imported."""


import dagster as dg

from assets.partitions import partition_date, partition_symbol, symbol_day_partitions
from assets.resources import LakeResource
from data_lake.partitions import PartitionKey, partition_file, partition_rows

__all__ = ["lake_day"]


@dg.asset(
    partitions_def=symbol_day_partitions,
    group_name="ingest",
    compute_kind="parquet",
    description=(
        "trades, book, bbo and funding of one symbol-day in the lake. On the synthetic "
        "venue the day is generated when absent; on a real venue it must have been "
        "imported (`lake import` or the landing sensor). "
        "Cost: O(n) to read the day's n trades (book, bbo and funding counted from the "
        "Parquet footers, O(1)); generating a synthetic day is O(n + m L) for m snapshots "
        "of L levels."
    ),
)
def lake_day(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    symbol, day = partition_symbol(context), partition_date(context)
    trades = lake.day("trades", symbol, day)
    if trades.num_rows == 0 and lake.venue == "synthetic":
        from data_lake.sources.synthetic import generate_to_lake

        context.log.info(f"generating synthetic {symbol} {day} (seed {lake.seed})")
        generate_to_lake(lake.lake, symbols=[symbol], days=1, seed=lake.seed, start=day)
        trades = lake.day("trades", symbol, day)
    if trades.num_rows == 0:
        raise dg.Failure(
            description=(
                f"no trades for {lake.venue}/{symbol}/{day} in {lake.paths.lake}. Import the "
                f"day first (`lake import ...`) or drop the recording into {lake.paths.landing}."
            )
        )
    # Row counts from the Parquet footers: reading a day of book to count it costs seconds.
    key = PartitionKey(lake.venue, symbol, day)
    counts = {
        t: partition_rows(partition_file(lake.paths.lake, t, key))
        for t in ("book", "bbo", "funding")
    }
    counts["trades"] = trades.num_rows
    ts = trades.column("ts")
    first, last = ts[0].as_py(), ts[-1].as_py()
    context.log.info(f"{symbol} {day}: {counts}")
    return dg.MaterializeResult(
        metadata={
            **{f"{k} rows [count]": dg.MetadataValue.int(v) for k, v in counts.items()},
            "first trade [UTC]": dg.MetadataValue.timestamp(first / 1e9),
            "last trade [UTC]": dg.MetadataValue.timestamp(last / 1e9),
            "venue": lake.venue,
        }
    )
