"""The backfill stopped half-way by SIGKILL and restarted re-runs only what did not finish.

A real ``python -m orchestration.backfill`` process (with the Dagster daemon, its code
server, run workers and step processes, all in one process session) backfills the
``ingest`` job over 2 days x 2 symbols of small synthetic days generated here. Once one
partition has succeeded the whole session is SIGKILLed; a second process then resumes.
The instance's run records must show: every partition ends with exactly one successful
run, a partition that had succeeded before the kill was never run again, and only a
partition whose run was in flight at the kill has a second run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.dagster_run import RunsFilter
from dagster._core.storage.tags import BACKFILL_ID_TAG, PARTITION_NAME_TAG

from assets.partitions import DEFAULT_START
from data_lake.lake import Lake
from data_lake.sources.synthetic import DEFAULT_MARKET, generate_to_lake
from orchestration.backfill import BackfillPlan

pytestmark = pytest.mark.slow  # four Dagster runs of three step processes each

REPO = Path(__file__).resolve().parents[2]
SYMBOLS = ("ETH", "SOL")
PLAN = BackfillPlan(DEFAULT_START, 1, SYMBOLS, ("ingest",))  # 2 days (fit, held-out) x 2
_IN_FLIGHT = {  # what the restart marks failed (orchestration.backfill.fail_orphaned_runs)
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
}


def _command() -> list[str]:
    return [
        sys.executable,
        "-m",
        "orchestration.backfill",
        "--days",
        str(PLAN.n_days),
        "--symbols",
        ",".join(SYMBOLS),
        "--jobs",
        "ingest",
    ]


def _session_pids(sid: int) -> list[int]:
    """Live processes of session ``sid`` (zombies, dead but not yet reaped, excluded)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()  # state, ppid, pgrp, session, ...
            if int(fields[3]) == sid and fields[0] != "Z":
                pids.append(int(entry.name))
    return pids


def _runs(instance: dg.DagsterInstance) -> dict[str, list[dg.DagsterRun]]:
    """Every ingest run of a backfill, by partition key, oldest first."""
    by_key: dict[str, list[dg.DagsterRun]] = defaultdict(list)
    for run in reversed(list(instance.get_runs(RunsFilter(job_name="ingest")))):
        assert BACKFILL_ID_TAG in run.tags, f"run {run.run_id} is not a backfill run"
        by_key[run.tags[PARTITION_NAME_TAG]].append(run)
    return by_key


def test_a_killed_backfill_resumes_without_rerunning_finished_partitions(
    tmp_path: Path,
) -> None:
    market = DEFAULT_MARKET
    for symbol in SYMBOLS:
        market = market.with_activity(symbol, 0.1)  # small days: the runs stay short
    generate_to_lake(
        Lake.at(tmp_path),
        symbols=list(SYMBOLS),
        days=len(PLAN.ingest_days),
        seed=7,
        start=PLAN.start,
        market=market,
    )
    env = {**os.environ, "MMCAL_HOME": str(tmp_path), "MMCAL_SYMBOLS": ",".join(SYMBOLS)}
    env.pop("DAGSTER_HOME", None)
    dagster_home = tmp_path / "dagster_home"
    keys = PLAN.partition_keys("ingest")
    assert len(keys) == 4 and keys[0] == f"{DEFAULT_START}|ETH"

    first = subprocess.Popen(
        _command(),
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 600
        while True:
            assert first.poll() is None, first.stdout.read().decode() if first.stdout else ""
            assert time.monotonic() < deadline, "no ingest run succeeded in 10 minutes"
            # The daemon's log appears once the backfill has created the instance's
            # databases: opening them while they are being created races on alembic's
            # version stamp ("more than one head present").
            if (dagster_home / "backfill_daemon.log").exists():
                with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
                    runs = _runs(instance)
                if any(r.status == dg.DagsterRunStatus.SUCCESS for rs in runs.values() for r in rs):
                    break
            time.sleep(0.5)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the backfill and every process it started
        first.wait()
    for _ in range(20):  # killed processes leave /proc once reaped
        if not _session_pids(first.pid):
            break
        time.sleep(0.5)
    assert _session_pids(first.pid) == [], "a process of the killed backfill survived"

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        before = _runs(instance)
    done_before = {
        k for k, rs in before.items() if any(r.status == dg.DagsterRunStatus.SUCCESS for r in rs)
    }
    in_flight = {k for k, rs in before.items() if any(r.status in _IN_FLIGHT for r in rs)}
    assert done_before and len(done_before) < len(keys), "the kill was not half-way"

    second = subprocess.run(
        _command(), cwd=REPO, env=env, capture_output=True, text=True, timeout=900
    )
    assert second.returncode == 0, second.stdout + second.stderr
    # The killed backfill is finished first (its queued runs run), then a new one.
    assert "ingest: resuming backfill" in second.stdout, second.stdout

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        after = _runs(instance)
        backfills = [b for b in instance.get_backfills() if b.partition_names]
    assert sorted(after) == sorted(keys)
    for key in keys:
        statuses = [r.status for r in after[key]]
        assert statuses.count(dg.DagsterRunStatus.SUCCESS) == 1, (key, statuses)
        if key in done_before:  # finished before the kill: never run again
            assert [r.run_id for r in after[key]] == [r.run_id for r in before[key]]
        elif key in in_flight:  # its worker died: that run failed, one new run succeeded
            assert statuses == [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS]
        else:  # queued or not yet submitted at the kill: one run, the one that finished
            assert statuses == [dg.DagsterRunStatus.SUCCESS], (key, statuses)
    assert sum(len(rs) for rs in after.values()) == len(keys) + len(in_flight)
    # The first backfill covered every partition; the second only the ones that failed.
    assert sorted(backfills[-1].partition_names or []) == sorted(keys)
    if in_flight:
        assert sorted(backfills[0].partition_names or []) == sorted(in_flight)
