from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

import data_lake.sources
from data_lake.cli import app
from tests.data_lake.helpers import FIXTURES, gzip_truncated

runner = CliRunner()
SMALL = str(FIXTURES / "binance_small.txt")


def lake(home: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--home", str(home), *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_import_prints_counts_and_sql_agrees_in_every_format(tmp_path: Path) -> None:
    code, out = lake(tmp_path, "import", "binance", SMALL)
    assert code == 0, out
    assert "trades" in out and "before snapshot" in out
    code, out = lake(tmp_path, "sql", "select count(*) as n from trades", "--format", "csv")
    assert (code, out) == (0, "n\n2\n")
    code, out = lake(tmp_path, "sql", "select trade_id, side from trades order by 1",
                     "--format", "json")
    assert json.loads(out) == [{"trade_id": "1", "side": 1}, {"trade_id": "2", "side": -1}]
    code, out = lake(tmp_path, "sql", "select bid_px from book order by ts limit 1")
    assert code == 0 and "100" in out


def test_import_twice_leaves_the_same_rows(tmp_path: Path) -> None:
    for _ in range(2):
        code, _out = lake(tmp_path, "import", "binance", SMALL, "--symbol", "BTCUSDT")
        assert code == 0
    code, out = lake(tmp_path, "sql", 'select count(*) as n from book', "--format", "csv")
    assert out == "n\n3\n"


def test_ls_and_stats_describe_the_partitions(tmp_path: Path) -> None:
    code, out = lake(tmp_path, "ls")
    assert code == 0 and "empty" in out
    lake(tmp_path, "import", "binance", SMALL, "--book-interval-ms", "0", "--depth", "5")
    code, out = lake(tmp_path, "ls")
    assert code == 0 and "BTCUSDT" in out and "quarantine" in out
    code, out = lake(tmp_path, "stats", "trades")
    assert code == 0 and "BTCUSDT" in out and "price" in out
    code, out = lake(tmp_path, "stats", "quarantine")
    assert code == 0 and "before snapshot" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["import", "binance", "/no/such/file.gz"], "no such file: /no/such/file.gz"),
        (["import", "kraken", SMALL], "unknown source 'kraken'"),
        (["sql", "select * from nope"], "the query failed"),
        (["sql", "select 1", "--format", "xml"], "--format must be table, csv or json"),
        (["stats", "nope"], "unknown table 'nope'"),
        (["generate", "random"], "knows only 'synthetic'"),
    ],
)
def test_user_errors_exit_2_with_a_message_and_no_traceback(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    code, out = lake(tmp_path, *args)
    assert code == 2
    assert expected in " ".join(out.split())


def test_truncated_recording_imports_what_it_can_then_exits_2(tmp_path: Path) -> None:
    cut = gzip_truncated(FIXTURES / "binance_small.txt", tmp_path / "cut.gz", 0.8)
    code, out = lake(tmp_path / "home", "import", "binance", str(cut))
    assert code == 2
    flat = " ".join(out.split())
    assert "cut.gz" in flat and "last complete line is line" in flat and "re-download" in flat


def test_generate_calls_the_synthetic_generator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, object]] = []

    class Summary:
        def __init__(self) -> None:
            self.rows = {"trades": 12, "book": 3}

        def __str__(self) -> str:
            return "fake summary"

    def generate_to_lake(lake_obj: object, **kwargs: object) -> Summary:
        calls.append(kwargs)
        return Summary()

    fake = types.ModuleType("data_lake.sources.synthetic")
    fake.generate_to_lake = generate_to_lake  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "data_lake.sources.synthetic", fake)
    monkeypatch.setattr(data_lake.sources, "synthetic", fake, raising=False)
    code, out = lake(tmp_path, "generate", "synthetic", "--symbols", "BTC,ETH", "--days", "2",
                     "--seed", "7", "--start", "2024-01-01")
    assert code == 0, out
    assert calls[0]["symbols"] == ["BTC", "ETH"] and calls[0]["days"] == 2
    assert calls[0]["seed"] == 7 and str(calls[0]["start"]) == "2024-01-01"
    assert "fake summary" in out and "12" in out
