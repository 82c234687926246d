"""The Dagster instance `make run` writes to and `make dagster` opens: one home per lake.

``$DAGSTER_HOME`` defaults to ``$MMCAL_HOME/dagster_home``; its ``dagster.yaml`` turns
telemetry and the first-visit pop-up (``nux``) off and lets the daemon run two runs at
a time (orchestration/backfill.py). Keys a person added to the file are
kept: only missing ones are written.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import yaml

from data_lake.paths import mmcal_home

__all__ = ["INSTANCE_SETTINGS", "dagster_home", "ensure_instance_home"]

INSTANCE_SETTINGS: dict[str, Any] = {
    "telemetry": {"enabled": False},
    "nux": {"enabled": False},  # the "join the community" pop-up on first visit
    # Runs the daemon launches (backfills, schedules, the UI) queue and start two at a
    # time: a 90-partition backfill on 2 cores would otherwise start 90 processes.
    "concurrency": {"runs": {"max_concurrent_runs": 2}},
}


def dagster_home(home: Path | None = None) -> Path:
    """``$DAGSTER_HOME`` when set, else ``<MMCAL_HOME>/dagster_home``."""
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"])
    return (home or mmcal_home()) / "dagster_home"


def ensure_instance_home(path: Path) -> Path:
    """Create ``path`` with a ``dagster.yaml`` holding :data:`INSTANCE_SETTINGS`.

    Idempotent: an existing file keeps its other keys and any value already set.
    Written through a temporary file and a rename, so a crash leaves the old file.
    """
    path.mkdir(parents=True, exist_ok=True)
    config_file = path / "dagster.yaml"
    current: dict[str, Any] = {}
    if config_file.exists():
        loaded = yaml.safe_load(config_file.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(
                f"{config_file} does not hold a YAML mapping; fix or delete it "
                "(Dagster's instance settings are a mapping of sections)"
            )
        current = loaded
    merged = {**INSTANCE_SETTINGS, **current}
    if merged != current or not config_file.exists():
        tmp = config_file.with_suffix(".yaml.tmp")
        tmp.write_text(yaml.safe_dump(merged, sort_keys=True))
        tmp.replace(config_file)
    return path


def main() -> int:
    """Print the instance home after making sure it exists (used by `make dagster`)."""
    print(ensure_instance_home(dagster_home()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
