"""Run a job on one partition through the instance, tied to the code location.

``JobDefinition.execute_in_process`` records runs with no code-location origin: the UI
then cannot tie them to their job (its job page, the run list's job column and the
Overview timeline filter on the repository label). :func:`launch_partition` creates the
run with the origin ``dagster dev`` uses for this repository (location ``mmcal`` from
pyproject ``[tool.dagster]``) and executes it in this process, step after step, as
``execute_in_process`` would (no subprocess per step: `make run` stays quick).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.definitions.partitions.context import partition_loading_context
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.execution.api import execute_run
from dagster._core.execution.build_resources import wrap_resources_for_execution
from dagster._core.remote_origin import (
    ManagedGrpcPythonEnvCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from assets.partitions import register_days

__all__ = [
    "CODE_LOCATION",
    "DEFINITIONS_MODULE",
    "REPOSITORY_NAME",
    "LaunchedRun",
    "launch_partition",
    "remote_job_origin",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFINITIONS_MODULE = "orchestration.definitions"
CODE_LOCATION = "mmcal"  # pyproject [tool.dagster] code_location_name
REPOSITORY_NAME = "__repository__"  # what Dagster names the repository of a Definitions


@dataclass(frozen=True)
class LaunchedRun:
    """A finished run: its id (the UI's /runs/<id>) and whether it succeeded."""

    run_id: str
    success: bool


def remote_job_origin(job_name: str) -> RemoteJobOrigin:
    """The origin the webserver gives ``job_name`` when it loads this code location."""
    target = LoadableTargetOrigin(
        executable_path=sys.executable,
        module_name=DEFINITIONS_MODULE,
        working_directory=str(REPO_ROOT),
    )
    location = ManagedGrpcPythonEnvCodeLocationOrigin(target, location_name=CODE_LOCATION)
    return RemoteJobOrigin(RemoteRepositoryOrigin(location, REPOSITORY_NAME), job_name)


def launch_partition(
    job_name: str,
    partition_key: dg.MultiPartitionKey,
    instance: dg.DagsterInstance,
    *,
    run_config: Mapping[str, Any] | None = None,
    resources: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
) -> LaunchedRun:
    """Create the run of ``job_name`` on ``partition_key`` in ``instance`` and execute it.

    The run carries the repository label and the job's code origins, so the UI lists it
    under its job. ``resources`` override the Definitions' (tests root them elsewhere).
    Step failures are recorded in the run, not raised: check ``success``. The partition's
    day is registered first when it is not yet (assets/partitions.py).
    """
    from orchestration.definitions import defs

    # Running a day makes it a partition (dynamic dates: assets/partitions.py).
    register_days(instance, [dt.date.fromisoformat(partition_key.keys_by_dimension["date"])])
    job_def = defs.resolve_job_def(job_name)
    with partition_loading_context(dynamic_partitions_store=instance) as context:
        job_def.validate_partition_key(partition_key, selected_asset_keys=None, context=context)
    ephemeral = job_def.as_ephemeral_job(resource_defs=_resource_defs(resources), input_values={})
    recon = ReconstructableRepository.for_module(
        DEFINITIONS_MODULE, "defs", working_directory=str(REPO_ROOT)
    ).get_reconstructable_job(job_name)
    run = instance.create_run_for_job(
        job_def=ephemeral,
        run_config=dict(run_config or {}),
        tags={
            **job_def.run_tags,
            **job_def.get_tags_for_partition_key(partition_key, selected_asset_keys=None),
            **(tags or {}),
        },
        remote_job_origin=remote_job_origin(job_name),
        job_code_origin=recon.get_python_origin(),
    )
    result = execute_run(InMemoryJob(ephemeral), run, instance)
    return LaunchedRun(run.run_id, result.success)


def _resource_defs(resources: Mapping[str, Any] | None) -> dict[str, dg.ResourceDefinition]:
    return dict(wrap_resources_for_execution(resources or {}))
