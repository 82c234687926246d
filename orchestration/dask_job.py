"""The nightly calibration on a Dask cluster (dagster-dask): one Dask task per Dagster step.

``nightly_calibration_dask`` selects the same assets as ``nightly_calibration``; only the
executor differs. Point it at a running scheduler through run config::

    execution: {config: {cluster: {existing: {address: "tcp://scheduler:8786"}}}}

Every worker rebuilds the job from this module (:func:`nightly_calibration_on_dask`), so
workers need the repository installed, the same ``MMCAL_HOME`` (the lake, its catalog,
the quality records, the param registry) and the Dagster storage under it (the
``FilesystemIOManager`` passes each step's outputs through ``$MMCAL_HOME/dagster_storage``)
on shared storage, and the run's Dagster instance reachable (its event log: a database
every worker can open). README "Scaling out" says what is per worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dask import dask_executor

from orchestration.jobs import NIGHTLY_SELECTION

__all__ = [
    "DASK_JOB_NAME",
    "dask_run_config",
    "nightly_calibration_dask_job",
    "nightly_calibration_on_dask",
    "partition_tags",
]

DASK_JOB_NAME = "nightly_calibration_dask"

nightly_calibration_dask_job = dg.define_asset_job(
    name=DASK_JOB_NAME,
    selection=NIGHTLY_SELECTION,  # partitioned by symbol-day like its assets
    executor_def=dask_executor,
    description=(
        "nightly_calibration on a Dask cluster (dagster-dask; one task per step). Run "
        "config execution.config.cluster.existing.address names the scheduler; every "
        "worker must see the same MMCAL_HOME (lake, catalog, params, dagster_storage)."
    ),
)


def nightly_calibration_on_dask() -> dg.JobDefinition:
    """The resolved Dask job, for ``dagster.reconstructable`` (workers rebuild it from here)."""
    from orchestration.definitions import defs

    return defs.resolve_job_def(DASK_JOB_NAME)


def dask_run_config(address: str) -> dict[str, Any]:
    """Run config sending every step to the Dask scheduler at ``address`` (tcp://host:port)."""
    return {"execution": {"config": {"cluster": {"existing": {"address": address}}}}}


def partition_tags(key: dg.MultiPartitionKey) -> Mapping[str, str]:
    """The run tags naming one symbol-day partition (what ``execute_job`` takes instead of
    a ``partition_key`` argument)."""
    tags = {"dagster/partition": str(key)}
    for dim, value in key.keys_by_dimension.items():
        tags[f"dagster/partition/{dim}"] = value
    return tags
