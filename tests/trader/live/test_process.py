"""``trader run`` as a real process: metrics scrape, kill/reset/status, SIGTERM, resume."""

from __future__ import annotations

import signal
import time
import urllib.request
from pathlib import Path
from typing import Any

import orjson
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from data_lake.paths import LakePaths
from tests.trader.live.conftest import SYMBOL, new_home
from tests.trader.live.trader_subprocess import free_port, start_trader, wait_until
from trader.cli import app
from trader.live.files import TraderFiles
from trader.live.metrics import METRIC_NAMES

_WAIT_S = 240.0


def _state(files: TraderFiles) -> dict[str, Any] | None:
    try:
        return files.load_state()
    except ValueError:
        return None


def _scrape(port: int) -> dict[str, list[Any]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def _value(samples: list[Any], name: str, **labels: str) -> float:
    for s in samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return float(s.value)
    raise KeyError(f"{name} {labels}")


def _cli(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--home", str(home), *args], env={"COLUMNS": "200"})
    return result.exit_code, result.stdout


def test_running_trader_metrics_kill_reset_sigterm_and_resume(
    tmp_path: Path, live_home: Path
) -> None:
    home = new_home(tmp_path, live_home)
    files = TraderFiles(LakePaths.at(home))
    port = free_port()
    proc = start_trader(home, "--symbols", SYMBOL, "--speed", "0", "--metrics-port", str(port),
                        "--save-every", "0.3", "--stale-after", "1000")
    try:
        saved = wait_until("fills and a position in the saved state", lambda: (
            (s := _state(files)) is not None and s["running"]
            and s["symbols"][SYMBOL]["fills"] > 0 and s["symbols"][SYMBOL]["position"] != 0
            and s), proc, _WAIT_S)
        assert files.running_pid() == proc.pid

        # The Prometheus endpoint of the running trader, parsed.
        metrics = _scrape(port)
        for name in METRIC_NAMES:
            family = name.removesuffix("_total")
            assert family in metrics, name
        assert _value(metrics["mmcal_trader_fills"], "mmcal_trader_fills_total",
                      symbol=SYMBOL) >= saved["symbols"][SYMBOL]["fills"]
        assert _value(metrics["mmcal_trader_kill_switch_active"],
                      "mmcal_trader_kill_switch_active") == 0.0
        assert _value(metrics["mmcal_trader_loop_latency_seconds"],
                      "mmcal_trader_loop_latency_seconds_count") > 0
        assert _value(metrics["mmcal_trader_params_version_info"],
                      "mmcal_trader_params_version_info", symbol=SYMBOL,
                      version=saved["symbols"][SYMBOL]["params_version"]) == 1.0

        # trader kill on the running trader: quoting stops, every order is cancelled.
        code, out = _cli(home, "kill", "--reason", "test stop")
        assert code == 0 and f"pid {proc.pid}" in out
        wait_until("the kill in the metrics", lambda: _value(
            _scrape(port)["mmcal_trader_kill_switch_active"],
            "mmcal_trader_kill_switch_active") == 1.0, proc, _WAIT_S)
        quotes_at_kill = _value(_scrape(port)["mmcal_trader_quotes"],
                                "mmcal_trader_quotes_total", symbol=SYMBOL)
        time.sleep(1.0)
        after = _scrape(port)
        assert _value(after["mmcal_trader_quotes"], "mmcal_trader_quotes_total",
                      symbol=SYMBOL) == quotes_at_kill
        assert _value(after["mmcal_trader_resting_orders"], "mmcal_trader_resting_orders",
                      symbol=SYMBOL) == 0.0
        assert _value(after["mmcal_trader_kill_switch_reasons"],
                      "mmcal_trader_kill_switch_reasons", trigger="manual") == 1.0
        code, out = _cli(home, "status", "--json")
        status = orjson.loads(out)
        assert code == 0 and status["running"] and status["pid"] == proc.pid
        assert status["kill"]["reasons"][0]["detail"] == "test stop"

        # trader reset: quoting resumes.
        assert _cli(home, "reset")[0] == 0
        wait_until("quoting again after the reset", lambda: _value(
            _scrape(port)["mmcal_trader_quotes"], "mmcal_trader_quotes_total",
            symbol=SYMBOL) > quotes_at_kill, proc, _WAIT_S)

        # Stop it holding a position (kill freezes it), so the restart has one to resume.
        position = 0.0
        for _attempt in range(20):
            _cli(home, "kill", "--reason", "freeze for the restart")
            wait_until("down with nothing resting", lambda: (
                (m := _scrape(port)) and _value(m["mmcal_trader_kill_switch_active"],
                                                "mmcal_trader_kill_switch_active") == 1.0
                and _value(m["mmcal_trader_resting_orders"], "mmcal_trader_resting_orders",
                           symbol=SYMBOL) == 0.0), proc, _WAIT_S)
            position = _value(_scrape(port)["mmcal_trader_position"],
                              "mmcal_trader_position", symbol=SYMBOL)
            if position != 0.0:
                break
            quotes = _value(_scrape(port)["mmcal_trader_quotes"], "mmcal_trader_quotes_total",
                            symbol=SYMBOL)
            _cli(home, "reset")

            def quoting_again(before: float = quotes) -> bool:
                return _value(_scrape(port)["mmcal_trader_quotes"],
                              "mmcal_trader_quotes_total", symbol=SYMBOL) > before

            wait_until("quoting again", quoting_again, proc, _WAIT_S)
        assert position != 0.0

        # SIGTERM: cancel all, save, exit 0 with the summary.
        proc.send_signal(signal.SIGTERM)
        out_b, err_b = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err_b[-3000:]
    summary = orjson.loads(out_b)
    assert summary["stopped_by"] == "SIGTERM"
    (row,) = summary["symbols"]
    assert row["resting_orders"] == 0 and summary["kill_switch"]["active"]
    state = files.load_state()
    assert state is not None and not state["running"] and files.running_pid() is None
    kept = state["symbols"][SYMBOL]
    assert kept["open_orders"] == [] and kept["position"] == row["position"] == position
    assert kept["fills"] == row["fills_total"] > 0
    code, out = _cli(home, "status")
    assert code == 0 and "stopped" in out and SYMBOL in out

    # A restart resumes the position, the P&L, the replay where it stopped, and the kill
    # switch: it starts down, so it sends nothing.
    again = start_trader(home, "--symbols", SYMBOL, "--speed", "0", "--metrics-port", "0",
                         "--duration", "2")
    out_b, err_b = again.communicate(timeout=240)
    assert again.returncode == 0, err_b[-3000:]
    logs = [orjson.loads(line) for line in err_b.decode().splitlines() if line.startswith("{")]
    (resumed,) = [r for r in logs if r.get("event") == "resumed"]
    assert resumed["position"] == kept["position"] and resumed["replay_row"] > 0
    second_summary = orjson.loads(out_b)
    second = second_summary["symbols"][0]
    assert second_summary["kill_switch"]["active"] and second["orders"] == 0
    assert second["fills_total"] == kept["fills"] and second["position"] == position
    parts = sum(second["pnl"][k] for k in ("spread_capture", "adverse_selection",
                                           "inventory_carry", "funding", "fees"))
    assert abs(parts - second["pnl"]["total"]) < 1e-6
