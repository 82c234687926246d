"""The quality suites: bbo, both sides of the book, funding (each failure named)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_lake.quality import CheckOutcome, bbo_checks, book_checks, funding_checks

N = 40


def _failed(outcomes: list[CheckOutcome]) -> set[str]:
    return {o.name for o in outcomes if not o.passed}


def _book() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": np.arange(N, dtype=np.int64),
            "bid_px": [np.array([100.0, 99.9, 99.8]) for _ in range(N)],
            "bid_sz": [np.array([1.0, 2.0, 3.0]) for _ in range(N)],
            "ask_px": [np.array([100.1, 100.2, 100.3]) for _ in range(N)],
            "ask_sz": [np.array([1.0, 2.0, 3.0]) for _ in range(N)],
        }
    )


def _bbo() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": np.arange(N, dtype=np.int64),
            "bid_px": np.full(N, 100.0),
            "bid_sz": np.ones(N),
            "ask_px": np.full(N, 100.02),
            "ask_sz": np.ones(N),
        }
    )


def test_clean_tables_pass_every_check_and_carry_their_table() -> None:
    for suite, frame, table in (
        (book_checks, _book(), "book"),
        (bbo_checks, _bbo(), "bbo"),
        (
            funding_checks,
            pd.DataFrame({"ts": np.arange(3), "rate": [1e-4, -2e-4, 5e-5],
                          "interval_s": [28_800] * 3}),
            "funding",
        ),
    ):
        outcomes = suite(frame)
        assert outcomes and _failed(outcomes) == set(), (table, outcomes)
        assert {o.table for o in outcomes} == {table}


def _set(frame: pd.DataFrame, row: int, column: str, value: object) -> pd.DataFrame:
    frame.at[row, column] = value
    return frame


@pytest.mark.parametrize(
    ("column", "value", "failed"),
    [
        ("ask_px", np.array([]), {"book_sides_present_ask"}),
        ("bid_px", np.array([]), {"book_sides_present_bid"}),
        ("ask_px", np.array([100.1, 100.05, 100.3]), {"book_levels_ordered_ask"}),
        ("bid_px", np.array([100.0, 99.95, 99.97]), {"book_levels_ordered_bid"}),
        ("ask_sz", np.array([1.0, 0.0, 3.0]), {"positive_book_sizes_ask"}),
        ("ask_sz", np.array([1.0, np.nan, 3.0]), {"positive_book_sizes_ask"}),
        ("ask_sz", np.array([1.0, 2.0]), {"positive_book_sizes_ask"}),  # a level without size
        (
            "ask_px",
            np.array([100.1, 100.2, np.nan]),
            {"positive_book_prices_ask", "book_levels_ordered_ask"},
        ),
        ("ask_px", np.array([99.9, 100.2, 100.3]), {"no_crossed_books", "spread_within_bounds"}),
    ],
)
def test_each_side_of_the_book_is_checked(column: str, value: object, failed: set[str]) -> None:
    frame = _book()
    if column.endswith("_px") and len(value) == 0:  # type: ignore[arg-type]
        frame = _set(frame, 3, column.replace("_px", "_sz"), np.array([]))
    assert _failed(book_checks(_set(frame, 3, column, value))) == failed


@pytest.mark.parametrize(
    ("column", "value", "failed"),
    [
        ("ask_px", 99.99, {"no_crossed_bbo", "bbo_spread_within_bounds"}),
        ("ask_px", 100.0, {"no_crossed_bbo"}),  # locked: the mid is not a price anyone quotes
        ("ask_px", 103.0, {"bbo_spread_within_bounds"}),
        ("bid_px", -1.0, {"positive_bbo_prices_bid_px", "bbo_spread_within_bounds"}),
        ("ask_sz", 0.0, {"positive_bbo_sizes_ask_sz"}),
        ("bid_px", np.nan, {"bbo_non_null_bid_px"}),
        ("ts", -5, {"monotone_bbo_ts"}),
    ],
)
def test_the_bbo_is_checked(column: str, value: object, failed: set[str]) -> None:
    assert _failed(bbo_checks(_set(_bbo(), 7, column, value))) == failed


def test_a_table_without_its_columns_fails_its_schema_check() -> None:
    (outcome,) = bbo_checks(_bbo().drop(columns=["ask_px"]))
    assert (outcome.name, outcome.passed, outcome.blocking) == ("bbo_schema", False, True)
    assert outcome.details == {"missing_columns": ["ask_px"]}


def test_funding_rate_unit_slips_and_bad_intervals_fail() -> None:
    frame = pd.DataFrame(
        {"ts": np.arange(4), "rate": [1e-4, 1.0, 1e-4, 1e-4], "interval_s": [3600, 3600, 0, 3600]}
    )
    assert _failed(funding_checks(frame)) == {
        "funding_rate_within_bounds", "positive_funding_interval"
    }


def test_empty_optional_tables_pass_with_zero_rows() -> None:
    for suite, table in ((bbo_checks, "bbo"), (funding_checks, "funding")):
        (outcome,) = suite(pd.DataFrame(columns=["ts", "rate", "interval_s", "bid_px", "bid_sz",
                                                 "ask_px", "ask_sz"]))
        assert outcome.passed and outcome.table == table and outcome.details == {"rows": 0}
