"""Data-quality suites for one symbol-day, built on Great Expectations.

Each suite returns :class:`CheckOutcome` objects named for what they guarantee
(``no_crossed_books``, ``unique_trade_ids``...). Blocking outcomes gate the fits of that
partition; the others warn. Statistical checks GX has no expectation for (row counts
against previous days, gaps in time coverage) are computed here directly.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CheckOutcome",
    "QualityLimits",
    "book_checks",
    "coverage_gap_check",
    "row_count_check",
    "trades_checks",
]

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@dataclass(frozen=True)
class QualityLimits:
    """Thresholds of the non-trivial checks (documented defaults)."""

    max_spread_bps: float = 200.0  # a wider touch means a broken or halted book
    max_gap_s: float = 600.0  # longer silence in a liquid symbol means lost data
    row_count_low: float = 0.2  # today / median(previous days) outside [low, high] warns
    row_count_high: float = 5.0


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    blocking: bool
    description: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "blocking": self.blocking,
            "description": self.description,
            "details": self.details,
        }


@lru_cache(maxsize=1)
def _context() -> Any:
    import great_expectations as gx  # slow import: only when a suite runs

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    ctx = gx.get_context(mode="ephemeral")
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


def _validate(
    name: str, frame: pd.DataFrame, expectations: Sequence[tuple[str, bool, str, Any]]
) -> list[CheckOutcome]:
    """Run GX expectations on a frame; one outcome per (check name, blocking, text, exp)."""
    import great_expectations as gx

    ctx = _context()
    source_name = f"mmcal_{name}"
    try:
        source = ctx.data_sources.get(source_name)
    except (KeyError, ValueError):
        source = ctx.data_sources.add_pandas(source_name)
    asset_name = f"{name}_{len(source.assets)}"
    batch_def = source.add_dataframe_asset(asset_name).add_batch_definition_whole_dataframe("all")
    suite = gx.ExpectationSuite(name=asset_name)
    for check, _, _, exp in expectations:
        exp.meta = {**(exp.meta or {}), "check": check}
        suite.add_expectation(exp)
    result = batch_def.get_batch(batch_parameters={"dataframe": frame}).validate(suite)
    # GX does not keep the suite's order in its results: match them by our tag.
    by_check = {res.expectation_config.meta["check"]: res for res in result.results}
    outcomes = []
    for check, blocking, text, _ in expectations:
        res = by_check[check]
        details = {
            k: _plain(v)
            for k, v in (res.result or {}).items()
            if k in ("unexpected_count", "unexpected_percent", "observed_value", "element_count")
        }
        if res.exception_info and res.exception_info.get("raised_exception"):
            details["error"] = str(res.exception_info.get("exception_message"))
        outcomes.append(CheckOutcome(check, bool(res.success), blocking, text, details))
    return outcomes


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value[:20]]
    return value


def trades_checks(trades: pd.DataFrame) -> list[CheckOutcome]:
    """Schema, nulls, positivity, ordering and uniqueness of one day of trades."""
    import great_expectations.expectations as gxe

    required = ["ts", "price", "size", "side", "trade_id"]
    missing = [c for c in required if c not in trades.columns]
    if missing:
        return [
            CheckOutcome(
                "trades_schema",
                False,
                True,
                "trades have the lake schema",
                {"missing_columns": missing},
            )
        ]
    if trades.empty:
        return [CheckOutcome("trades_schema", False, True, "the partition has trades", {"rows": 0})]
    frame = trades[required].copy()
    frame["trade_id"] = frame["trade_id"].astype(str)
    exps = [
        (
            "trades_schema",
            True,
            "ts is int64 ns and price/size are float64",
            gxe.ExpectColumnValuesToBeInTypeList(column="price", type_list=["float64", "Float64"]),
        ),
        *[
            (
                f"trades_non_null_{col}",
                True,
                f"no null {col}",
                gxe.ExpectColumnValuesToNotBeNull(column=col),
            )
            for col in required
        ],
        (
            "positive_trade_prices",
            True,
            "every trade price > 0",
            gxe.ExpectColumnValuesToBeBetween(column="price", min_value=0, strict_min=True),
        ),
        (
            "positive_trade_sizes",
            True,
            "every trade size > 0",
            gxe.ExpectColumnValuesToBeBetween(column="size", min_value=0, strict_min=True),
        ),
        (
            "trade_sides_valid",
            True,
            "side is +1 (buy aggressor) or -1 (sell aggressor)",
            gxe.ExpectColumnValuesToBeInSet(column="side", value_set=[-1, 1]),
        ),
        (
            "monotone_trade_ts",
            True,
            "trade timestamps never go backwards",
            gxe.ExpectColumnValuesToBeIncreasing(column="ts"),
        ),
        (
            "unique_trade_ids",
            True,
            "trade ids are unique within the day",
            gxe.ExpectColumnValuesToBeUnique(column="trade_id"),
        ),
    ]
    return _validate("trades", frame, exps)


def book_checks(book: pd.DataFrame, limits: QualityLimits = QualityLimits()) -> list[CheckOutcome]:
    """Crossed books, spread bounds, positive sizes and ordering of L2 snapshots."""
    import great_expectations.expectations as gxe

    if book.empty:
        return [
            CheckOutcome(
                "book_sides_present", False, True, "the partition has book snapshots", {"rows": 0}
            )
        ]
    best = pd.DataFrame(
        {
            "ts": book["ts"].to_numpy(),
            "best_bid": [float(b[0]) if len(b) else np.nan for b in book["bid_px"]],
            "best_ask": [float(a[0]) if len(a) else np.nan for a in book["ask_px"]],
            "min_size": [
                float(min(np.min(bs) if len(bs) else np.inf, np.min(as_) if len(as_) else np.inf))
                for bs, as_ in zip(book["bid_sz"], book["ask_sz"], strict=True)
            ],
        }
    )
    mid = 0.5 * (best["best_bid"] + best["best_ask"])
    best["spread_bps"] = (best["best_ask"] - best["best_bid"]) / mid * 1e4
    exps = [
        (
            "book_sides_present",
            True,
            "every snapshot has a best bid and a best ask",
            gxe.ExpectColumnValuesToNotBeNull(column="best_bid"),
        ),
        (
            "no_crossed_books",
            True,
            "best ask > best bid in every snapshot",
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="best_ask",
                column_B="best_bid",
                or_equal=False,
                ignore_row_if="either_value_is_missing",
            ),
        ),
        (
            "spread_within_bounds",
            True,
            f"touch spread <= {limits.max_spread_bps} bps",
            gxe.ExpectColumnValuesToBeBetween(
                column="spread_bps", min_value=0, max_value=limits.max_spread_bps
            ),
        ),
        (
            "positive_book_sizes",
            True,
            "every resting size > 0",
            gxe.ExpectColumnValuesToBeBetween(column="min_size", min_value=0, strict_min=True),
        ),
        (
            "monotone_book_ts",
            True,
            "snapshot timestamps never go backwards",
            gxe.ExpectColumnValuesToBeIncreasing(column="ts"),
        ),
    ]
    return _validate("book", best, exps)


def row_count_check(
    table: str,
    rows_today: int,
    rows_previous_days: Sequence[int],
    limits: QualityLimits = QualityLimits(),
) -> CheckOutcome:
    """Warn when today's row count is far from the median of the previous days."""
    name = f"{table}_row_count_vs_history"
    if not rows_previous_days:
        return CheckOutcome(
            name, True, False, "no previous day to compare with", {"rows": rows_today}
        )
    median = float(np.median(rows_previous_days))
    ratio = rows_today / median if median > 0 else float("inf")
    ok = limits.row_count_low <= ratio <= limits.row_count_high
    return CheckOutcome(
        name,
        ok,
        False,
        f"rows within [{limits.row_count_low}, {limits.row_count_high}]"
        " x the median of previous days",
        {
            "rows": rows_today,
            "median_previous": median,
            "ratio": round(ratio, 4),
            "previous_days": len(rows_previous_days),
        },
    )


def coverage_gap_check(
    table: str,
    ts_ns: np.ndarray,
    day_start_ns: int,
    day_end_ns: int,
    limits: QualityLimits = QualityLimits(),
) -> CheckOutcome:
    """Warn when the data leave a silence longer than ``max_gap_s`` within the day."""
    name = f"{table}_time_coverage"
    if len(ts_ns) == 0:
        return CheckOutcome(name, False, False, "the day has rows", {"rows": 0})
    edges = np.concatenate(([day_start_ns], np.asarray(ts_ns, dtype=np.int64), [day_end_ns]))
    gaps_s = np.diff(edges) / 1e9
    worst = int(np.argmax(gaps_s))
    max_gap = float(gaps_s[worst])
    return CheckOutcome(
        name,
        max_gap <= limits.max_gap_s,
        False,
        f"no gap in time coverage longer than {limits.max_gap_s:.0f} s",
        {
            "max_gap_s": round(max_gap, 3),
            "gap_starts_ns": int(edges[worst]),
            "gaps_over_limit": int(np.sum(gaps_s > limits.max_gap_s)),
        },
    )
