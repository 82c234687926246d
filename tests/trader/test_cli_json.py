"""``trader ... --json`` on the commands that print tables (list, show, backtest and run
have their own tests): one JSON document on stdout whose values are the registry's and the
saved state's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from typer.testing import CliRunner

from data_lake.json_output import ns_iso
from data_lake.paths import LakePaths
from data_lake.registry import ParamRegistry
from data_lake.registry.report import report_path, write_report
from tests.data_lake.test_params import make_document
from trader.cli import app
from trader.live.files import TraderFiles


def _json(home: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, list(args), env={"MMCAL_HOME": str(home), "COLUMNS": "40"})
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


def _published(home: Path) -> tuple[ParamRegistry, str, str]:
    registry = ParamRegistry(LakePaths.at(home), refresh_catalog=False)
    first = registry.submit(make_document(score=-1.0)).version
    second = registry.submit(make_document(seed=1, score=-0.9)).version
    assert first is not None and second is not None
    return registry, first, second


def test_params_report_json_summarises_the_set_and_names_the_report(tmp_path: Path) -> None:
    registry, _, version = _published(tmp_path)
    document = registry.load("BTC", version)
    write_report(registry.path_of("BTC", version), document, None, {})
    doc = _json(tmp_path, "params", "report", "latest", "--symbol", "BTC", "--json")
    assert doc["version"] == version and doc["status"] == "published"
    assert doc["report_path"] == str(report_path(registry.path_of("BTC", version)))
    assert [m["model"] for m in doc["models"]] == sorted(document.models)
    for model in doc["models"]:
        assert model["fitted"] is True and model["estimates"] > 0
        first = model["first_estimate"]
        if first is not None:  # the raw number, not its printed form
            value: Any = document.estimates(model["model"])
            for part in first["name"].split("."):
                value = value[part]
            assert first["value"] == value and first["unit"]
    assert document.validation is not None
    assert doc["validation"]["candidate"] == document.validation.scores[
        document.validation.primary]


def test_params_rollback_json_is_the_logged_decision(tmp_path: Path) -> None:
    registry, first, second = _published(tmp_path)
    doc = _json(tmp_path, "params", "rollback", "BTC", first, "--reason", "test", "--json")
    assert (doc["version"], doc["previous"], doc["event"]) == (first, second, "rollback")
    assert doc == registry.decisions("BTC")[-1].to_dict()


def test_status_json_gives_the_replay_position_as_ns_and_iso(tmp_path: Path) -> None:
    files = TraderFiles(LakePaths.at(tmp_path))
    at = 1_767_571_200_250_000_001
    pnl = {"spread_capture": 1.5, "adverse_selection": -0.5, "inventory_carry": 0.25,
           "funding": 0.0, "fees": -0.1, "total": 1.15}
    files.save_state({
        "saved_at": "2026-01-05T00:00:01+00:00", "running": False, "started_at": "x",
        "params_spec": "latest", "venue": "paper",
        "kill": {"active": False, "reasons": []},
        "symbols": {
            "BTC": {"venue": "synthetic", "params_version": "000001-aa", "position": 0.25,
                    "mid": 101.5, "fills": 7, "open_orders": [], "pnl": pnl,
                    "feed": {"day": "2026-01-05", "last_ts_ns": at}},
            "ETH": {"venue": "synthetic", "params_version": "000001-bb", "position": 0.0,
                    "mid": None, "fills": 0, "open_orders": [], "pnl": pnl,
                    "feed": {"day": "2026-01-05", "last_ts_ns": -1}},
        },
    })
    doc = _json(tmp_path, "status", "--json")
    assert doc["running"] is False and doc["pid"] is None
    btc, eth = doc["symbols"]["BTC"], doc["symbols"]["ETH"]
    assert btc["position"] == 0.25 and btc["pnl"] == pnl and btc["fills"] == 7
    assert btc["feed"]["last_ts_ns"] == at and btc["feed"]["last_ts"] == ns_iso(at)
    assert btc["feed"]["last_ts"] == "2026-01-05T00:00:00.250000001Z"
    assert eth["feed"]["last_ts"] is None and eth["feed"]["last_ts_ns"] == -1  # not started
