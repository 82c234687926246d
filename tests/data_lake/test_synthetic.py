"""The synthetic market: determinism, lake output, book invariants, sweeps, truth documents."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from data_lake.lake import Lake
from data_lake.schemas import BBO, BOOK, FUNDING, TRADES
from data_lake.sources.synthetic import (
    DEFAULT_MARKET,
    GenerateSummary,
    SymbolDay,
    generate_symbol_day,
    generate_to_lake,
    read_truth,
    write_book,
)
from data_lake.sources.synthetic.book import _book_loop
from data_lake.sources.synthetic.price import _signal_level, heston_euler
from data_lake.writer import PartitionKey

DAY = dt.date(2026, 1, 5)
WINDOW_S = 7_200.0  # two hours: enough orders for the checks, fast to simulate


def order_table(day: SymbolDay) -> pd.DataFrame:
    """One row per aggressive order rebuilt from the published trades and bbo only:
    ts, side, deepest price, prints, mid (last bbo row at or before ts), depth_bps."""
    trades = day.table("trades").to_pandas()
    bbo = day.table("bbo").to_pandas()
    bbo["mid"] = (bbo["bid_px"] + bbo["ask_px"]) / 2.0
    grouped = trades.groupby(["ts", "side"], sort=True)
    orders = grouped.agg(
        max_px=("price", "max"), min_px=("price", "min"), prints=("price", "size")
    ).reset_index()
    orders["deepest"] = np.where(orders["side"] > 0, orders["max_px"], orders["min_px"])
    orders = pd.merge_asof(orders, bbo[["ts", "mid"]], on="ts", direction="backward")
    orders["depth_bps"] = (orders["deepest"] - orders["mid"]).abs() / orders["mid"] * 1e4
    return orders


@pytest.fixture(scope="module")
def btc_window() -> SymbolDay:
    return generate_symbol_day("BTC", DAY, seed=11, duration_s=WINDOW_S)


@pytest.fixture(scope="module")
def eth_window() -> SymbolDay:
    return generate_symbol_day("ETH", DAY, seed=11, duration_s=WINDOW_S)


@pytest.fixture(scope="module")
def sol_window() -> SymbolDay:
    return generate_symbol_day("SOL", DAY, seed=11, duration_s=WINDOW_S)


@pytest.fixture(scope="module")
def windows(btc_window: SymbolDay, eth_window: SymbolDay, sol_window: SymbolDay) -> list[SymbolDay]:
    return [btc_window, eth_window, sol_window]


def _lake_files(home: Path) -> dict[str, bytes]:
    root = home / "lake"
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".staging" not in p.parts
    }


@pytest.fixture(scope="module")
def sol_lakes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Lake, GenerateSummary]]:
    out = {}
    for name, seed in (("a", 7), ("b", 7), ("other", 8)):
        lake = Lake.at(tmp_path_factory.mktemp(f"synthetic_{name}"))
        out[name] = (lake, generate_to_lake(lake, symbols=["SOL"], days=2, seed=seed, start=None))
    return out


def test_same_seed_gives_byte_identical_lake(sol_lakes: dict) -> None:
    files_a = _lake_files(sol_lakes["a"][0].paths.home)
    files_b = _lake_files(sol_lakes["b"][0].paths.home)
    parquet = [name for name in files_a if name.endswith(".parquet")]
    assert len(parquet) == 8  # 4 tables x 2 days
    assert sum(name.endswith("truth.json") for name in files_a) == 2
    assert files_a.keys() == files_b.keys()
    for name in files_a:
        assert files_a[name] == files_b[name], name


def test_another_seed_gives_other_data(sol_lakes: dict) -> None:
    files_a = _lake_files(sol_lakes["a"][0].paths.home)
    files_other = _lake_files(sol_lakes["other"][0].paths.home)
    for name in files_a:
        if name.endswith(".parquet") or name.endswith(".json"):
            assert files_a[name] != files_other[name], name


def test_summary_counts_match_the_lake(sol_lakes: dict) -> None:
    lake, summary = sol_lakes["a"]
    assert summary.dates == [DAY, DAY + dt.timedelta(days=1)]
    for table in ("trades", "book", "bbo", "funding"):
        counted = lake.sql(f"SELECT count(*) AS n FROM {table} WHERE venue = 'synthetic'")
        assert int(counted["n"].iloc[0]) == summary.rows[table] > 0
    assert summary.rows["funding"] == 48
    text = summary.to_text()
    assert "SOL/2026-01-05" in text and "ground_truth" in text
    json.dumps(summary.to_dict())


def test_ground_truth_view_has_one_row_per_symbol_day(sol_lakes: dict) -> None:
    lake, _ = sol_lakes["a"]
    rows = lake.sql(
        "SELECT symbol, CAST(date AS VARCHAR) AS date, seed, hawkes.branching_ratio AS br, "
        "fill_depth.law AS law, realised.orders.total AS orders FROM ground_truth ORDER BY date"
    )
    assert rows["symbol"].tolist() == ["SOL", "SOL"]
    assert rows["date"].tolist() == ["2026-01-05", "2026-01-06"]
    assert rows["seed"].tolist() == [7, 7]
    assert rows["br"].iloc[0] == pytest.approx(0.45)
    assert rows["law"].iloc[0] == "exponential"
    trades = lake.sql(
        "SELECT count(DISTINCT (ts, side)) AS n FROM trades WHERE date = '2026-01-05'"
    )
    assert int(rows["orders"].iloc[0]) == int(trades["n"].iloc[0])


def test_days_are_chained_within_a_run(sol_lakes: dict) -> None:
    lake, _ = sol_lakes["a"]
    first = read_truth(lake.paths, "SOL", DAY)
    second = read_truth(lake.paths, "SOL", DAY + dt.timedelta(days=1))
    close = first["realised"]["price"]["close"]
    start = second["price"]["start_price"]
    assert abs(start / close - 1.0) < 1e-3  # the efficient price, within the mid's noise
    assert second["funding"]["rate_start"] != first["funding"]["rate_start"]


def test_write_book_gives_the_bytes_of_write_partition(
    tmp_path: Path, sol_window: SymbolDay
) -> None:
    key = PartitionKey("synthetic", "SOL", DAY)
    streamed = Lake.at(tmp_path / "streamed")
    in_memory = Lake.at(tmp_path / "in_memory")
    path = write_book(streamed, key, sol_window.book)
    result = in_memory.write_day("book", key, sol_window.table("book"), mode="replace")
    assert path.read_bytes() == result.path.read_bytes()
    # Replacing keeps nothing of the previous content.
    write_book(
        streamed,
        key,
        dataclasses.replace(
            sol_window.book,
            ts=sol_window.book.ts[:10],
            seq=sol_window.book.seq[:10],
            recv_ts=sol_window.book.recv_ts[:10],
            best_bid_ticks=sol_window.book.best_bid_ticks[:10],
            bid_sz=sol_window.book.bid_sz[:10],
            ask_sz=sol_window.book.ask_sz[:10],
        ),
    )
    assert pq.read_metadata(path).num_rows == 10


def test_tables_have_the_lake_schemas(btc_window: SymbolDay) -> None:
    for name, spec in (("trades", TRADES), ("book", BOOK), ("bbo", BBO), ("funding", FUNDING)):
        assert btc_window.table(name).schema == spec.schema
    assert btc_window.rows["funding"] == 2  # 00:00 and 01:00 of a two-hour window
    book = btc_window.table("book")
    assert book.num_rows == WINDOW_S  # one snapshot per second by default
    assert all(len(v) == 20 for v in book["bid_px"].to_pylist()[:5])


def test_book_is_never_crossed_and_sizes_are_positive(windows: list[SymbolDay]) -> None:
    for day in windows:
        book = day.table("book").to_pandas()
        bid_px = np.stack(book["bid_px"].to_numpy())
        ask_px = np.stack(book["ask_px"].to_numpy())
        assert np.all(bid_px[:, 0] < ask_px[:, 0]), day.symbol
        assert np.all(np.diff(bid_px, axis=1) < 0) and np.all(np.diff(ask_px, axis=1) > 0)
        for col in ("bid_sz", "ask_sz"):
            assert np.all(np.stack(book[col].to_numpy()) > 0), (day.symbol, col)
        assert np.all(np.diff(book["ts"].to_numpy()) > 0)
        bbo = day.table("bbo").to_pandas()
        assert np.all(bbo["bid_px"] < bbo["ask_px"])
        assert np.all(bbo["bid_sz"] > 0) and np.all(bbo["ask_sz"] > 0)
        assert np.all(np.diff(bbo["ts"]) >= 0) and np.all(np.diff(bbo["seq"]) > 0)


def test_trades_are_sorted_on_the_tick_grid(windows: list[SymbolDay]) -> None:
    for day in windows:
        trades = day.table("trades").to_pandas()
        tick = day.truth["price"]["tick_size"]
        lot = day.truth["book"]["lot_size"]
        assert np.all(np.diff(trades["ts"]) >= 0)
        assert trades["trade_id"].is_unique and trades["trade_id"].is_monotonic_increasing
        assert set(trades["side"].unique()) <= {-1, 1}
        assert np.all(trades["size"] >= lot - 1e-12)
        ticks = trades["price"] / tick
        assert np.allclose(ticks, np.round(ticks), atol=1e-6)
        assert np.all(trades["recv_ts"] >= trades["ts"])


def test_a_sweep_prints_consecutive_levels_at_one_timestamp(btc_window: SymbolDay) -> None:
    trades = btc_window.table("trades").to_pandas()
    bbo = btc_window.table("bbo").to_pandas()
    tick = btc_window.truth["price"]["tick_size"]
    offsets = np.asarray(btc_window.truth["book"]["level_offsets_ticks"])
    assert trades.groupby("ts")["side"].nunique().max() == 1  # one order per timestamp
    prints = trades.groupby("ts").size()
    assert prints.max() > 3 and prints.min() >= 1
    merged = pd.merge_asof(trades, bbo[["ts", "bid_px", "ask_px"]], on="ts")
    for ts, group in list(merged.groupby("ts"))[:500]:
        side = int(group["side"].iloc[0])
        touch = group["ask_px"].iloc[0] if side > 0 else group["bid_px"].iloc[0]
        away = np.rint((group["price"].to_numpy() - touch) * side / tick).astype(int)
        assert away[0] == 0, ts  # first print at the touch
        assert np.all(np.diff(away) > 0), ts  # then strictly deeper
        # Every print but the last sits on a visible level.
        assert set(away[:-1]) <= set(offsets.tolist()), ts


def test_deepest_print_sits_at_the_planted_depth(windows: list[SymbolDay]) -> None:
    for day in windows:
        orders = order_table(day)
        assert len(orders) == day.orders.n
        tick_bps = day.truth["price"]["tick_size"] / orders["mid"].to_numpy() * 1e4
        spread = day.truth["price"]["spread_ticks"]
        planted = np.maximum(day.orders.depth_bps, spread * tick_bps / 2.0)
        err = np.abs(orders["depth_bps"].to_numpy() - planted)
        assert np.all(err <= tick_bps / 2.0 + 1e-6), day.symbol


def test_truth_document_is_plain_json(btc_window: SymbolDay) -> None:
    text = json.dumps(btc_window.truth, allow_nan=False)
    doc = json.loads(text)
    for section in ("price", "hawkes", "fill_depth", "informed", "microprice", "book", "funding"):
        assert section in doc
    assert doc["hawkes"]["alpha"] == [[0.5, 0.1], [0.1, 0.5]]
    assert len(doc["hawkes"]["stationary_rate_per_hour"]["buy"]) == 24
    assert doc["realised"]["orders"]["total"] == btc_window.orders.n


def test_bad_requests_fail_with_a_reason(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    with pytest.raises(ValueError, match="unknown synthetic symbol 'DOGE'"):
        generate_to_lake(lake, symbols=["DOGE"], days=1, seed=1, start=None)
    with pytest.raises(ValueError, match="days must be >= 1"):
        generate_to_lake(lake, symbols=None, days=0, seed=1, start=None)
    with pytest.raises(ValueError, match="non-negative"):
        generate_symbol_day("BTC", DAY, seed=-1, duration_s=60.0)
    with pytest.raises(ValueError, match="multiple of step_s"):
        DEFAULT_MARKET.with_snapshot_interval(0.25)


def test_jitted_kernels_match_their_python_reference() -> None:
    rng = np.random.default_rng(3)
    zx, zv = rng.standard_normal(500), rng.standard_normal(500)
    args = (zx, zv, 0.3, 4.0, 0.25, 2.5, 1e-3)  # large xi dt: the truncation is exercised
    jitted, reference = heston_euler(*args), heston_euler.py_func(*args)
    assert np.min(jitted[1]) == 0.0
    for jit_out, py_out in zip(jitted, reference, strict=True):
        np.testing.assert_allclose(np.asarray(jit_out), np.asarray(py_out), rtol=1e-12)
    pulses = rng.standard_normal(40)
    np.testing.assert_allclose(
        _signal_level(pulses, 5, 3, 0.9, 200), _signal_level.py_func(pulses, 5, 3, 0.9, 200)
    )
    day = generate_symbol_day("SOL", DAY, seed=2, duration_s=120.0)
    n_steps = 1_200
    bid = np.full(n_steps, 150_000, dtype=np.int64) + rng.integers(-3, 4, n_steps).cumsum()
    offsets = np.asarray(day.truth["book"]["level_offsets_ticks"], dtype=np.int64)
    targets = np.asarray(day.truth["book"]["level_target_sizes"])
    n_orders = 300
    step = np.sort(rng.integers(0, n_steps, n_orders))
    side = rng.choice(np.array([-1, 1], dtype=np.int8), n_orders)
    final = np.where(
        side > 0,
        bid[step] + 2 + rng.integers(0, 600, n_orders),
        bid[step] - rng.integers(0, 600, n_orders),
    )
    kernel_args = (
        bid,
        2,
        10,
        100_000_000,
        0,
        offsets,
        targets,
        0.05 * targets,
        0.01,
        rng.lognormal(3, 1, 120),
        rng.lognormal(3, 1, 120),
        step,
        step * 100_000_000 + 5,
        side,
        final,
        rng.lognormal(1, 1, n_orders),
        1e-3,
    )
    for jit_out, py_out in zip(
        _book_loop(*kernel_args), _book_loop.py_func(*kernel_args), strict=True
    ):
        np.testing.assert_allclose(jit_out, py_out)


def test_truth_covers_every_quoting_field(btc_window: SymbolDay) -> None:
    """Each field the trader reads has a planted or derived truth (or says why none)."""
    from data_lake.registry.document import QuotingParams

    quoting = btc_window.truth["quoting"]
    missing = sorted(set(QuotingParams.model_fields) - set(quoting))
    assert missing == []
    for name, entry in quoting.items():
        assert entry["how"], name
        assert "value" in entry or {"low", "high"} <= set(entry), name
    # Exponential book: the GLFT line through the planted fill rate is the law itself.
    assert quoting["kappa_bid_per_bps"]["value"] == pytest.approx(
        btc_window.truth["fill_depth"]["kappa_per_bps"]
    )
    t = btc_window.truth["quoting"]
    assert t["sigma_diffusion_bps_per_sqrt_s"]["value"] <= t["sigma_total_bps_per_sqrt_s"]["value"]
