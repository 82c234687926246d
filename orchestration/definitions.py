"""The one Definitions object `dagster dev` loads (named in pyproject [tool.dagster])."""

from __future__ import annotations

import dagster as dg

from assets import ASSET_MODULES
from assets.resources import LakeResource
from data_lake.paths import mmcal_home
from orchestration.dask_job import nightly_calibration_dask_job
from orchestration.jobs import JOBS
from orchestration.schedules import SCHEDULES
from orchestration.sensors import SENSORS, import_landing_job

__all__ = ["STEP_PRELOAD", "defs", "resources"]

STEP_PRELOAD = (
    "dagster._core.executor.multiprocess",  # first, as Dagster's own default does
    "orchestration.definitions",
    "dagster._utils.test",  # what a step process imports to plan its step
    "dagster._core.storage.sqlite_storage",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log",
    "dagster._core.storage.runs.sqlite.sqlite_run_storage",
)
"""Modules the multiprocess executor's fork server imports once per run."""


def resources(
    home: str | None = None, *, venue: str = "synthetic", seed: int = 7
) -> dict[str, object]:
    """The resources every asset needs, rooted at ``home`` (default ``$MMCAL_HOME``)."""
    root = home or str(mmcal_home())
    return {
        "lake": LakeResource(home=root, venue=venue, seed=seed),
        # Fit results and features cross runs (validation reads the next day's features).
        "io_manager": dg.FilesystemIOManager(base_dir=f"{root}/dagster_storage"),
    }


defs = dg.Definitions(
    assets=dg.load_assets_from_modules(ASSET_MODULES),
    jobs=[*JOBS, import_landing_job, nightly_calibration_dask_job],
    schedules=SCHEDULES,
    sensors=SENSORS,
    resources=resources(),
    # Steps run in parallel, one process each, forked from a server that imported this
    # module and the instance's storage once (a spawned step would import them again:
    # ~6 CPU s each). Celery/Kubernetes executors plug in here (or per run through run
    # config) without touching the assets.
    executor=dg.multiprocess_executor.configured(
        {
            "max_concurrent": 2,
            "start_method": {"forkserver": {"preload_modules": list(STEP_PRELOAD)}},
        }
    ),
)
