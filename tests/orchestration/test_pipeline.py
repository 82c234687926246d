"""The Dagster graph end to end, in-process, on the synthetic market (one symbol)."""

import datetime as dt
import subprocess
import sys
from pathlib import Path

import dagster as dg

from assets.partitions import DEFAULT_START
from data_lake.lake import Lake
from data_lake.registry import ParamRegistry
from orchestration.definitions import defs, resources

SYMBOL = "SOL"  # the smallest default symbol-day: keeps the suite quick
DAY1 = DEFAULT_START
DAY2 = DEFAULT_START + dt.timedelta(days=1)
REPO = Path(__file__).resolve().parents[2]


def _key(day: dt.date, symbol: str = SYMBOL) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"date": day.isoformat(), "symbol": symbol})


def _run(
    job: str, day: dt.date, home: Path, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    job_def = defs.get_job_def(job) if hasattr(defs, "get_job_def") else defs.resolve_job_def(job)
    return job_def.execute_in_process(
        partition_key=_key(day),
        instance=instance,
        resources=resources(str(home)),
        raise_on_error=False,
    )


def test_every_job_resolves_and_definitions_validate() -> None:
    for name in ("ingest", "nightly_calibration", "import_landing_job"):
        assert defs.resolve_job_def(name).name == name
    out = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_nightly_job_publishes_and_is_deterministic(tmp_path: Path) -> None:
    with dg.instance_for_test() as instance:
        for day in (DAY1, DAY2):
            assert _run("ingest", day, tmp_path, instance).success
        first = _run("nightly_calibration", DAY1, tmp_path, instance)
        assert first.success
        registry = ParamRegistry(Lake.at(tmp_path).paths, refresh_catalog=False)
        version = registry.latest_version(SYMBOL)
        assert version is not None
        doc = registry.load(SYMBOL, version)
        assert doc.validation is not None and doc.validation.held_out == [
            f"synthetic/{SYMBOL}/{DAY2.isoformat()}"
        ]
        # Same partition again: the same parameters. The document differs only in its
        # validation block, which now scores the first set as the baseline.
        again = _run("nightly_calibration", DAY1, tmp_path, instance)
        assert again.success
        second = registry.load(SYMBOL, "latest")
        assert second.version != version
        assert second.quoting == doc.quoting
        assert second.models == doc.models
        assert second.validation is not None
        assert second.validation.baseline_version == version
        assert second.validation.baseline == doc.validation.scores


def test_poisoned_partition_fails_its_check_and_publishes_nothing(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    with dg.instance_for_test() as instance:
        assert _run("ingest", DAY1, tmp_path, instance).success
        # Duplicate trade ids cannot reach the lake (writes deduplicate on the id), so
        # poison the book: every snapshot locked/crossed (bid levels = ask levels).
        book = lake.read("book", symbol=SYMBOL, venue="synthetic")
        crossed = book.set_column(
            book.schema.get_field_index("bid_px"), "bid_px", book.column("ask_px")
        ).drop_columns(["venue", "symbol", "date"])
        lake.write("book", "synthetic", SYMBOL, crossed, mode="replace")
        ingest = _run("ingest", DAY1, tmp_path, instance)
        checks = {e.check_name: e.passed for e in ingest.get_asset_check_evaluations()}
        assert checks["no_crossed_books"] is False
        nightly = _run("nightly_calibration", DAY1, tmp_path, instance)
        assert not nightly.success
        registry = ParamRegistry(lake.paths, refresh_catalog=False)
        assert registry.latest_version(SYMBOL) is None
