"""``trader run --venue hyperliquid`` against the local server: GLFT quotes from a param
set, signed with a key from a 0600 file; the key is refused on the command line."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from tests.trader.hyperliquid.conftest import KEY, hyperliquid_home
from tests.trader.hyperliquid.server import FakeHyperliquid
from trader.cli import app


def test_run_on_the_hyperliquid_venue(hl: FakeHyperliquid, tmp_path: Path) -> None:
    home, params, key = hyperliquid_home(tmp_path)
    result = CliRunner().invoke(app, [
        "--home", str(home), "run", "--venue", "hyperliquid", "--params", str(params),
        "--symbols", "BTC", "--hl-url", hl.rest_url, "--hl-ws-url", hl.ws_url,
        "--key-file", str(key), "--duration", "2.5", "--metrics-port", "0", "--json"])
    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.stdout[result.stdout.index("{"):])
    assert summary["stopped_by"] == "duration 2.5 s elapsed"
    assert summary["resyncs"] >= 1 and summary["sent"]["order"] >= 1
    # An unskewed server: the offset is zero within the estimate's own bound.
    assert abs(summary["clock_offset_ms"]) <= summary["clock_uncertainty_ms"] + 0.5
    assert summary["rtt_ms"] > 0
    placed = [w for a in hl.actions if a["type"] == "order" for w in a["orders"]]
    assert {w["b"] for w in placed} == {True, False}  # GLFT quoted both sides
    assert hl.resting() == []  # everything cancelled at the end
    assert KEY[2:] not in result.output


def test_key_is_never_a_command_line_option(tmp_path: Path) -> None:
    home, params, key = hyperliquid_home(tmp_path)
    for flag in ("--private-key", "--key"):
        result = CliRunner().invoke(app, ["--home", str(home), "run", "--venue",
                                          "hyperliquid", flag, KEY])
        assert result.exit_code == 2 and "No such option" in result.output
    key.chmod(0o644)
    result = CliRunner().invoke(app, [
        "--home", str(home), "run", "--venue", "hyperliquid", "--params", str(params),
        "--symbols", "BTC", "--hl-url", "http://127.0.0.1:9", "--key-file", str(key)])
    assert result.exit_code == 2 and "chmod 600" in result.output
