"""Asset checks on each symbol-day: blocking ones stop the fits of a poisoned partition."""

import datetime as dt

import dagster as dg

from assets.ingest import lake_day
from assets.partitions import partition_date, partition_symbol, symbol_day_partitions
from assets.resources import LakeResource
from data_lake.quality import (
    CheckOutcome,
    book_checks,
    coverage_gap_check,
    row_count_check,
    trades_checks,
)
from data_lake.quality_store import load_quality, save_quality
from data_lake.writer import day_window_ns

__all__ = ["checked_day", "partition_passed_checks"]

_HISTORY_DAYS = 5

# (name, blocking, what it guarantees): one spec per guarantee, shown in the UI.
_SPECS: tuple[tuple[str, bool, str], ...] = (
    ("trades_schema", True, "trades have the lake schema and types"),
    ("trades_non_null", True, "no null ts, price, size, side or trade id"),
    ("positive_trade_prices", True, "every trade price > 0"),
    ("positive_trade_sizes", True, "every trade size > 0"),
    ("trade_sides_valid", True, "side is +1 or -1"),
    ("monotone_trade_ts", True, "trade timestamps never go backwards"),
    ("unique_trade_ids", True, "trade ids are unique within the day"),
    ("book_sides_present", True, "the day has snapshots with both sides"),
    ("no_crossed_books", True, "best ask > best bid in every snapshot"),
    ("spread_within_bounds", True, "touch spread within bounds"),
    ("positive_book_sizes", True, "every resting size > 0"),
    ("monotone_book_ts", True, "book timestamps never go backwards"),
    ("trades_row_count_vs_history", False, "trade count near the previous days'"),
    ("trades_time_coverage", False, "no long gap in trades"),
    ("book_time_coverage", False, "no long gap in book snapshots"),
)


def _fold(outcomes: list[CheckOutcome]) -> dict[str, CheckOutcome]:
    """Map raw outcomes onto the declared specs (several GX results may feed one spec)."""
    folded: dict[str, CheckOutcome] = {}
    for name, blocking, text in _SPECS:
        parts = [o for o in outcomes if o.name == name or o.name.startswith(name + "_")]
        if not parts:
            continue
        folded[name] = CheckOutcome(
            name=name,
            passed=all(p.passed for p in parts),
            blocking=blocking,
            description=text,
            details={p.name: p.details for p in parts},
        )
    return folded


@dg.asset(
    partitions_def=symbol_day_partitions,
    deps=[lake_day],
    group_name="quality",
    compute_kind="great_expectations",
    check_specs=[
        dg.AssetCheckSpec(name=name, asset="checked_day", blocking=blocking, description=text)
        for name, blocking, text in _SPECS
    ],
    description=(
        "The symbol-day after its quality suites: blocking checks (schema, nulls, positive "
        "prices and sizes, ordering, unique ids, crossed books, spreads) stop every fit of "
        "a poisoned partition; row counts and coverage gaps warn."
    ),
)
def checked_day(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    symbol, day = partition_symbol(context), partition_date(context)
    trades = lake.day("trades", symbol, day).to_pandas()
    book = lake.day("book", symbol, day).to_pandas()
    start, end = day_window_ns(day)
    history = [
        n
        for k in range(1, _HISTORY_DAYS + 1)
        if (n := lake.day("trades", symbol, day - dt.timedelta(days=k)).num_rows) > 0
    ]
    outcomes = trades_checks(trades) + book_checks(book)
    outcomes.append(row_count_check("trades", len(trades), history))
    if len(trades):
        outcomes.append(coverage_gap_check("trades", trades["ts"].to_numpy(), start, end))
    if len(book):
        outcomes.append(coverage_gap_check("book", book["ts"].to_numpy(), start, end))
    folded = _fold(outcomes)
    record = save_quality(lake.paths, lake.venue, symbol, day, list(folded.values()))
    failed = [o.name for o in folded.values() if not o.passed and o.blocking]
    if failed:
        context.log.error(f"{symbol} {day}: blocking checks failed: {failed}; fits will not run")
    results = []
    for name, blocking, _ in _SPECS:
        severity = dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN
        outcome = folded.get(name)
        if outcome is None:  # nothing to check (e.g. no book): say so rather than pass silently
            results.append(
                dg.AssetCheckResult(
                    check_name=name,
                    passed=not blocking,
                    severity=severity,
                    metadata={"note": "no rows to check"},
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
            "checks_passed": sum(o.passed for o in folded.values()),
            "checks_total": len(folded),
            "record": dg.MetadataValue.path(str(record)),
        },
        check_results=results,
    )


def partition_passed_checks(
    lake: LakeResource, symbol: str, day: dt.date
) -> tuple[bool, list[str]]:
    """Whether every blocking check of a partition passed, and the names that failed."""
    records = load_quality(lake.paths, lake.venue, symbol, day)
    if not records:
        return False, ["never checked"]
    failed = [r["name"] for r in records if r["blocking"] and not r["passed"]]
    return not failed, failed
