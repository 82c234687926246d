"""Book list columns to level arrays: Arrow and pandas inputs give the per-row reference,
on ragged, empty, too-deep and null rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from assets.features import _levels, quotes_from_lake


def _reference(rows: list[list[float] | None], depth: int) -> np.ndarray:
    out = np.full((len(rows), depth), np.nan)
    for i, levels in enumerate(rows):
        levels = levels or []
        k = min(depth, len(levels))
        out[i, :k] = np.asarray(levels[:k], dtype=float)
    return out


def test_levels_from_arrow_and_pandas_match_the_row_by_row_reference() -> None:
    rng = np.random.default_rng(5)
    rows: list[list[float] | None] = [list(rng.random(int(k))) for k in rng.integers(0, 8, 200)]
    rows[3] = []
    rows[7] = list(rng.random(30))  # deeper than asked: cut
    expected = _reference(rows, 5)
    as_arrow = pa.chunked_array([pa.array(rows[:100]), pa.array(rows[100:])])
    np.testing.assert_array_equal(_levels(as_arrow, 5), expected)
    as_pandas = pd.Series([np.asarray(r) for r in rows], dtype=object)
    np.testing.assert_array_equal(_levels(as_pandas, 5), expected)


def test_levels_of_null_empty_or_no_rows() -> None:
    nulls = pa.chunked_array([pa.array([None, [1.0, 2.0], None], pa.list_(pa.float64()))])
    np.testing.assert_array_equal(_levels(nulls, 2), _reference([None, [1.0, 2.0], None], 2))
    empty_lists = pa.chunked_array([pa.array([[], []], pa.list_(pa.float64()))])
    assert np.isnan(_levels(empty_lists, 3)).all()
    assert _levels(pa.chunked_array([], pa.list_(pa.float64())), 3).shape == (0, 3)
    assert _levels(pd.Series([], dtype=object), 3).shape == (0, 3)


def test_quotes_from_an_arrow_book_equal_those_from_its_pandas_frame() -> None:
    book = pa.table(
        {
            "ts": pa.array([1, 2, 3], pa.int64()),
            "bid_px": [[99.0, 98.0], [99.5], [99.0, 98.5, 98.0]],
            "bid_sz": [[1.0, 2.0], [3.0], [1.0, 1.0, 1.0]],
            "ask_px": [[101.0], [100.5, 101.0], [100.0]],
            "ask_sz": [[2.0], [1.0, 4.0], [5.0]],
        }
    )
    empty_bbo = pd.DataFrame(columns=["ts", "bid_px", "bid_sz", "ask_px", "ask_sz"])
    q_arrow, l_arrow = quotes_from_lake(empty_bbo, book, depth=3)
    q_pandas, l_pandas = quotes_from_lake(empty_bbo, book.to_pandas(), depth=3)
    pd.testing.assert_frame_equal(q_arrow, q_pandas)
    for key in l_pandas:
        np.testing.assert_array_equal(l_arrow[key], l_pandas[key])
    assert q_arrow["mid"].tolist() == [100.0, 100.0, 99.5]
