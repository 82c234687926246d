"""The backfill's plan, its command line on bad input, and what a restart marks failed."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.storage.tags import BACKFILL_ID_TAG, PARTITION_NAME_TAG

from orchestration.backfill import (
    BACKFILL_TAG,
    BackfillPlan,
    _claim,
    _partition_set_origin,
    fail_orphaned_runs,
    parse_args,
    succeeded_partitions,
)
from orchestration.launch import remote_job_origin


def test_ingest_covers_the_held_out_day_after_the_last_fit_day() -> None:
    plan = BackfillPlan(dt.date(2026, 1, 5), 2, ("BTC", "SOL"))
    assert plan.partition_keys("nightly_calibration") == [
        "2026-01-05|BTC",
        "2026-01-05|SOL",
        "2026-01-06|BTC",
        "2026-01-06|SOL",
    ]
    assert plan.partition_keys("ingest")[-2:] == ["2026-01-07|BTC", "2026-01-07|SOL"]
    assert len(plan.partition_keys("ingest")) == 6


@pytest.mark.parametrize(
    "argv",
    [
        ["--days", "0"],
        ["--days", "x"],
        ["--start", "2026-13-01"],
        ["--jobs", "ingest,nope"],
        ["--jobs", ","],
        ["--symbols", " , "],
    ],
)
def test_bad_command_lines_exit_with_a_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def _run(instance: dg.DagsterInstance, status: dg.DagsterRunStatus, backfill: str, key: str) -> str:
    run = dg.DagsterRun(
        job_name="ingest",
        status=status,
        tags={BACKFILL_ID_TAG: backfill, PARTITION_NAME_TAG: key},
        remote_job_origin=remote_job_origin("ingest"),  # a queued run must name its job
    )
    instance.add_run(run)
    return run.run_id


def _backfill(instance: dg.DagsterInstance, backfill_id: str, tags: dict[str, str]) -> None:
    instance.add_backfill(
        PartitionBackfill(
            backfill_id=backfill_id,
            status=BulkActionStatus.REQUESTED,
            from_failure=False,
            tags=tags,
            backfill_timestamp=0.0,
            partition_set_origin=_partition_set_origin("ingest"),
            partition_names=["2026-01-05|BTC"],
        )
    )


def test_a_restart_fails_only_the_in_flight_runs_of_its_own_backfills(tmp_path: Path) -> None:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        _backfill(instance, "ours", {BACKFILL_TAG: "x"})
        _backfill(instance, "theirs", {})  # a backfill from the UI: not ours to touch
        started = _run(instance, dg.DagsterRunStatus.STARTED, "ours", "2026-01-05|BTC")
        created = _run(instance, dg.DagsterRunStatus.NOT_STARTED, "ours", "2026-01-05|ETH")
        queued = _run(instance, dg.DagsterRunStatus.QUEUED, "ours", "2026-01-05|SOL")
        done = _run(instance, dg.DagsterRunStatus.SUCCESS, "ours", "2026-01-06|BTC")
        other = _run(instance, dg.DagsterRunStatus.STARTED, "theirs", "2026-01-06|ETH")

        marked = fail_orphaned_runs(instance, log=lambda _: None)

        assert sorted(marked) == sorted([started, created])
        status = {r.run_id: r.status for r in instance.get_runs()}
        assert status[started] == status[created] == dg.DagsterRunStatus.FAILURE
        assert status[queued] == dg.DagsterRunStatus.QUEUED  # the daemon will launch it
        assert status[done] == dg.DagsterRunStatus.SUCCESS
        assert status[other] == dg.DagsterRunStatus.STARTED
        assert succeeded_partitions(instance, "ingest") == {"2026-01-06|BTC"}


def test_a_second_backfill_process_is_refused_while_the_first_lives(tmp_path: Path) -> None:
    pid_file = tmp_path / "mmcal_backfill.pid"
    pid_file.write_text("1\n")  # pid 1 lives but is no backfill: a stale file, reclaimed
    assert _claim(tmp_path) == pid_file
    pid_file.write_text("not a pid\n")  # a torn write: reclaimed as well
    assert _claim(tmp_path).read_text().strip() == str(os.getpid())
    # A live process whose command line names the backfill holds the instance.
    first = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "orchestration.backfill"]
    )
    try:
        pid_file.write_text(f"{first.pid}\n")
        with pytest.raises(RuntimeError, match=f"already running .*pid {first.pid}"):
            _claim(tmp_path)
    finally:
        first.kill()
        first.wait()
    assert _claim(tmp_path).read_text().strip() == str(os.getpid())  # once it is gone
