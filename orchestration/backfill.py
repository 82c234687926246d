"""A resumable Dagster backfill of days x symbols: `ingest`, then `nightly_calibration`.

``python -m orchestration.backfill --days 30 --symbols BTC,ETH,SOL`` (``make backfill``):

1. Registers the days as date partitions: ``--days`` fit days from ``--start`` and the
   held-out day after the last one (the nightly job scores each fit day on the next day).
2. Starts Dagster's daemon (``dagster-daemon run``) on ``$DAGSTER_HOME``
   (default ``$MMCAL_HOME/dagster_home``, orchestration/instance_home.py): its backfill
   daemon turns a submitted :class:`PartitionBackfill` into one run per partition
   (tagged ``dagster/backfill``; the UI's Backfills page lists it), its run queue
   launches at most two runs at a time (``concurrency.runs.max_concurrent_runs``), and
   each run executes its steps on the job's multiprocess executor
   (orchestration/definitions.py).
3. One job backfill of ``ingest`` over every (day, symbol) without a successful ingest
   run; the synthetic days are generated inside those runs (asset ``lake_day``
   generates a missing synthetic day). Then, once every ingest partition has
   succeeded, one backfill of ``nightly_calibration`` over the fit days (it reads the
   window before the day, the next day and the other symbols' same day, so it waits
   for the whole ingest).

Resuming: stopping the command (Ctrl-C, SIGKILL, a crash) leaves the backfill in the
instance. Run again, it marks the runs the dead process left in flight as failed (no
process will finish them), lets the daemon finish the backfill it left (its queued runs
run; the daemon resumes submitting from its checkpoint, taken every 25 partitions, so a
stop during the submissions can queue a partition of the last chunk twice), then
backfills only the partitions still without a successful run. Partitions that finished
are never run again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.execution.backfill import (
    BULK_ACTION_TERMINAL_STATUSES,
    BulkActionStatus,
    PartitionBackfill,
)
from dagster._core.remote_origin import RemotePartitionSetOrigin
from dagster._core.remote_representation.external_data import (
    partition_set_snap_name_for_job_name,
)
from dagster._core.storage.dagster_run import NOT_FINISHED_STATUSES, RunsFilter
from dagster._core.storage.tags import BACKFILL_ID_TAG, PARTITION_NAME_TAG
from dagster._core.utils import make_new_backfill_id
from dagster._time import get_current_timestamp

from assets.partitions import DEFAULT_START, register_days
from data_lake.paths import mmcal_home
from orchestration.instance_home import dagster_home, ensure_instance_home
from orchestration.launch import CODE_LOCATION, DEFINITIONS_MODULE, REPO_ROOT, remote_job_origin

__all__ = [
    "BACKFILL_TAG",
    "JOBS",
    "BackfillPlan",
    "BackfillResult",
    "fail_orphaned_runs",
    "main",
    "run_backfill",
    "succeeded_partitions",
]

JOBS = ("ingest", "nightly_calibration")
BACKFILL_TAG = "mmcal/backfill"  # on every backfill (and so every run) this module submits
PID_FILE = "mmcal_backfill.pid"
WORKSPACE_FILE = "workspace.yaml"
POLL_S = 2.0
_IN_FLIGHT = (
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
)
Log = Callable[[str], None]


@dataclass(frozen=True)
class BackfillPlan:
    """What to backfill: ``n_days`` fit days from ``start`` for ``symbols``.

    ``ingest`` covers the fit days and the held-out day after the last one;
    ``nightly_calibration`` the fit days.
    """

    start: dt.date
    n_days: int
    symbols: tuple[str, ...]
    jobs: tuple[str, ...] = JOBS

    @property
    def fit_days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range(self.n_days)]

    @property
    def ingest_days(self) -> list[dt.date]:
        return [*self.fit_days, self.start + dt.timedelta(days=self.n_days)]

    def partition_keys(self, job: str) -> list[str]:
        """The job's partition keys, ``date|symbol`` (Dagster's multi-partition key), by day."""
        days = self.ingest_days if job == "ingest" else self.fit_days
        return [
            str(dg.MultiPartitionKey({"date": d.isoformat(), "symbol": s}))
            for d in days
            for s in self.symbols
        ]


@dataclass(frozen=True)
class BackfillResult:
    """Per job: the backfill ids submitted, and the partitions still without a success."""

    backfill_ids: dict[str, list[str]]
    failed: dict[str, list[str]]

    @property
    def success(self) -> bool:
        return not any(self.failed.values())


def succeeded_partitions(instance: dg.DagsterInstance, job: str) -> set[str]:
    """Partition keys of ``job`` with at least one successful run in ``instance``.

    Any successful run counts, from a backfill or not (`make run`, the UI, a schedule):
    its assets were materialized for that partition.
    """
    runs = instance.get_runs(RunsFilter(job_name=job, statuses=[dg.DagsterRunStatus.SUCCESS]))
    return {r.tags[PARTITION_NAME_TAG] for r in runs if PARTITION_NAME_TAG in r.tags}


def fail_orphaned_runs(instance: dg.DagsterInstance, log: Log = print) -> list[str]:
    """Mark as failed the runs of this module's backfills left in flight by a dead process.

    Call only when no backfill process of this instance is alive (:func:`_claim`): the
    default run launcher cannot tell whether a run's worker still lives, so such a run
    would otherwise stay STARTED forever and its backfill never end. Queued runs are kept:
    the daemon launches them. Returns the run ids marked.
    """
    ours = {b.backfill_id for b in instance.get_backfills() if BACKFILL_TAG in b.tags}
    marked = []
    for run in instance.get_runs(RunsFilter(statuses=list(_IN_FLIGHT))):
        if run.tags.get(BACKFILL_ID_TAG) not in ours:
            continue
        instance.report_run_failed(
            run,
            f"its worker died with the backfill process that launched it; "
            f"`python -m orchestration.backfill` re-runs partition "
            f"{run.tags.get(PARTITION_NAME_TAG)}",
        )
        marked.append(run.run_id)
        log(
            f"run {run.run_id} ({run.job_name} {run.tags.get(PARTITION_NAME_TAG)}) "
            "was in flight when the backfill stopped: marked failed"
        )
    return marked


def _partition_set_origin(job: str) -> RemotePartitionSetOrigin:
    """The job's partition set as the daemon's workspace (location ``mmcal``) names it."""
    repository = remote_job_origin(job).repository_origin
    return RemotePartitionSetOrigin(
        repository_origin=repository, partition_set_name=partition_set_snap_name_for_job_name(job)
    )


def _submit(instance: dg.DagsterInstance, job: str, keys: Sequence[str], name: str) -> str:
    backfill_id = make_new_backfill_id()
    instance.add_backfill(
        PartitionBackfill(
            backfill_id=backfill_id,
            status=BulkActionStatus.REQUESTED,
            from_failure=False,
            tags={BACKFILL_TAG: name},
            backfill_timestamp=get_current_timestamp(),
            title=f"{name}: {job}",
            description=f"{job} over {len(keys)} partition(s) (orchestration/backfill.py)",
            partition_set_origin=_partition_set_origin(job),
            partition_names=list(keys),
        )
    )
    return backfill_id


def _active_backfills(instance: dg.DagsterInstance, job: str) -> list[PartitionBackfill]:
    """This module's unfinished backfills of ``job`` (left by a stopped process)."""
    name = partition_set_snap_name_for_job_name(job)
    return [
        b
        for b in instance.get_backfills()
        if BACKFILL_TAG in b.tags
        and b.status not in BULK_ACTION_TERMINAL_STATUSES
        and b.partition_set_origin is not None
        and b.partition_set_origin.partition_set_name == name
    ]


def _runs_of(instance: dg.DagsterInstance, backfill_id: str) -> list[dg.DagsterRun]:
    return list(instance.get_runs(RunsFilter(tags={BACKFILL_ID_TAG: backfill_id})))


def _wait(
    instance: dg.DagsterInstance, backfill_id: str, daemon: subprocess.Popen[bytes], log: Log
) -> None:
    """Until the backfill ended: terminal, or every partition submitted and every run done.

    The second condition does not wait for the backfill daemon's next pass (every 30 s) to
    mark it completed: it records the outcome itself.
    """
    last = ""
    while True:
        backfill = instance.get_backfill(backfill_id)
        assert backfill is not None
        runs = _runs_of(instance, backfill_id)
        by_status = Counter(r.status.value for r in runs)
        line = ", ".join(f"{n} {s.lower()}" for s, n in sorted(by_status.items()))
        if line != last:
            log(f"  backfill {backfill_id}: {line or 'no runs yet'}")
            last = line
        submitted = {r.tags.get(PARTITION_NAME_TAG) for r in runs}
        done = not any(r.status in NOT_FINISHED_STATUSES for r in runs)
        if backfill.status in BULK_ACTION_TERMINAL_STATUSES and done:
            return
        if done and submitted >= set(backfill.partition_names or ()):
            # What the daemon's next pass (up to 30 s away) would record, so the UI's
            # Backfills page does not show it in progress once this process stopped it.
            failed = any(r.status != dg.DagsterRunStatus.SUCCESS for r in runs)
            status = (
                BulkActionStatus.COMPLETED_FAILED if failed else BulkActionStatus.COMPLETED_SUCCESS
            )
            instance.update_backfill(
                backfill.with_status(status).with_end_timestamp(get_current_timestamp())
            )
            return
        if daemon.poll() is not None:
            raise RuntimeError(
                f"the Dagster daemon exited (code {daemon.returncode}) with backfill "
                f"{backfill_id} unfinished; see its log {_daemon_log(instance)} and run "
                "`python -m orchestration.backfill` again to resume"
            )
        time.sleep(POLL_S)


def _daemon_log(instance: dg.DagsterInstance) -> Path:
    return Path(instance.root_directory) / "backfill_daemon.log"


def _write_workspace(home: Path) -> Path:
    """The daemon's workspace: this repository's definitions as location ``mmcal``."""
    path = home / WORKSPACE_FILE
    spec = {
        "load_from": [
            {
                "python_module": {
                    "module_name": DEFINITIONS_MODULE,
                    "working_directory": str(REPO_ROOT),
                    "location_name": CODE_LOCATION,
                    "executable_path": sys.executable,
                }
            }
        ]
    }
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(yaml.safe_dump(spec, sort_keys=True))
    tmp.replace(path)
    return path


def _claim(home: Path) -> Path:
    """Record this process as the instance's backfill process; refuse when one lives.

    A second live backfill process would mark the first one's running runs as orphans.
    """
    pid_file = home / PID_FILE
    if pid_file.exists():
        try:
            pid = int(pid_file.read_text().split()[0])
        except (ValueError, IndexError):
            pid = 0
        cmdline = Path(f"/proc/{pid}/cmdline")
        if (
            pid
            and pid != os.getpid()
            and cmdline.exists()
            and (b"orchestration.backfill" in cmdline.read_bytes())
        ):
            raise RuntimeError(
                f"a backfill is already running on {home} (pid {pid}, {pid_file}); wait for "
                f"it or stop it (kill -INT {pid}) before starting another"
            )
    pid_file.write_text(f"{os.getpid()}\n")
    return pid_file


def _start_daemon(home: Path, workspace: Path) -> subprocess.Popen[bytes]:
    log = open(home / "backfill_daemon.log", "ab")  # noqa: SIM115 (the daemon keeps it)
    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("dagster-daemon")),
            "run",
            "-w",
            str(workspace),
            "--log-level",
            "warning",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "DAGSTER_HOME": str(home)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _stop_daemon(daemon: subprocess.Popen[bytes]) -> None:
    if daemon.poll() is None:
        daemon.send_signal(signal.SIGINT)  # the daemon shuts its code server down
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


def run_backfill(plan: BackfillPlan, home: Path | None = None, log: Log = print) -> BackfillResult:
    """Backfill ``plan`` on the instance of ``$DAGSTER_HOME`` (default under ``home``).

    Returns the backfills submitted and, per job, the partitions still without a
    successful run (empty when everything is materialized). Resumes a stopped backfill
    (module docstring). ``home`` is ``$MMCAL_HOME`` (the lake the runs write to).
    """
    mmcal = home or mmcal_home()
    os.environ["MMCAL_HOME"] = str(mmcal)  # the daemon, its code server and the runs
    dhome = ensure_instance_home(dagster_home(mmcal))
    os.environ["DAGSTER_HOME"] = str(dhome)
    pid_file = _claim(dhome)
    name = f"{plan.start}+{plan.n_days}d:{','.join(plan.symbols)}"
    submitted: dict[str, list[str]] = {job: [] for job in plan.jobs}
    failed: dict[str, list[str]] = {}
    try:
        with dg.DagsterInstance.get() as instance:
            register_days(instance, plan.ingest_days)
            fail_orphaned_runs(instance, log)
            daemon = _start_daemon(dhome, _write_workspace(dhome))
            try:
                for job in plan.jobs:
                    keys = plan.partition_keys(job)
                    for left in _active_backfills(instance, job):
                        log(f"{job}: resuming backfill {left.backfill_id} left unfinished")
                        _wait(instance, left.backfill_id, daemon, log)
                    done = succeeded_partitions(instance, job)
                    todo = [k for k in keys if k not in done]
                    log(
                        f"{job}: {len(keys) - len(todo)} of {len(keys)} partition(s) already "
                        f"succeeded, {len(todo)} to run"
                    )
                    if todo:
                        backfill_id = _submit(instance, job, todo, name)
                        submitted[job].append(backfill_id)
                        log(f"{job}: backfill {backfill_id} submitted")
                        _wait(instance, backfill_id, daemon, log)
                    done = succeeded_partitions(instance, job)
                    failed[job] = [k for k in keys if k not in done]
                    if failed[job]:
                        log(
                            f"{job}: {len(failed[job])} partition(s) failed: "
                            f"{', '.join(failed[job][:10])}; see their runs in `make dagster`, "
                            "then run the backfill again to retry only those"
                        )
                        break  # the next job reads what this one did not write
            finally:
                _stop_daemon(daemon)
    finally:
        pid_file.unlink(missing_ok=True)
    return BackfillResult(submitted, failed)


def _symbols(raw: str) -> tuple[str, ...]:
    symbols = tuple(s.strip() for s in raw.split(",") if s.strip())
    if not symbols:
        raise argparse.ArgumentTypeError("give at least one symbol, e.g. BTC,ETH,SOL")
    return symbols


def _jobs(raw: str) -> tuple[str, ...]:
    jobs = tuple(j.strip() for j in raw.split(",") if j.strip())
    unknown = [j for j in jobs if j not in JOBS]
    if unknown or not jobs:
        raise argparse.ArgumentTypeError(f"jobs are among {', '.join(JOBS)}; got {raw!r}")
    return jobs


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.backfill",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--days", type=int, default=30, help="fit days (default 30)")
    parser.add_argument(
        "--start",
        type=dt.date.fromisoformat,
        default=DEFAULT_START,
        help=f"first fit day, YYYY-MM-DD (default {DEFAULT_START})",
    )
    parser.add_argument(
        "--symbols",
        type=_symbols,
        default=None,
        help="comma-separated; default $MMCAL_SYMBOLS or BTC,ETH,SOL",
    )
    parser.add_argument(
        "--jobs",
        type=_jobs,
        default=JOBS,
        help=f"comma-separated, in order (default {','.join(JOBS)})",
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.days < 1:
        parser.error(f"--days must be at least 1, got {args.days}")
    return args


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    from assets.partitions import symbol_partitions

    configured = symbol_partitions.get_partition_keys()
    symbols = args.symbols or tuple(configured)
    unknown = [s for s in symbols if s not in configured]
    if unknown:
        print(
            f"symbols {', '.join(unknown)} are not partitions (MMCAL_SYMBOLS="
            f"{','.join(configured)}); set MMCAL_SYMBOLS to include them",
            file=sys.stderr,
        )
        return 2
    plan = BackfillPlan(args.start, args.days, symbols, args.jobs)
    t0 = time.perf_counter()
    result = run_backfill(plan)
    print(
        f"backfill {'done' if result.success else 'incomplete'} in "
        f"{time.perf_counter() - t0:.1f} s; backfills {result.backfill_ids}"
    )
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
