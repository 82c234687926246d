"""``trader params list|show|rollback`` through Typer's CliRunner."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from data_lake.paths import LakePaths
from data_lake.registry import ParamRegistry
from tests.data_lake.test_params import make_document, old_style_models
from trader.cli import EXIT_USAGE, app


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def published(home: Path) -> dict[str, str]:
    """BTC: v1 published, v2 published (latest), v3 rejected; ETH: v1 published."""
    registry = ParamRegistry(LakePaths.at(home), refresh_catalog=False)
    versions = {}
    for name, doc in {
        "btc1": make_document(score=-1.0),
        "btc2": make_document(seed=1, score=-0.9),
        "btc3": make_document(seed=2, failed_check=True),
        "eth1": make_document("ETH", kappa_bid=0.5),
    }.items():
        decision = registry.submit(doc)
        assert decision.version is not None
        versions[name] = decision.version
    return versions


def _run(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app, list(args), env={"MMCAL_HOME": str(home), "COLUMNS": "200"}
    )
    return result.exit_code, result.stdout, result.stderr


def test_list_shows_versions_and_marks_latest(home: Path, published: dict[str, str]) -> None:
    code, out, _ = _run(home, "params", "list")
    assert code == 0
    for key in ("btc1", "btc2", "eth1"):
        assert published[key] in out
    assert published["btc3"] not in out
    assert f"published: BTC {published['btc2']}, ETH {published['eth1']}" in out
    assert "1 rejected hidden" in out


def test_list_json_is_parseable_and_says_what_the_table_says(
    home: Path, published: dict[str, str]
) -> None:
    code, out, _ = _run(home, "params", "list", "--json")
    assert code == 0
    doc = orjson.loads(out)
    shown = {(v["symbol"], v["version"]): v for v in doc["versions"]}
    assert set(shown) == {("BTC", published["btc1"]), ("BTC", published["btc2"]),
                          ("ETH", published["eth1"])}
    assert shown[("BTC", published["btc2"])]["latest"] is True
    assert shown[("BTC", published["btc1"])]["latest"] is False
    assert doc["last_decision"]["BTC"]["version"] == published["btc3"]
    code, out, _ = _run(home, "params", "list", "--json", "--all", "--symbol", "BTC")
    statuses = {v["version"]: v["status"] for v in orjson.loads(out)["versions"]}
    assert statuses[published["btc3"]] == "rejected"


def test_list_all_for_one_symbol_shows_rejections_with_reasons(
    home: Path, published: dict[str, str]
) -> None:
    registry = ParamRegistry(LakePaths.at(home), refresh_catalog=False)
    bad = make_document(seed=5)
    bad["quoting"]["A_bid_per_s"] = 0.0
    registry.submit(bad)
    code, out, _ = _run(home, "params", "list", "--symbol", "BTC", "--all")
    assert code == 0
    assert published["btc3"] in out and "failed blocking checks" in out
    assert "bounds: quoting.A_bid_per_s" in out and "rejected/" in out
    assert published["eth1"] not in out


def test_home_option_overrides_the_environment(home: Path, published: dict[str, str]) -> None:
    result = CliRunner().invoke(
        app, ["--home", str(home), "params", "list"], env={"MMCAL_HOME": "/nonexistent"}
    )
    assert result.exit_code == 0 and published["btc2"] in result.stdout


def test_list_on_an_empty_home_says_how_to_get_param_sets(home: Path) -> None:
    code, out, _ = _run(home, "params", "list")
    assert code == 0 and "No param sets" in out and "make run" in out


def test_show_latest_prints_quoting_block_and_key_estimates(
    home: Path, published: dict[str, str]
) -> None:
    code, out, _ = _run(home, "params", "show", "latest", "--symbol", "BTC")
    assert code == 0
    assert published["btc2"] in out and "published" in out
    assert "kappa_bid_per_bps" in out and "1/bps" in out and "0.35" in out
    assert "sigma_bps_per_sqrt_s" in out and "bps/sqrt(s)" in out
    assert "hawkes" in out and "branching_ratio" in out and "[[0.3, 0.1], [0.1, 0.3]]" in out
    assert "oos_loglik_per_event = -0.9" in out
    assert "hyperliquid/BTC/2024-01-01" in out


def test_show_reads_a_document_written_before_the_stderr_renames(home: Path) -> None:
    registry = ParamRegistry(LakePaths.at(home), refresh_catalog=False)
    version = registry.write(make_document("SOL", models=old_style_models()))
    code, out, _ = _run(home, "params", "show", version, "--symbol", "SOL")
    assert code == 0 and version in out
    assert "ols_coef_stderr_bps" in out and "[0.1, 0.2]" in out
    assert "ols_stderr_bps" not in out


def test_show_a_version_without_symbol_finds_its_owner(
    home: Path, published: dict[str, str]
) -> None:
    code, out, _ = _run(home, "params", "show", published["btc3"])
    assert code == 0
    assert "rejected" in out and "no_crossed_books on hyperliquid/BTC/2024-01-01" in out


def test_show_json_is_the_whole_document(home: Path, published: dict[str, str]) -> None:
    code, out, _ = _run(home, "params", "show", "latest", "-s", "ETH", "--json")
    assert code == 0
    doc = orjson.loads(out)
    assert doc["version"] == published["eth1"] and doc["status"] == "published"
    assert doc["quoting"]["kappa_bid_per_bps"] == 0.5


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("show", "latest", "--symbol", "DOGE"),
         "no param sets for symbol 'DOGE'; known symbols: BTC, ETH"),
        (("show", "latest"), "several symbols have param sets (BTC, ETH); pass --symbol"),
        (("show", "000042-deadbeef"), "no symbol has version '000042-deadbeef'"),
        (("show", "000042-deadbeef", "-s", "BTC"),
         "no version '000042-deadbeef' for BTC; versions:"),
        (("list", "--symbol", "SOL"), "known symbols: BTC, ETH"),
        (("rollback", "DOGE", "000001-deadbeef"), "known symbols: BTC, ETH"),
    ],
)
def test_unknown_names_exit_2_and_say_what_exists(
    home: Path, published: dict[str, str], args: tuple[str, ...], fragment: str
) -> None:
    code, out, err = _run(home, "params", *args)
    assert code == EXIT_USAGE
    assert fragment in " ".join(err.split())
    assert "Traceback" not in out + err


def test_rollback_moves_latest_and_logs(home: Path, published: dict[str, str]) -> None:
    code, out, _ = _run(
        home, "params", "rollback", "BTC", published["btc1"], "--reason", "bad fills"
    )
    assert code == 0
    assert f"latest is now {published['btc1']} (was {published['btc2']})" in " ".join(out.split())
    registry = ParamRegistry(LakePaths.at(home), refresh_catalog=False)
    assert registry.latest_version("BTC") == published["btc1"]
    last = registry.decisions("BTC")[-1]
    assert last.event == "rollback" and "bad fills" in last.reason
    assert (home / "lake.duckdb").exists()  # the CLI refreshed the catalog views


def test_rollback_to_a_rejected_version_is_refused(home: Path, published: dict[str, str]) -> None:
    code, _, err = _run(home, "params", "rollback", "BTC", published["btc3"])
    assert code == EXIT_USAGE
    assert "was never published" in err and published["btc1"] in err
    registry = ParamRegistry(LakePaths.at(home), refresh_catalog=False)
    assert registry.latest_version("BTC") == published["btc2"]


def test_show_refuses_a_corrupt_file_and_names_it(home: Path, published: dict[str, str]) -> None:
    path = home / "params" / "ETH" / f"{published['eth1']}.json"
    os.chmod(path, 0o644)
    doc = orjson.loads(path.read_bytes())
    doc["quoting"]["hawkes_branching_ratio"] = 1.3
    path.write_bytes(orjson.dumps(doc))
    code, _, err = _run(home, "params", "show", "latest", "--symbol", "ETH")
    assert code == EXIT_USAGE
    flat = "".join(err.split())
    assert "".join(str(path).split()) in flat and "quoting.hawkes_branching_ratio" in flat


def test_show_lists_each_fallback_with_its_reason_and_source(home: Path) -> None:
    registry = ParamRegistry(LakePaths.at(home), refresh_catalog=False)
    doc = make_document(schema_version=2)
    doc["fallbacks"] = [
        {"field": "hawkes_branching_ratio", "reason": "Hawkes fit did not converge",
         "source": "version 000001-0123abcd", "value": 0.62},
        {"field": "as_addon_bps", "reason": "too few trades", "source": "bound", "value": 3.0},
    ]
    decision = registry.submit(doc)
    code, out, _ = _run(home, "params", "show", str(decision.version))
    assert code == 0 and "Fallbacks" in out
    assert "Hawkes fit did not converge" in out and "version 000001-0123abcd" in out
    assert "too few trades" in out and "bound" in out


def test_list_shows_that_a_rerun_published_nothing_new(
    home: Path, published: dict[str, str]
) -> None:
    registry = ParamRegistry(LakePaths.at(home), refresh_catalog=False)
    registry.submit(make_document("ETH", kappa_bid=0.5))  # the same fit again
    code, out, _ = _run(home, "params", "list")
    assert code == 0
    assert "ETH last decision" in out and f"unchanged {published['eth1']}" in out
    assert f"same fit as the published {published['eth1']}" in out
    assert f"published: BTC {published['btc2']}, ETH {published['eth1']}" in out
    assert "BTC last decision" not in out  # a rejection, hidden without --all
    code, out, _ = _run(home, "params", "list", "--all")
    assert "BTC last decision" in out and "failed_checks" in out


def test_report_prints_the_report_path_and_a_summary(
    home: Path, published: dict[str, str]
) -> None:
    from data_lake.registry.report import report_path, write_report

    version = published["btc2"]
    code, _, err = _run(home, "params", "report", version, "--symbol", "BTC")
    assert code == EXIT_USAGE  # written by the nightly job; none yet
    assert "no report for BTC" in err and "published_params" in err
    registry = ParamRegistry(LakePaths.at(home), refresh_catalog=False)
    document = registry.path_of("BTC", version)
    write_report(document, registry.load("BTC", version), None, {})
    code, out, _ = _run(home, "params", "report", "latest", "--symbol", "BTC")
    assert code == 0, out
    assert out.strip().splitlines()[-1] == str(report_path(document))
    assert "hawkes" in out and "fill_depth" in out and "published" in out
