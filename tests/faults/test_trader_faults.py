"""Trader faults, measured: the feed, the fills, the venue, the clocks, the param files,
SIGKILL and restart against the venue, and who may reach the trader's files.

Already covered elsewhere and counted in bench/bench_faults.py's table by reference:
a feed gap trips the kill switch (tests/trader/live/test_kill_switch.py
``test_sequence_gap_trips``), a broken or silent paper feed (``test_feed_disconnect_trips``,
``test_stale_market_data_trips``), a Hyperliquid book back in time, a stale book and a
server that stops answering (tests/trader/hyperliquid/test_faults.py), a corrupt version
published while the trader runs (tests/trader/live/test_params_swap.py), key files with
loose modes and the key in logs (tests/trader/hyperliquid/test_keys.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import stat
import traceback
from pathlib import Path

import pytest

from data_lake.paths import LakePaths
from tests.faults.trader_feed import perturbed, run_pairs
from tests.faults.trader_params import PARAM_FAULTS, run_param_faults
from tests.faults.trader_process import (
    kill_and_restart_on_hyperliquid,
    kill_forked_paper_trader,
    kill_paper_trader,
)
from tests.faults.trader_storm import FAULTS, plan_of, run_storm
from tests.trader.hyperliquid.conftest import KEY, touch_session
from tests.trader.hyperliquid.server import FakeHyperliquid
from tests.trader.live.conftest import SYMBOL, head, make_engine, new_home
from trader.live.files import TraderFiles
from trader.sim import EventStream

N_EVENTS = 20_000


# -- the paper feed: repeated, late and reordered events ----------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_repeated_and_late_events_are_dropped_and_change_nothing(
    day_events: EventStream,
    seed: int,
) -> None:
    events = head(day_events, N_EVENTS)
    clean = make_engine(events)
    run_pairs(clean, [(i, i) for i in range(N_EVENTS)])
    assert clean.fills_total > 0 and not clean.kill.active

    pairs, injected = perturbed(N_EVENTS, random.Random(seed), repeats=200, late=50)
    faulty = make_engine(events)
    run_pairs(faulty, pairs)
    assert injected == 250 and faulty.dropped_events == injected
    assert not faulty.kill.active
    assert faulty.fills_total == clean.fills_total
    assert faulty.acct.tolist() == clean.acct.tolist()  # position, cash, P&L parts
    assert faulty.counters() == clean.counters()
    assert faulty.open_orders() == clean.open_orders()


def test_a_reordered_event_trips_the_gap_and_is_never_applied_late(
    day_events: EventStream,
) -> None:
    events = head(day_events, N_EVENTS)
    engine = make_engine(events)
    pairs = [(i, i) for i in range(N_EVENTS)]
    pairs[5_000], pairs[5_001] = pairs[5_001], pairs[5_000]
    run_pairs(engine, pairs[:5_001])
    assert [r.trigger for r in engine.kill.reasons] == ["sequence_gap"]
    applied = engine.events_run
    orders = engine.counters()["orders"]
    run_pairs(engine, pairs[5_001:])
    assert engine.dropped_events == 1 and engine.events_run == applied + N_EVENTS - 5_002
    assert engine.counters()["orders"] == orders and engine.resting() == 0


# -- the Hyperliquid venue: each fault, then our view must equal the venue's ---------------


def test_each_venue_fault_settles_with_no_order_or_fill_lost() -> None:
    tallies = run_storm(plan_of(1, seed=3), seed=3)
    for name, t in tallies.items():
        assert t.injected == 1, name
        assert t.survived == 1 and not t.failures, (name, t.failures)
        assert t.orders_lost == t.orders_duplicated == t.fills_lost == 0, (name, t)
    assert set(tallies) == set(FAULTS)


# -- the param files, deleted or corrupted under a running trader -------------------------


def test_param_files_deleted_or_corrupted_keep_the_running_version_and_log_once(
    day_events: EventStream, tmp_path: Path, live_home: Path
) -> None:
    r = run_param_faults(new_home(tmp_path, live_home), day_events)
    for how in PARAM_FAULTS:
        assert r.kept[how], f"the trader stopped or changed version after: {how}"
        assert len(r.logged[how]) == 1, (how, r.logged[how])  # logged, once
        assert r.survived(how), (how, r.logged[how])
    assert "no longer loads" in r.logged["running version corrupted"][0]
    assert r.swapped_to == r.published is not None and not r.kill_active


# -- SIGKILL mid-cycle, restart: reconciled with the venue --------------------------------


def _key_forms() -> tuple[str, ...]:
    return KEY, KEY[2:], KEY[2:].upper()


def test_sigkill_then_restart_takes_the_venues_position_and_orders(
    hl: FakeHyperliquid, tmp_path: Path
) -> None:
    r = kill_and_restart_on_hyperliquid(hl, tmp_path)
    # The killed trader knew its bid's fill; half its ask filled while it was down.
    assert r.position_at_kill > 0 and r.sold_while_down > 0
    assert r.venue_position == pytest.approx(r.position_at_kill - r.sold_while_down)
    assert r.restarted_position == pytest.approx(r.venue_position)
    assert r.restarted_fills == r.venue_fills == 2
    assert r.reconciled and r.orders_lost == 0 and r.side_overlaps == 0
    (row,) = r.summary["symbols"]
    assert row["position"] == pytest.approx(r.venue_position) and row["fills"] == 2
    assert row["live_orders"] == 0 and hl.resting() == []  # SIGTERM cancelled them
    # The key is in no file the runs left, no output, no metric.
    for path in (tmp_path / "home").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(k.encode() in data for k in _key_forms()), path
    assert not any(k in r.outputs for k in _key_forms())
    assert "mmcal_hyperliquid_position" in r.outputs


@pytest.mark.parametrize("point", ["registry.replace.written:8", "registry.replace.renamed:8"])
def test_paper_trader_killed_inside_its_state_save_resumes_a_whole_state(
    day_events: EventStream, tmp_path: Path, live_home: Path, point: str
) -> None:
    """The paper venue dies with the process: the saved state is the truth, and must be
    the last save or the one being written, never a torn file (a forked trader)."""
    r = kill_forked_paper_trader(new_home(tmp_path, live_home), point, day_events)
    assert r.died and r.saved is not None and r.saved["running"]
    assert r.temp_files_after_kill == (1 if "written" in point else 0)
    assert r.saved["symbols"][SYMBOL]["fills"] > 0, "killed before any fill: too early"
    assert r.survived, (r.resumed, r.saved["symbols"][SYMBOL]["position"], r.temp_files_left)


@pytest.mark.slow  # two `trader run` process starts: 30-70 s
def test_paper_trader_run_process_killed_in_its_state_save_resumes_on_restart(
    tmp_path: Path, live_home: Path
) -> None:
    r = kill_paper_trader(new_home(tmp_path, live_home), crash_at="registry.replace.written:6")
    assert r.died and r.saved is not None and r.temp_files_after_kill == 1
    assert r.survived, (r.resumed, r.saved["symbols"][SYMBOL]["position"], r.temp_files_left)


# -- security: the trader's files are its owner's; the key appears in no message ----------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_trader_files_are_reachable_only_by_their_owner_whatever_the_umask(
    tmp_path: Path, umask: int
) -> None:
    home = tmp_path / "home"
    control = home / "trader" / "control"
    control.mkdir(parents=True)
    os.chmod(home / "trader", 0o755)  # left wide by an older version
    os.chmod(control, 0o777)
    files = TraderFiles(LakePaths.at(home))
    old = os.umask(umask)
    try:
        command = files.send("kill", reason="sent before the trader starts")
        files.acquire()
        files.save_state({"running": True, "symbols": {}})
        files.save_state({"running": True, "symbols": {}})  # a rewrite keeps the mode
        later = files.send("reset")
    finally:
        os.umask(old)
        files.release()
    assert _mode(files.root) == _mode(files.control_dir) == 0o700
    for path in (files.state_path, files.lock_path, command, later):
        assert _mode(path) == 0o600, (path, oct(_mode(path)))
    # A fresh home under the widest umask: created private from the start.
    fresh = TraderFiles(LakePaths.at(tmp_path / "fresh"))
    old = os.umask(0)
    try:
        sent = fresh.send("kill")
    finally:
        os.umask(old)
    assert _mode(fresh.root) == _mode(fresh.control_dir) == 0o700 and _mode(sent) == 0o600


def test_the_key_is_in_no_exception_message_repr_or_summary(hl: FakeHyperliquid) -> None:
    from trader.hyperliquid.exchange import ExchangeClient
    from trader.hyperliquid.http import JsonPoster, VenueError, VenueUnavailableError
    from trader.hyperliquid.info import InfoClient
    from trader.orders import Place, Side, Tif

    texts: list[str] = []

    async def scenario() -> None:
        poster = JsonPoster(hl.rest_url, timeout_s=1.0)
        rules = await InfoClient(poster).meta()
        ex = ExchangeClient(poster, KEY, rules)
        texts.extend([repr(ex), str(vars(ex)), repr(poster)])
        place = Place("0x" + "ab" * 16, "DOGE-1", "DOGE", Side.BUY, 0.1, 100.0, Tif.ALO)
        with pytest.raises(VenueError) as unknown:
            await ex.place([place])
        hl.user = "0x" + "00" * 20  # the venue knows another account: it refuses ours
        statuses = await ex.place([dataclasses.replace(place, symbol="BTC", px=50_000.0)])
        assert statuses[0].kind == "error" and "does not exist" in statuses[0].message
        dead = ExchangeClient(JsonPoster("http://127.0.0.1:9", timeout_s=0.5), KEY, rules)
        with pytest.raises(VenueUnavailableError) as unreachable:
            await dead.place([dataclasses.replace(place, symbol="BTC", px=50_000.0)])
        for err in (unknown.value, unreachable.value):
            texts.append("".join(traceback.format_exception(err)))
        texts.append(str(statuses))
        session = touch_session(hl)
        await session.start()
        texts.extend([repr(session), str(session.summary())])
        poster.close()

    asyncio.run(scenario())
    joined = "\n".join(texts)
    assert "ExchangeClient(address=" in joined and "DOGE" in joined
    assert not any(k in joined for k in _key_forms())
