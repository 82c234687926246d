"""`make run`'s graph on the default history: the published set identifies the multi-day
models (Heston, funding OU, full hour-of-week profile) and lists its whole window."""

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from assets.history import HISTORY_DAYS
from assets.partitions import DEFAULT_START, register_days
from data_lake.lake import Lake
from data_lake.registry import ParamRegistry
from data_lake.sources.synthetic import generate_to_lake
from data_lake.writer import day_window_ns
from orchestration.definitions import defs, resources
from orchestration.main_job import default_days, ingest_is_current

pytestmark = pytest.mark.slow

SYMBOL = "SOL"  # the smallest default symbol-day


def _run(job: str, day: dt.date, home: Path, instance: dg.DagsterInstance) -> bool:
    key = dg.MultiPartitionKey({"date": day.isoformat(), "symbol": SYMBOL})
    register_days(instance, [day])  # dynamic date partitions
    result = defs.resolve_job_def(job).execute_in_process(
        partition_key=key, instance=instance, resources=resources(str(home)), raise_on_error=False
    )
    return result.success


def test_published_set_identifies_the_multi_day_models(tmp_path: Path) -> None:
    days = default_days()
    assert days[0] == DEFAULT_START and len(days) == HISTORY_DAYS + 1
    lake = Lake.at(tmp_path)
    generate_to_lake(lake, symbols=[SYMBOL], days=len(days), seed=7, start=days[0])
    fit_day = days[-2]
    with dg.instance_for_test() as instance:
        for day in days:
            assert not ingest_is_current(lake, "synthetic", SYMBOL, day)
            assert _run("ingest", day, tmp_path, instance)
            assert ingest_is_current(lake, "synthetic", SYMBOL, day)
        assert _run("nightly_calibration", fit_day, tmp_path, instance)
    registry = ParamRegistry(lake.paths, refresh_catalog=False)
    version = registry.latest_version(SYMBOL)
    assert version is not None
    doc = registry.load(SYMBOL, version)
    assert doc.partitions == [f"synthetic/{SYMBOL}/{d.isoformat()}" for d in days[:-1]]
    assert doc.window.start_ns == day_window_ns(days[0])[0]
    assert doc.window.end_ns == day_window_ns(fit_day)[1]
    # quality also carries the held-out day's checks (the validation read it)
    held_out = f"synthetic/{SYMBOL}/{days[-1].isoformat()}"
    assert {q.partition for q in doc.quality} == {*doc.partitions, held_out}
    assert doc.quoting.heston is not None
    assert doc.quoting.heston.n_obs == HISTORY_DAYS * 288
    assert doc.models["funding"]["identifiable"] is True
    assert doc.models["funding"]["n_obs"] == HISTORY_DAYS * 24
    assert doc.models["volume_profile"]["source"] == ["week"] * 168
