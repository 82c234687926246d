"""Data-quality suites for one symbol-day, built on Great Expectations.

Each suite returns :class:`CheckOutcome` objects named for what they guarantee
(``no_crossed_books``, ``no_crossed_bbo``, ``unique_trade_ids``...) and tagged with the
table they judged. Every table a fit reads has its suite: trades, both sides of the
book, the bbo (the mid's source) and funding. Blocking outcomes gate every fit that reads
that partition (:func:`data_lake.quality_store.require_passed`); the others warn.
Statistical checks GX has no expectation for (row counts against previous days, gaps in
time coverage) are computed here directly.
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
    "bbo_checks",
    "book_checks",
    "coverage_gap_check",
    "funding_checks",
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
    # |funding| per hour; Hyperliquid caps at 4 %/h, so more is a unit slip (bps for fraction).
    max_funding_per_hour: float = 0.04


@dataclass(frozen=True)
class CheckOutcome:
    """One check's verdict; ``table`` is the lake table whose partition it judged."""

    name: str
    passed: bool
    blocking: bool
    description: str
    details: dict[str, Any] = field(default_factory=dict)
    table: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "blocking": self.blocking,
            "description": self.description,
            "details": self.details,
            "table": self.table,
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
        outcomes.append(
            CheckOutcome(check, bool(res.success), blocking, text, details, table=name)
        )
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
                table="trades",
            )
        ]
    if trades.empty:
        return [
            CheckOutcome(
                "trades_schema", False, True, "the partition has trades", {"rows": 0}, "trades"
            )
        ]
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


def _missing_columns(
    table: str, frame: pd.DataFrame, required: Sequence[str]
) -> list[CheckOutcome]:
    missing = [c for c in required if c not in frame.columns]
    if not missing:
        return []
    return [
        CheckOutcome(
            f"{table}_schema",
            False,
            True,
            f"{table} has the lake schema",
            {"missing_columns": missing},
            table=table,
        )
    ]


def _side_levels(
    px: pd.Series, sz: pd.Series, *, descending: bool
) -> dict[str, np.ndarray]:
    """Per-snapshot facts about one side of the book (lists of levels, best first).

    ``ok_*`` are booleans so a NaN anywhere fails (GX would skip a NaN as missing).
    """
    n = len(px)
    lens = np.fromiter((len(v) for v in px), dtype=np.int64, count=n)
    sz_lens = np.fromiter((len(v) for v in sz), dtype=np.int64, count=n)
    flat_px = np.concatenate([np.asarray(v, float) for v in px]) if lens.sum() else np.empty(0)
    flat_sz = np.concatenate([np.asarray(v, float) for v in sz]) if sz_lens.sum() else np.empty(0)
    row = np.repeat(np.arange(n), lens)
    best = np.full(n, np.nan)
    has = lens > 0
    starts = np.concatenate(([0], np.cumsum(lens)[:-1]))
    best[has] = flat_px[starts[has]]
    ok_px = np.ones(n, bool)
    ok_px[row[~(flat_px > 0)]] = False  # NaN compares False: counted as bad
    ok_sz = sz_lens == lens
    if sz_lens.sum() == lens.sum():
        sz_row = np.repeat(np.arange(n), sz_lens)
        ok_sz[sz_row[~(flat_sz > 0)]] = False
    # Strictly away from the touch: bids fall, asks rise, level after level.
    step = np.diff(flat_px)
    same = row[1:] == row[:-1] if flat_px.size > 1 else np.zeros(0, bool)
    bad = same & ~((step < 0) if descending else (step > 0))
    ordered = np.ones(n, bool)
    ordered[row[1:][bad]] = False
    return {"best": best, "ok_px": ok_px, "ok_sz": ok_sz, "ordered": ordered}


def book_checks(book: pd.DataFrame, limits: QualityLimits = QualityLimits()) -> list[CheckOutcome]:
    """Both sides of every L2 snapshot: present, positive, ordered, uncrossed, spread, ts."""
    import great_expectations.expectations as gxe

    required = ["ts", "bid_px", "bid_sz", "ask_px", "ask_sz"]
    if missing := _missing_columns("book", book, required):
        return missing
    if book.empty:
        return [
            CheckOutcome(
                "book_sides_present",
                False,
                True,
                "the partition has book snapshots",
                {"rows": 0},
                table="book",
            )
        ]
    bid = _side_levels(book["bid_px"], book["bid_sz"], descending=True)
    ask = _side_levels(book["ask_px"], book["ask_sz"], descending=False)
    best = pd.DataFrame(
        {
            "ts": book["ts"].to_numpy(),
            "best_bid": bid["best"],
            "best_ask": ask["best"],
            "bid_prices_ok": bid["ok_px"],
            "ask_prices_ok": ask["ok_px"],
            "bid_sizes_ok": bid["ok_sz"],
            "ask_sizes_ok": ask["ok_sz"],
            "bids_ordered": bid["ordered"],
            "asks_ordered": ask["ordered"],
        }
    )
    mid = 0.5 * (best["best_bid"] + best["best_ask"])
    best["spread_bps"] = (best["best_ask"] - best["best_bid"]) / mid * 1e4

    def all_true(column: str) -> Any:
        return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=[True])

    exps = [
        (
            "book_sides_present_bid",
            True,
            "every snapshot has a best bid",
            gxe.ExpectColumnValuesToNotBeNull(column="best_bid"),
        ),
        (
            "book_sides_present_ask",
            True,
            "every snapshot has a best ask",
            gxe.ExpectColumnValuesToNotBeNull(column="best_ask"),
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
        ("positive_book_prices_bid", True, "every bid level price > 0", all_true("bid_prices_ok")),
        ("positive_book_prices_ask", True, "every ask level price > 0", all_true("ask_prices_ok")),
        (
            "positive_book_sizes_bid",
            True,
            "every bid level has a size, and it is > 0",
            all_true("bid_sizes_ok"),
        ),
        (
            "positive_book_sizes_ask",
            True,
            "every ask level has a size, and it is > 0",
            all_true("ask_sizes_ok"),
        ),
        ("book_levels_ordered_bid", True, "bid levels strictly fall", all_true("bids_ordered")),
        ("book_levels_ordered_ask", True, "ask levels strictly rise", all_true("asks_ordered")),
        (
            "monotone_book_ts",
            True,
            "snapshot timestamps never go backwards",
            gxe.ExpectColumnValuesToBeIncreasing(column="ts"),
        ),
    ]
    return _validate("book", best, exps)


def bbo_checks(bbo: pd.DataFrame, limits: QualityLimits = QualityLimits()) -> list[CheckOutcome]:
    """The top of book, the mid's source: schema, nulls, positive, ordered, uncrossed, spread.

    An empty bbo passes with ``rows: 0``: the features then take quotes from the book,
    which :func:`book_checks` covers.
    """
    import great_expectations.expectations as gxe

    required = ["ts", "bid_px", "bid_sz", "ask_px", "ask_sz"]
    if missing := _missing_columns("bbo", bbo, required):
        return missing
    if bbo.empty:  # recorded, so the gate knows the (absent or empty) partition was seen
        return [CheckOutcome("bbo_schema", True, True, "no bbo rows", {"rows": 0}, "bbo")]
    frame = bbo[required].copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        mid = 0.5 * (frame["bid_px"] + frame["ask_px"])
        frame["spread_bps"] = (frame["ask_px"] - frame["bid_px"]) / mid * 1e4
    exps = [
        (
            "bbo_schema",
            True,
            "ts is int64 ns and prices/sizes are float64",
            gxe.ExpectColumnValuesToBeInTypeList(
                column="bid_px", type_list=["float64", "Float64"]
            ),
        ),
        *[
            (f"bbo_non_null_{col}", True, f"no null {col}", gxe.ExpectColumnValuesToNotBeNull(
                column=col
            ))
            for col in required
        ],
        *[
            (
                f"positive_bbo_{kind}_{col}",
                True,
                f"every {col} > 0",
                gxe.ExpectColumnValuesToBeBetween(column=col, min_value=0, strict_min=True),
            )
            for kind, cols in (("prices", ("bid_px", "ask_px")), ("sizes", ("bid_sz", "ask_sz")))
            for col in cols
        ],
        (
            "monotone_bbo_ts",
            True,
            "bbo timestamps never go backwards",
            gxe.ExpectColumnValuesToBeIncreasing(column="ts"),
        ),
        (
            "no_crossed_bbo",
            True,
            "ask > bid in every bbo row",
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="ask_px",
                column_B="bid_px",
                or_equal=False,
                ignore_row_if="either_value_is_missing",
            ),
        ),
        (
            "bbo_spread_within_bounds",
            True,
            f"bbo spread <= {limits.max_spread_bps} bps",
            gxe.ExpectColumnValuesToBeBetween(
                column="spread_bps", min_value=0, max_value=limits.max_spread_bps
            ),
        ),
    ]
    return _validate("bbo", frame, exps)


def funding_checks(
    funding: pd.DataFrame, limits: QualityLimits = QualityLimits()
) -> list[CheckOutcome]:
    """Funding prints: schema, nulls, positive interval, plausible rate, ordered ts.

    An empty partition passes with ``rows: 0`` (spot and equity venues have no funding).
    """
    import great_expectations.expectations as gxe

    required = ["ts", "rate", "interval_s"]
    if missing := _missing_columns("funding", funding, required):
        return missing
    if funding.empty:
        return [
            CheckOutcome("funding_schema", True, True, "no funding rows", {"rows": 0}, "funding")
        ]
    frame = funding[required].copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["rate_per_hour"] = frame["rate"] * 3600.0 / frame["interval_s"]
    cap = limits.max_funding_per_hour
    exps = [
        (
            "funding_schema",
            True,
            "rate is float64",
            gxe.ExpectColumnValuesToBeInTypeList(column="rate", type_list=["float64", "Float64"]),
        ),
        *[
            (f"funding_non_null_{col}", True, f"no null {col}",
             gxe.ExpectColumnValuesToNotBeNull(column=col))
            for col in required
        ],
        (
            "positive_funding_interval",
            True,
            "interval_s > 0",
            gxe.ExpectColumnValuesToBeBetween(column="interval_s", min_value=0, strict_min=True),
        ),
        (
            "funding_rate_within_bounds",
            True,
            f"|rate| per hour <= {cap}",
            gxe.ExpectColumnValuesToBeBetween(
                column="rate_per_hour", min_value=-cap, max_value=cap
            ),
        ),
        (
            "monotone_funding_ts",
            True,
            "funding timestamps never go backwards",
            gxe.ExpectColumnValuesToBeIncreasing(column="ts"),
        ),
    ]
    return _validate("funding", frame, exps)


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
            name, True, False, "no previous day to compare with", {"rows": rows_today}, table
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
        table,
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
        return CheckOutcome(name, False, False, "the day has rows", {"rows": 0}, table)
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
        table,
    )
