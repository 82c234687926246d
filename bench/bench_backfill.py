"""The 30-day x 3-symbol backfill (issue #15): total wall and CPU time, the longest partition.

Runs ``python -m orchestration.backfill --days 30 --symbols BTC,ETH,SOL`` once in its own
``MMCAL_HOME`` (default ``$MMCAL_HOME/bench_backfill``; ``--fresh`` empties it first, a
second run without it resumes or finds everything done), in a process session of its
own, and samples the CPU seconds of every process of that session (the backfill, the
Dagster daemon, its code server, each run worker and its step processes) from /proc
once a second. Then it prints, from the instance's run records: runs per job and
status, the longest partition of each job (run start to end), and the load average.

Long (about 6,400 CPU s, 75 min on 2 cores at the default sizes; README "Backfills"):
`make bench` runs it only with ``BENCH_BACKFILL=1``. Units: seconds; CPU seconds are
user + system over all processes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from data_lake.paths import mmcal_home  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")


def _session_cpu(sid: int, seen: dict[int, float]) -> None:
    """Update ``seen`` (pid -> CPU seconds) with every live process of session ``sid``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        # fields[3] is the session id, [11]/[12] utime/stime in clock ticks (proc(5))
        if int(fields[3]) == sid:
            seen[int(entry.name)] = (int(fields[11]) + int(fields[12])) / _TICK


def _report(home: Path) -> None:
    import dagster as dg
    from dagster._core.storage.dagster_run import RunsFilter
    from dagster._core.storage.tags import PARTITION_NAME_TAG

    from orchestration.backfill import BACKFILL_TAG, JOBS

    os.environ["DAGSTER_HOME"] = str(home / "dagster_home")
    with dg.DagsterInstance.get() as instance:
        ours = {b.backfill_id for b in instance.get_backfills() if BACKFILL_TAG in b.tags}
        for job in JOBS:
            records = [
                r
                for r in instance.get_run_records(RunsFilter(job_name=job))
                if r.dagster_run.tags.get("dagster/backfill") in ours
            ]
            status = Counter(r.dagster_run.status.value for r in records)
            print(
                f"{job}: {len(records)} runs: "
                + ", ".join(f"{n} {s.lower()}" for s, n in sorted(status.items()))
            )
            timed = [
                (r.end_time - r.start_time, r.dagster_run.tags.get(PARTITION_NAME_TAG), r)
                for r in records
                if r.start_time
                and r.end_time
                and r.dagster_run.status == dg.DagsterRunStatus.SUCCESS
            ]
            if timed:
                timed.sort(key=lambda t: t[0])
                longest, key, _ = timed[-1]
                median = timed[len(timed) // 2][0]
                print(
                    f"  longest partition {key}: {longest:.1f} s (run start to end); "
                    f"median {median:.1f} s over {len(timed)} successful runs"
                )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=mmcal_home() / "bench_backfill")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--symbols", default="BTC,ETH,SOL")
    parser.add_argument("--jobs", default="ingest,nightly_calibration")
    parser.add_argument("--fresh", action="store_true", help="empty the bench's home first")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="only print the run records of a previous (stopped) bench",
    )
    args = parser.parse_args()
    home = args.home.resolve()
    if args.report_only:
        _report(home)
        return 0
    if args.fresh and home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MMCAL_HOME": str(home), "MMCAL_SYMBOLS": args.symbols}
    env.pop("DAGSTER_HOME", None)  # the bench's own instance, under its home
    cmd = [
        sys.executable,
        "-m",
        "orchestration.backfill",
        "--days",
        str(args.days),
        "--symbols",
        args.symbols,
        "--jobs",
        args.jobs,
    ]
    print(f"== {' '.join(cmd[1:])} (MMCAL_HOME={home})", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, start_new_session=True)
    seen: dict[int, float] = {}
    loads: list[float] = []
    while proc.poll() is None:
        _session_cpu(proc.pid, seen)
        loads.append(os.getloadavg()[0])
        time.sleep(1.0)
    wall = time.perf_counter() - t0
    mean_load = sum(loads) / max(len(loads), 1)
    print(
        f"backfill exit code {proc.returncode}; wall {wall:.1f} s; CPU {sum(seen.values()):.1f} s "
        f"over {len(seen)} processes (sampled each second); 1-min load average "
        f"{mean_load:.1f} on the mean, {max(loads, default=0.0):.1f} at most, on "
        f"{os.cpu_count()} cores"
    )
    _report(home)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
