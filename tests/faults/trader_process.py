"""``trader run`` as a real process for the fault tests: start it, read its Prometheus
endpoint, wait on a condition while it lives, SIGKILL it.

:func:`kill_and_restart_on_hyperliquid` is the restart-against-the-venue case:
``trader run --venue hyperliquid`` on the local server, SIGKILLed once it holds a
position and orders on both sides; while it is down a fill happens at the venue; the
restarted trader must show the venue's position, fills and orders, not what the killed
one knew. Used by tests/faults/test_trader_faults.py and bench/bench_faults.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from prometheus_client.parser import text_string_to_metric_families

from tests.trader.hyperliquid.conftest import hyperliquid_home
from tests.trader.hyperliquid.server import FakeHyperliquid
from tests.trader.live.trader_subprocess import WAIT_S, free_port, start_trader, wait_until


def scrape(port: int) -> tuple[str, dict[str, float]]:
    """The endpoint's text and every sample by ``name{label=value}``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    values = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            values[f"{s.name}{{{labels}}}" if labels else s.name] = float(s.value)
    return text, values


@dataclass
class RestartOutcome:
    """What the restart against the venue showed (positions in BTC)."""

    position_at_kill: float
    sold_while_down: float
    venue_position: float
    restarted_position: float
    restarted_fills: float
    venue_fills: int
    old_orders_left: int
    restarted_live_orders: float
    venue_resting: int
    side_overlaps: int
    summary: dict[str, Any]
    outputs: str
    """Both runs' stdout and stderr, and the metrics text, for the key check."""

    @property
    def orders_lost(self) -> int:
        """Venue orders of the killed run still resting, plus any difference between
        the orders the restarted trader holds and those resting at the venue."""
        return self.old_orders_left + abs(int(self.restarted_live_orders) - self.venue_resting)

    @property
    def fills_lost(self) -> int:
        return abs(int(self.restarted_fills) - self.venue_fills)

    @property
    def reconciled(self) -> bool:
        return (
            abs(self.restarted_position - self.venue_position) < 1e-9
            and self.orders_lost == 0
            and self.fills_lost == 0
            and self.side_overlaps == 0
        )


def kill_and_restart_on_hyperliquid(hl: FakeHyperliquid, work: Path) -> RestartOutcome:
    """The SIGKILL-then-restart case on the local server (``match_trades`` off: the
    fills are the ones made here)."""
    hl.match_trades = False
    home, params, key = hyperliquid_home(work)
    outputs: list[str] = []

    def run(port: int) -> subprocess.Popen[bytes]:
        return start_trader(
            home,
            "--venue",
            "hyperliquid",
            "--params",
            str(params),
            "--symbols",
            "BTC",
            "--hl-url",
            hl.rest_url,
            "--hl-ws-url",
            hl.ws_url,
            "--key-file",
            str(key),
            "--metrics-port",
            str(port),
            "--stale-after",
            "5",
            "--kill-after",
            "30",
        )

    def metric(port: int, name: str) -> float:
        return scrape(port)[1][name]

    port = free_port()
    first = run(port)
    try:
        wait_until("both sides resting", lambda: len(hl.resting()) == 2, first)
        hl.fill_side("B")
        wait_until(
            "the fill booked and the bid requoted",
            lambda: (
                metric(port, "mmcal_hyperliquid_position{symbol=BTC}") > 0
                and len(hl.resting()) == 2
            ),
            first,
        )
        position_at_kill = metric(port, "mmcal_hyperliquid_position{symbol=BTC}")
        outputs.append(scrape(port)[0])
        first.send_signal(signal.SIGKILL)
        out, err = first.communicate(timeout=30)
        outputs += [out.decode(), err.decode()]
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == -signal.SIGKILL
    old = {o["oid"] for o in hl.resting()}
    assert len(old) == 2, "the killed trader's orders rest at the venue"
    # While it is down, the venue's truth moves: its ask fills.
    ask = next(o for o in hl.resting() if o["side"] == "A")
    sold = round(ask["sz"] / 2, 5)
    hl.call(lambda: hl.fill(ask["oid"], sold))
    overlaps = hl.side_overlaps

    port = free_port()
    second = run(port)
    try:
        wait_until(
            "resynced, quoting both sides with new orders only",
            lambda: (
                metric(port, "mmcal_hyperliquid_synced") == 1.0
                and len(hl.resting()) == 2
                and not old & {o["oid"] for o in hl.resting()}
                and metric(port, "mmcal_hyperliquid_live_orders{symbol=BTC}") == 2.0
            ),
            second,
        )
        text, values = scrape(port)
        outputs.append(text)
        resting_now = len(hl.resting())
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=60)
        outputs += [out.decode(), err.decode()]
    finally:
        if second.poll() is None:
            second.kill()
    assert second.returncode == 0, outputs[-1][-3000:]
    summary = orjson.loads(out)
    return RestartOutcome(
        position_at_kill=position_at_kill,
        sold_while_down=sold,
        venue_position=hl.position["BTC"],
        restarted_position=values["mmcal_hyperliquid_position{symbol=BTC}"],
        restarted_fills=values["mmcal_hyperliquid_fills_total{symbol=BTC}"],
        venue_fills=len(hl.fills),
        old_orders_left=len(old & {o["oid"] for o in hl.resting()}),
        restarted_live_orders=values["mmcal_hyperliquid_live_orders{symbol=BTC}"],
        venue_resting=resting_now,
        side_overlaps=hl.side_overlaps - overlaps,
        summary=summary,
        outputs="\n".join(outputs),
    )


@dataclass
class PaperKill:
    """One SIGKILL of the paper trader: the state file after the kill, the restart."""

    died: bool
    saved: dict[str, Any] | None
    resumed: dict[str, Any] | None
    restart_summary: dict[str, Any]
    temp_files_after_kill: int
    temp_files_left: int
    """Temporary state files of the killed save still there after the restart."""

    @property
    def survived(self) -> bool:
        """The state file loaded whole, and the restart resumed exactly it."""
        if not self.died or self.saved is None or self.resumed is None:
            return False
        sym = self.saved["symbols"]["SOL"]
        row = self.restart_summary["symbols"][0]
        return (
            self.resumed["position"] == sym["position"]
            and row["fills_total"] >= sym["fills"]
            and self.temp_files_left == 0
        )


def kill_paper_trader(
    home: Path, *, crash_at: str | None = None, after_fills: bool = False
) -> PaperKill:
    """``trader run`` on the paper venue (SOL, the newest lake day at full speed, saving
    every 0.2 s), SIGKILLed at the named crash point (``MMCAL_CRASH_AT``, e.g. inside the
    state save) or, with ``after_fills``, as soon as a saved state shows fills; then
    restarted for 1 s."""
    from data_lake.faults import CRASH_AT_ENV
    from data_lake.paths import LakePaths
    from trader.live.files import TraderFiles

    files = TraderFiles(LakePaths.at(home))
    args = ("--symbols", "SOL", "--speed", "0", "--metrics-port", "0", "--stale-after", "1000")
    if crash_at is not None:
        os.environ[CRASH_AT_ENV] = crash_at
    try:
        proc = start_trader(home, *args, "--save-every", "0.2")
    finally:
        os.environ.pop(CRASH_AT_ENV, None)
    try:
        if after_fills:

            def has_fills() -> bool:
                try:
                    state = files.load_state()
                except ValueError:
                    return False
                return state is not None and state["symbols"]["SOL"]["fills"] > 0

            wait_until("a saved state with fills", has_fills, proc)
            proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    died = proc.returncode == -signal.SIGKILL
    saved = files.load_state()  # raises on a torn state file: the test fails loudly
    temps = [p for p in files.root.iterdir() if p.name.startswith(".tmp-")]
    again = start_trader(home, *args, "--duration", "1")
    out, err = again.communicate(timeout=WAIT_S)
    assert again.returncode == 0, err.decode()[-3000:]
    logs = [orjson.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    resumed = next((r for r in logs if r.get("event") == "resumed"), None)
    left = [p for p in files.root.iterdir() if p.name.startswith(".tmp-")]
    return PaperKill(died, saved, resumed, orjson.loads(out), len(temps), len(left))


def _paper_config(home: Path, **fields: Any) -> Any:
    from data_lake.paths import LakePaths
    from trader.live.runner import RunConfig
    from trader.risk import RiskLimits

    return RunConfig(
        paths=LakePaths.at(home),
        symbols=("SOL",),
        speed=0,
        limits=RiskLimits(stale_after_s=1e9),
        **fields,
    )


def _paper_child(home: Path, crash_at: str, feeds: Any) -> None:
    from data_lake.faults import CRASH_AT_ENV
    from trader.live.runner import run_trader

    os.environ[CRASH_AT_ENV] = crash_at
    run_trader(_paper_config(home, duration_s=60, save_every_s=0.05), feeds)
    os._exit(0)


def kill_forked_paper_trader(home: Path, crash_at: str, events: Any) -> PaperKill:
    """The paper trader replaying ``events`` (the SOL day, an EventStream) in a forked
    child (which inherits the warm imports, kernels and events: seconds, not a process
    start) that SIGKILLs itself at the named crash point of its state save; then a
    trader set up in this process on the same home resumes from the file.
    ``restart_summary`` is its summary before any event."""
    import multiprocessing as mp

    from data_lake.paths import LakePaths
    from tests.trader.live.conftest import DAY
    from trader.live.feed import ReplayFeed
    from trader.live.files import TraderFiles
    from trader.live.runner import Trader

    def feeds(_venue: str, _symbol: str) -> ReplayFeed:
        return ReplayFeed(events, DAY, speed=0)

    child = mp.get_context("fork").Process(target=_paper_child, args=(home, crash_at, feeds))
    child.start()
    child.join(WAIT_S)
    if child.is_alive():
        child.kill()
        child.join()
        raise AssertionError(f"the forked trader did not reach {crash_at}")
    files = TraderFiles(LakePaths.at(home))
    saved = files.load_state()  # raises on a torn state file: the test fails loudly
    temps = [p for p in files.root.iterdir() if p.name.startswith(".tmp-")]
    again = Trader(_paper_config(home), feeds)
    try:
        again.setup()
        left = [p for p in files.root.iterdir() if p.name.startswith(".tmp-")]
        (engine,) = again.engines
        resumed = {"position": float(engine.acct[1])}
        summary = again.summary(0.0)
    finally:
        again.files.release()
    return PaperKill(
        child.exitcode == -signal.SIGKILL, saved, resumed, summary, len(temps), len(left)
    )
