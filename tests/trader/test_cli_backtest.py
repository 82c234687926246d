"""``trader backtest`` on a small synthetic lake with a published set, through CliRunner."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from data_lake.json_output import ns_iso
from data_lake.lake import Lake
from data_lake.partitions import day_window_ns
from data_lake.paths import LakePaths
from data_lake.registry import ParamRegistry
from data_lake.sources.synthetic import generate_to_lake
from tests.data_lake.test_params import make_document
from trader.backtest_window import default_window, parse_time
from trader.cli import EXIT_USAGE, app

SYMBOL = "SOL"  # the smallest default symbol-day
FIT_DAY = dt.date(2026, 1, 5)
NEXT_DAY = FIT_DAY + dt.timedelta(days=1)


def synthetic_document(symbol: str, fit_day: dt.date, *, held_out: dt.date | None = None,
                       seed: int = 0) -> dict[str, Any]:
    """A valid document fitted (by its window and partitions) on ``synthetic/symbol/fit_day``."""
    partition = f"synthetic/{symbol}/{fit_day.isoformat()}"
    doc = make_document(symbol, venue="synthetic", score=None, seed=seed)
    start, end = day_window_ns(fit_day)
    doc["window"] = {"start_ns": start, "end_ns": end}
    doc["partitions"] = [partition]
    for check in doc["quality"]:
        check["partition"] = partition
    if held_out is not None:
        out = f"synthetic/{symbol}/{held_out.isoformat()}"
        doc["validation"] = {"primary": "oos_loglik_per_event",
                             "scores": {"oos_loglik_per_event": -1.0}, "held_out": [out]}
        doc["quality"].append({"partition": out, "table": "bbo", "check": "no_crossed_bbo",
                               "passed": True})
    return doc


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two synthetic SOL days and a published SOL set fitted on the first."""
    root = tmp_path_factory.mktemp("backtest_home")
    generate_to_lake(Lake.at(root), symbols=[SYMBOL], days=2, seed=5, start=FIT_DAY)
    registry = ParamRegistry(LakePaths.at(root), refresh_catalog=False)
    assert registry.submit(synthetic_document(SYMBOL, FIT_DAY)).version is not None
    return root


def _run(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--home", str(home), *args], env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def _window_args(hours: int = 1) -> list[str]:
    start = dt.datetime.combine(NEXT_DAY, dt.time(6), tzinfo=dt.UTC)
    end = start + dt.timedelta(hours=hours)
    return ["--start", start.isoformat(), "--end", end.isoformat()]


def test_backtest_json_is_one_document_with_attribution_that_sums(
    home: Path, tmp_path: Path
) -> None:
    png = tmp_path / "curve.png"
    code, out, _ = _run(home, "backtest", "--params", "latest", "--symbol", SYMBOL, "--json",
                        "--png", str(png), *_window_args())
    assert code == 0, out
    doc = orjson.loads(out)
    parts = doc["attribution"]
    total = math.fsum(parts[k] for k in ("spread_capture", "adverse_selection",
                                         "inventory_carry", "funding", "fees"))
    assert abs(total - parts["total"]) <= 1e-9
    assert doc["fills"] > 0 and doc["events"] > 10_000
    assert doc["window_start_ns"] == parse_time(f"{NEXT_DAY}T06:00")
    assert doc["window_start"] == f"{NEXT_DAY}T06:00:00.000000000Z"
    assert doc["hours"] and all(h["hour_start"] == ns_iso(h["hour_start_ns"])
                                for h in doc["hours"])
    assert doc["window_source"] == "--start/--end"
    assert doc["settings"]["tick_size"] == 0.001 and doc["param_version"].startswith("000001")
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = Lake.at(home).sql(
        f"select run_id, total, fills, png_path from backtests where run_id = '{doc['run_id']}'"
    )
    assert len(rows) == 1 and rows["total"].iloc[0] == pytest.approx(parts["total"], abs=1e-9)
    assert rows["fills"].iloc[0] == doc["fills"] and rows["png_path"].iloc[0] == str(png)
    # The same backtest again is the same run: still one row.
    code, out, _ = _run(home, "backtest", "--params", doc["param_version"], "--symbol", SYMBOL,
                        "--json", "--png", str(png), *_window_args())
    assert code == 0 and orjson.loads(out)["run_id"] == doc["run_id"]
    assert Lake.at(home).sql("select count(*) as n from backtests")["n"].iloc[0] == 1


def test_backtest_prints_the_tables_and_where_the_curve_is(home: Path) -> None:
    code, out, _ = _run(home, "backtest", "-p", "latest", "-s", SYMBOL, "--no-record",
                        *_window_args())
    assert code == 0, out
    for text in ("P&L attribution", "spread capture", "adverse selection", "inventory carry",
                 "funding", "fees", "total", "fill ratio", "time at position limit",
                 "max drawdown", "Per hour", "equity curve:", "Fallbacks"):
        assert text in out, text
    png = Path(out.split("equity curve:")[1].split()[0])
    assert png.parent == home / "backtests" and png.is_file()
    assert "recorded as run" not in out


def test_default_window_is_the_held_out_day_else_the_day_after_the_fit(home: Path) -> None:
    from data_lake.registry import ParamSet

    paths = LakePaths.at(home)
    after = ParamSet.model_validate(synthetic_document(SYMBOL, FIT_DAY))
    window = default_window(after, paths, "synthetic")
    assert (window.start_ns, window.end_ns) == day_window_ns(NEXT_DAY)
    assert "day after" in window.source
    held = ParamSet.model_validate(synthetic_document(SYMBOL, NEXT_DAY, held_out=FIT_DAY))
    window = default_window(held, paths, "synthetic")
    assert (window.start_ns, window.end_ns) == day_window_ns(FIT_DAY)
    assert window.source.startswith("held-out day")
    late = ParamSet.model_validate(synthetic_document(SYMBOL, NEXT_DAY))
    window = default_window(late, paths, "synthetic")
    assert (window.start_ns, window.end_ns) == day_window_ns(NEXT_DAY)
    assert "newest lake day" in window.source and "in sample" in window.source


def test_errors_a_person_can_fix_exit_2_with_what_to_do(home: Path, tmp_path: Path) -> None:
    code, _, err = _run(home, "backtest", "-p", "latest", "-s", SYMBOL, "--venue", "binance")
    assert code == EXIT_USAGE and "no trader settings for binance/SOL" in err
    assert "synthetic/SOL" in err and "binance/BTCUSDT" in err
    code, _, err = _run(home, "backtest", "-p", "latest", "-s", SYMBOL, "--start", "2026-01-06")
    assert code == EXIT_USAGE and "give both --start and --end" in err
    code, _, err = _run(home, "backtest", "-p", "latest", "-s", SYMBOL, "--start", "yesterday",
                        "--end", "2026-01-06")
    assert code == EXIT_USAGE and "cannot read time 'yesterday'" in err
    code, _, err = _run(home, "backtest", "-p", "000042-00000000", "-s", SYMBOL)
    assert code == EXIT_USAGE and "no version '000042-00000000' for SOL" in err
    other = tmp_path / "eth.json"
    other.write_bytes(orjson.dumps(synthetic_document("ETH", FIT_DAY)))
    code, _, err = _run(home, "backtest", "-p", str(other), "-s", "ETH")
    assert code == EXIT_USAGE and "no trades, bbo or book for synthetic/ETH" in err
    code, _, err = _run(home, "backtest", "-p", "latest", "-s", SYMBOL,
                        "--start", "2027-01-01", "--end", "2027-01-02")
    assert code == EXIT_USAGE and "no synthetic/SOL events" in err


def test_backtest_uses_the_sets_fitted_queue_model_unless_one_is_chosen(
    home: Path, tmp_path: Path
) -> None:
    raw = synthetic_document(SYMBOL, FIT_DAY)
    raw["quoting"].update(queue_model="prob_power", queue_power_n=0.5)
    path = tmp_path / "fitted_queue.json"
    path.write_bytes(orjson.dumps(raw))
    base = ["backtest", "--params", str(path), "--symbol", SYMBOL, "--json", "--no-record",
            "--png", str(tmp_path / "curve.png"), *_window_args()]
    code, out, _ = _run(home, *base)
    assert code == 0, out
    fitted = orjson.loads(out)
    assert fitted["queue"]["model"] == "prob_power" and fitted["queue"]["power_n"] == 0.5
    assert fitted["queue"]["source"].startswith("fitted from L3 events")
    code, out, _ = _run(home, *base, "--queue", "risk_averse")
    assert code == 0, out
    chosen = orjson.loads(out)
    assert chosen["queue"] == {"model": "risk_averse", "power_n": None,
                               "source": "chosen by the user"}
    print(f"fills: fitted queue {fitted['fills']}, risk-averse {chosen['fills']}")
