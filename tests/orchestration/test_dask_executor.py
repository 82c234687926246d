"""The nightly job on dagster-dask against a two-process LocalCluster started here, and the
quoting block it publishes compared field for field with the in-process run's."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from distributed import LocalCluster
from threadpoolctl import threadpool_limits

from assets.partitions import DEFAULT_START, register_days
from data_lake.lake import Lake
from data_lake.registry import ParamRegistry
from data_lake.sources.synthetic import DEFAULT_MARKET, generate_to_lake
from orchestration.dask_job import (
    DASK_JOB_NAME,
    dask_run_config,
    nightly_calibration_on_dask,
    partition_tags,
)
from orchestration.definitions import defs, resources

pytestmark = pytest.mark.slow

SYMBOL = "SOL"  # the smallest default symbol-day
DAYS = (DEFAULT_START, DEFAULT_START + dt.timedelta(days=1))  # fit day, held-out day
KEY = dg.MultiPartitionKey({"date": DAYS[0].isoformat(), "symbol": SYMBOL})
# A quarter of SOL's default activity: every model still fits, the runs stay short.
TINY = DEFAULT_MARKET.with_activity(SYMBOL, 0.25)


def _published_quoting(home: Path) -> tuple[str, dict[str, Any], dict[str, Any]]:
    registry = ParamRegistry(Lake.at(home).paths, refresh_catalog=False)
    version = registry.latest_version(SYMBOL)
    assert version is not None, f"nothing published: {registry.decisions(SYMBOL)}"
    doc = registry.load(SYMBOL, version)
    return version, doc.quoting.model_dump(mode="json"), doc.models


def test_nightly_on_dask_publishes_the_in_process_quoting_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Workers rebuild the job from orchestration.definitions: its resources read
    # $MMCAL_HOME, inherited by the worker processes started below.
    monkeypatch.setenv("MMCAL_HOME", str(tmp_path))
    lake = Lake.at(tmp_path)
    generate_to_lake(lake, symbols=[SYMBOL], days=len(DAYS), seed=7, start=DAYS[0], market=TINY)
    (tmp_path / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster_home")) as instance:
        register_days(instance, DAYS)
        for day in DAYS:
            ingest = defs.resolve_job_def("ingest").execute_in_process(
                partition_key=dg.MultiPartitionKey({"date": day.isoformat(), "symbol": SYMBOL}),
                instance=instance,
                resources=resources(str(tmp_path)),
                raise_on_error=False,
            )
            assert ingest.success

        with LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster:
            result = dg.execute_job(
                dg.reconstructable(nightly_calibration_on_dask),
                instance=instance,
                run_config=dask_run_config(cluster.scheduler_address),
                tags=partition_tags(KEY),
            )
            assert result.success, [e.message for e in result.all_events if e.is_failure]
            assert result.job_def.name == DASK_JOB_NAME
            # Steps ran on the cluster's workers, not here (their logs name the executor).
            assert cluster.scheduler is not None
        on_dask = _published_quoting(tmp_path)

        # Same lake, a first night again: no published set, no stored step outputs.
        shutil.rmtree(tmp_path / "params")
        shutil.rmtree(tmp_path / "dagster_storage")
        # Dask's nanny starts its workers with BLAS single-threaded (distributed's
        # nanny.pre-spawn-environ: OPENBLAS/OMP/MKL_NUM_THREADS=1); a multithreaded dot
        # product sums in another order, and the GARCH fit's flat optimum turns that
        # last-bit difference into another 4th digit (and another version id). Same
        # threads here, so the comparison is of the engines, not of BLAS.
        with threadpool_limits(limits=1):
            local = defs.resolve_job_def("nightly_calibration").execute_in_process(
                partition_key=KEY, instance=instance, resources=resources(str(tmp_path))
            )
        assert local.success
        in_process = _published_quoting(tmp_path)

    assert on_dask[0] == in_process[0]  # the version id hashes the fit
    assert on_dask[1].keys() == in_process[1].keys()
    for field, value in in_process[1].items():
        assert on_dask[1][field] == value, f"quoting.{field}: dask {on_dask[1][field]} != {value}"
    assert on_dask[2] == in_process[2]
