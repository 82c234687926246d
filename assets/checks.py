"""Asset checks on each symbol-day: blocking ones stop every fit that reads a poisoned partition.

Every table a fit reads has its suite (trades, both sides of the book, the bbo, funding).
The record is saved with each table's file fingerprint (data_lake.quality_store), so a
later re-import or merge of the partition voids it until the checks run again.
"""

import datetime as dt

import dagster as dg

from assets.ingest import lake_day
from assets.partitions import (
    partition_date,
    partition_symbol,
    symbol_day_check_spec,
    symbol_day_partitions,
)
from assets.resources import LakeResource
from data_lake.quality import (
    CheckOutcome,
    bbo_checks,
    book_checks,
    coverage_gap_check,
    funding_checks,
    row_count_check,
    trades_checks,
)
from data_lake.quality_store import QUALITY_TABLES, QualityGateError, fingerprints, save_quality
from data_lake.writer import day_window_ns

__all__ = ["checked_day"]

_HISTORY_DAYS = 5

# (name, table, blocking, what it guarantees): one spec per guarantee, shown in the UI.
_SPECS: tuple[tuple[str, str, bool, str], ...] = (
    ("trades_schema", "trades", True, "trades have the lake schema and types"),
    ("trades_non_null", "trades", True, "no null ts, price, size, side or trade id"),
    ("positive_trade_prices", "trades", True, "every trade price > 0"),
    ("positive_trade_sizes", "trades", True, "every trade size > 0"),
    ("trade_sides_valid", "trades", True, "side is +1 or -1"),
    ("monotone_trade_ts", "trades", True, "trade timestamps never go backwards"),
    ("unique_trade_ids", "trades", True, "trade ids are unique within the day"),
    ("book_schema", "book", True, "the book has the lake schema"),
    ("book_sides_present", "book", True, "every snapshot has a best bid and a best ask"),
    ("no_crossed_books", "book", True, "best ask > best bid in every snapshot"),
    ("spread_within_bounds", "book", True, "touch spread within bounds"),
    ("positive_book_prices", "book", True, "every bid and ask level price > 0"),
    ("positive_book_sizes", "book", True, "every bid and ask level size > 0"),
    ("book_levels_ordered", "book", True, "bids fall and asks rise away from the touch"),
    ("monotone_book_ts", "book", True, "book timestamps never go backwards"),
    ("bbo_schema", "bbo", True, "the bbo has the lake schema and types"),
    ("bbo_non_null", "bbo", True, "no null ts, bid/ask price or size"),
    ("positive_bbo_prices", "bbo", True, "every bbo bid and ask price > 0"),
    ("positive_bbo_sizes", "bbo", True, "every bbo bid and ask size > 0"),
    ("monotone_bbo_ts", "bbo", True, "bbo timestamps never go backwards"),
    ("no_crossed_bbo", "bbo", True, "ask > bid in every bbo row"),
    ("bbo_spread_within_bounds", "bbo", True, "bbo spread within bounds"),
    ("funding_schema", "funding", True, "funding has the lake schema and types"),
    ("funding_non_null", "funding", True, "no null ts, rate or interval"),
    ("positive_funding_interval", "funding", True, "funding interval > 0"),
    ("funding_rate_within_bounds", "funding", True, "funding rate per hour within bounds"),
    ("monotone_funding_ts", "funding", True, "funding timestamps never go backwards"),
    ("trades_row_count_vs_history", "trades", False, "trade count near the previous days'"),
    ("trades_time_coverage", "trades", False, "no long gap in trades"),
    ("book_time_coverage", "book", False, "no long gap in book snapshots"),
    ("bbo_time_coverage", "bbo", False, "no long gap in bbo updates"),
)


def _fold(outcomes: list[CheckOutcome]) -> dict[str, CheckOutcome]:
    """Map raw outcomes onto the declared specs (several GX results may feed one spec)."""
    folded: dict[str, CheckOutcome] = {}
    for name, table, blocking, text in _SPECS:
        parts = [o for o in outcomes if o.name == name or o.name.startswith(name + "_")]
        if not parts:
            continue
        folded[name] = CheckOutcome(
            name=name,
            passed=all(p.passed for p in parts),
            blocking=blocking,
            description=text,
            details={p.name: p.details for p in parts},
            table=table,
        )
    return folded


@dg.asset(
    partitions_def=symbol_day_partitions,
    deps=[lake_day],
    group_name="quality",
    compute_kind="great_expectations",
    check_specs=[
        symbol_day_check_spec(name, "checked_day", text, blocking=blocking)
        for name, _, blocking, text in _SPECS
    ],
    description=(
        "The symbol-day after its quality suites on trades, book (both sides), bbo and "
        "funding: blocking checks (schema, nulls, positive prices and sizes, ordering, "
        "unique ids, crossed books and bbo, spreads, funding bounds) stop every fit that "
        "reads a poisoned partition; row counts and coverage gaps warn. "
        "Cost: O(n log n + m L) for n trades and m book/bbo snapshots of L levels (the "
        "unique-id check groups the ids; every other check is one pass)."
    ),
)
def checked_day(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    symbol, day = partition_symbol(context), partition_date(context)
    # Fingerprint before reading: the record must describe the bytes that were checked.
    files = fingerprints(lake.paths, lake.venue, symbol, day)
    frames = {t: lake.day(t, symbol, day).to_pandas() for t in QUALITY_TABLES}
    trades = frames["trades"]
    start, end = day_window_ns(day)
    history = [
        n
        for k in range(1, _HISTORY_DAYS + 1)
        if (n := lake.day("trades", symbol, day - dt.timedelta(days=k)).num_rows) > 0
    ]
    outcomes = (
        trades_checks(trades)
        + book_checks(frames["book"])
        + bbo_checks(frames["bbo"])
        + funding_checks(frames["funding"])
    )
    outcomes.append(row_count_check("trades", len(trades), history))
    for table in ("trades", "book", "bbo"):
        if len(frames[table]):
            ts = frames[table]["ts"].to_numpy()
            outcomes.append(coverage_gap_check(table, ts, start, end))
    folded = _fold(outcomes)
    try:
        record = save_quality(
            lake.paths, lake.venue, symbol, day, list(folded.values()), files=files
        )
    except QualityGateError as exc:
        raise dg.Failure(description=f"{symbol} {day}: {exc}") from exc
    failed = [o.name for o in folded.values() if not o.passed and o.blocking]
    if failed:
        context.log.error(f"{symbol} {day}: blocking checks failed: {failed}; fits will not run")
    results = []
    for name, table, blocking, _ in _SPECS:
        severity = dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN
        outcome = folded.get(name)
        if outcome is None:
            # No rows (no bbo: quotes come from the book; no funding on a spot venue), or
            # the table's schema check failed first. Nothing of it is read unchecked: the
            # gate refuses any partition the record does not cover.
            results.append(
                dg.AssetCheckResult(
                    check_name=name,
                    passed=True,
                    severity=severity,
                    metadata={"note": f"no {table} rows to check"},
                )
            )
            continue
        results.append(
            dg.AssetCheckResult(
                check_name=name,
                passed=outcome.passed,
                severity=severity,
                metadata={k: dg.MetadataValue.json(v) for k, v in outcome.details.items()},
            )
        )
    return dg.MaterializeResult(
        metadata={
            "blocking_failures": dg.MetadataValue.json(failed),
            "checks passed [count]": dg.MetadataValue.int(sum(o.passed for o in folded.values())),
            "checks run [count]": dg.MetadataValue.int(len(folded)),
            "record": dg.MetadataValue.path(str(record)),
        },
        check_results=results,
    )
