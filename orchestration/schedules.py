"""Nightly schedules (UTC).

00:10 ingests yesterday (X-1) for every symbol. 00:30 calibrates the day before
(X-2): its candidate is validated out of sample on X-1, the newest complete day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import dagster as dg

from assets.partitions import register_days, symbol_partitions
from orchestration.jobs import ingest_job, nightly_calibration_job

__all__ = ["SCHEDULES", "nightly_calibration_schedule", "nightly_ingest_schedule"]


def _requests(
    context: dg.ScheduleEvaluationContext, day: dt.date, tag: str
) -> Iterator[dg.RunRequest]:
    register_days(context.instance, [day])  # the date partition must exist before its runs
    for symbol in symbol_partitions.get_partition_keys():
        key = dg.MultiPartitionKey({"date": day.isoformat(), "symbol": symbol})
        yield dg.RunRequest(run_key=f"{tag}:{key}", partition_key=key)


@dg.schedule(cron_schedule="10 0 * * *", job=ingest_job, execution_timezone="UTC")
def nightly_ingest_schedule(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest]:
    assert context.scheduled_execution_time is not None
    day = context.scheduled_execution_time.date() - dt.timedelta(days=1)
    yield from _requests(context, day, "ingest")


@dg.schedule(cron_schedule="30 0 * * *", job=nightly_calibration_job, execution_timezone="UTC")
def nightly_calibration_schedule(
    context: dg.ScheduleEvaluationContext,
) -> Iterator[dg.RunRequest]:
    assert context.scheduled_execution_time is not None
    fit_day = context.scheduled_execution_time.date() - dt.timedelta(days=2)
    yield from _requests(context, fit_day, "calibrate")


SCHEDULES = [nightly_ingest_schedule, nightly_calibration_schedule]
