"""Jobs: `ingest` (raw -> checked tables) and `nightly_calibration` (features -> published)."""

from __future__ import annotations

import dagster as dg

from assets.partitions import symbol_day_partitions

__all__ = ["JOBS", "NIGHTLY_SELECTION", "ingest_job", "nightly_calibration_job"]

INGEST_GROUPS = ("ingest", "quality", "derived")
# Everything after the ingest: the nightly job, on any executor (orchestration.dask_job).
NIGHTLY_SELECTION = dg.AssetSelection.all() - dg.AssetSelection.groups(*INGEST_GROUPS)

ingest_job = dg.define_asset_job(
    name="ingest",
    selection=dg.AssetSelection.groups(*INGEST_GROUPS),
    partitions_def=symbol_day_partitions,
    description=(
        "Import or generate one symbol-day, run its quality checks and write its derived "
        "tables (mid_1s, rv_5m, volume_1h) when they pass."
    ),
)

nightly_calibration_job = dg.define_asset_job(
    name="nightly_calibration",
    selection=NIGHTLY_SELECTION,
    partitions_def=symbol_day_partitions,
    description=(
        "Features, every calibration, the candidate param set, its validation on the next "
        "day and the publish gate, for one symbol-day (the fit day)."
    ),
)

JOBS = [ingest_job, nightly_calibration_job]
