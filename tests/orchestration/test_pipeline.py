"""The Dagster graph end to end, in-process, on the synthetic market (one symbol)."""

import datetime as dt
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from assets.inputs import day_input_keys, require_inputs
from assets.partitions import DEFAULT_START, register_days
from data_lake.lake import Lake
from data_lake.quality_store import QualityGateError
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
    register_days(instance, [day])  # dynamic date partitions
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


def test_nightly_job_publishes_once_and_a_rerun_publishes_nothing_new(tmp_path: Path) -> None:
    with dg.instance_for_test() as instance:
        for day in (DAY1, DAY2):
            assert _run("ingest", day, tmp_path, instance).success
        first = _run("nightly_calibration", DAY1, tmp_path, instance)
        assert first.success
        registry = ParamRegistry(Lake.at(tmp_path).paths, refresh_catalog=False)
        version = registry.latest_version(SYMBOL)
        assert version is not None
        doc = registry.load(SYMBOL, version)
        fitted, held_out = (f"synthetic/{SYMBOL}/{d.isoformat()}" for d in (DAY1, DAY2))
        assert doc.validation is not None and doc.validation.held_out == [held_out]
        # Every partition read is listed with its checks and the bytes they judged: the
        # day's trades, book, bbo and funding, and the held-out day's (validation).
        assert doc.partitions == [fitted]
        tables = {"trades", "book", "bbo", "funding"}
        read = {(q.partition, q.table) for q in doc.quality}
        assert read == {(p, t) for p in (fitted, held_out) for t in tables}
        assert all(q.sha256 is not None for q in doc.quality)
        assert {"no_crossed_bbo", "no_crossed_books", "book_sides_present"} <= {
            q.check for q in doc.quality if q.blocking and q.passed
        }
        # Same partition again, same data and code: nothing new is published, and the
        # decisions log says so, naming the version it equals.
        pointer = (registry.root / SYMBOL / "LATEST").read_bytes()
        again = _run("nightly_calibration", DAY1, tmp_path, instance)
        assert again.success
        assert registry.version_ids(SYMBOL) == [version]
        assert (registry.root / SYMBOL / "LATEST").read_bytes() == pointer
        log = registry.decisions(SYMBOL)
        assert [(d.code, d.version) for d in log] == [
            ("published", version),
            ("unchanged", version),
        ]
        assert f"same fit as the published {version}" in log[-1].reason
        (event,) = again.asset_materializations_for_node("published_params")
        assert event.metadata["reason"].value == log[-1].reason


def _crossed(table: pa.Table) -> pa.Table:
    """Every row crossed: bid and ask swapped (book levels or bbo prices)."""
    bid, ask = table.column("bid_px"), table.column("ask_px")
    table = table.set_column(table.schema.get_field_index("bid_px"), "bid_px", ask)
    table = table.set_column(table.schema.get_field_index("ask_px"), "ask_px", bid)
    return table.drop_columns(["venue", "symbol", "date"])


@pytest.mark.parametrize(("table", "check"), [("book", "no_crossed_books"),
                                              ("bbo", "no_crossed_bbo")])
def test_crossed_partition_fails_its_check_and_publishes_nothing(
    tmp_path: Path, table: str, check: str
) -> None:
    lake = Lake.at(tmp_path)
    with dg.instance_for_test() as instance:
        assert _run("ingest", DAY1, tmp_path, instance).success
        # Duplicate trade ids cannot reach the lake (writes deduplicate on the id), so
        # poison the quotes: every row crossed. The bbo is the mid's source.
        rows = lake.read(table, symbol=SYMBOL, venue="synthetic")
        lake.write(table, "synthetic", SYMBOL, _crossed(rows), mode="replace")
        ingest = _run("ingest", DAY1, tmp_path, instance)
        checks = {e.check_name: e.passed for e in ingest.get_asset_check_evaluations()}
        assert checks[check] is False
        nightly = _run("nightly_calibration", DAY1, tmp_path, instance)
        assert not nightly.success
        assert f"{table} synthetic/{SYMBOL}/{DAY1} failed blocking checks: {check}" in (
            _failure_text(nightly)
        )
        registry = ParamRegistry(lake.paths, refresh_catalog=False)
        assert registry.latest_version(SYMBOL) is None


def test_a_partition_rewritten_after_its_checks_is_refused_until_they_rerun(
    tmp_path: Path,
) -> None:
    lake = Lake.at(tmp_path)
    with dg.instance_for_test() as instance:
        assert _run("ingest", DAY1, tmp_path, instance).success
        trades = lake.read("trades", symbol=SYMBOL, venue="synthetic")
        kept = trades.slice(0, trades.num_rows - 10).drop_columns(["venue", "symbol", "date"])
        lake.write("trades", "synthetic", SYMBOL, kept, mode="replace")  # a re-import
        nightly = _run("nightly_calibration", DAY1, tmp_path, instance)
        assert not nightly.success
        text = _failure_text(nightly)
        assert f"trades synthetic/{SYMBOL}/{DAY1} changed since it was checked" in text
        keys = day_input_keys("synthetic", SYMBOL, DAY1)
        with pytest.raises(QualityGateError):
            require_inputs(lake.paths, keys)
        assert _run("ingest", DAY1, tmp_path, instance).success  # the checks run again
        assert {r.table for r in require_inputs(lake.paths, keys).records} == {
            "trades", "book", "bbo", "funding"
        }


def _failure_text(result: dg.ExecuteInProcessResult) -> str:
    """Every step failure's message (a dg.Failure's description) in one string."""
    return " ".join(
        str(event.step_failure_data.error) for event in result.all_events if event.is_step_failure
    )
