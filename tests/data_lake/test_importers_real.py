"""The real samples (../shared/data/real), imported once by the ``real_lake`` fixture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from data_lake.cli import app
from data_lake.lake import Lake
from tests.data_lake.helpers import lake_digest


def test_binance_trade_counts_match_the_recording(real_lake: Lake) -> None:
    assert len(real_lake.frame("trades", symbol="BTCUSDT")) == 21_313
    assert len(real_lake.frame("trades", symbol="ETHUSDT")) == 14_076
    counts = real_lake.sql(
        "select symbol, count(*) as n from trades where venue = 'binance' group by 1 order by 1"
    )
    assert counts["n"].tolist() == [21_313, 14_076]
    btc = real_lake.frame("trades", symbol="BTCUSDT")
    assert (btc["side"] == 1).sum() == 9_616  # buy aggressors per SOURCE.txt


def bbo_agreement(lake: Lake, symbol: str) -> float:
    """Share of diff rows whose best bid/ask equal the last bookTicker at or before T."""
    book = lake.frame("book", symbol=symbol, columns=["ts", "seq", "bid_px", "ask_px"])
    bbo = lake.frame("bbo", symbol=symbol, columns=["ts", "bid_px", "ask_px"])
    idx = np.searchsorted(bbo["ts"].to_numpy(), book["ts"].to_numpy(), side="right") - 1
    ok = idx >= 0
    best_bid = np.array([levels[0] for levels in book["bid_px"]])[ok]
    best_ask = np.array([levels[0] for levels in book["ask_px"]])[ok]
    same = (best_bid == bbo["bid_px"].to_numpy()[idx[ok]]) & (
        best_ask == bbo["ask_px"].to_numpy()[idx[ok]]
    )
    return float(same.mean())


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT"])
def test_rebuilt_book_agrees_with_book_ticker_on_99_percent_of_diffs(
    real_lake: Lake, symbol: str
) -> None:
    book = real_lake.frame("book", symbol=symbol)
    assert len(book) > 6_500  # a row at every applied diff
    assert (book["bid_px"].map(len) == 20).all() and (book["ask_px"].map(len) == 20).all()
    assert bbo_agreement(real_lake, symbol) >= 0.99
    quarantined = real_lake.sql(
        f"select reason from quarantine where symbol = '{symbol}'"
    )["reason"]
    assert quarantined.str.startswith("before snapshot").all()


def test_lobster_and_hyperliquid_samples_import(real_lake: Lake) -> None:
    goog = real_lake.frame("trades", symbol="GOOG", venue="lobster")
    assert len(goog) == 7_765 + 3_913
    assert goog["price"].between(563.73, 579.73).all()
    assert len(real_lake.frame("book", symbol="GOOG")) == 147_916
    btc = real_lake.frame("trades", symbol="BTC", venue="hyperliquid")
    assert len(btc) == 64
    assert len(real_lake.frame("book", symbol="BTC", venue="hyperliquid")) >= 40


def test_cli_import_of_a_real_file_twice_is_idempotent(
    real_data_dir: Path, tmp_path: Path
) -> None:
    path = real_data_dir / "binance_usdm_20240808" / "ethusdt_20240808.gz"
    home = tmp_path / "home"
    runner = CliRunner()
    result = runner.invoke(app, ["--home", str(home), "import", "binance", str(path)])
    assert result.exit_code == 0, result.output
    first = lake_digest(Lake.at(home))
    result = runner.invoke(app, ["--home", str(home), "import", "binance", str(path)])
    assert result.exit_code == 0
    assert lake_digest(Lake.at(home)) == first
    result = runner.invoke(
        app, ["--home", str(home), "sql", "select count(*) as n from trades", "--format", "csv"]
    )
    assert result.output == "n\n14076\n"
