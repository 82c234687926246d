"""Sensors: recordings dropped into ``$MMCAL_HOME/landing/<source>/`` are imported, and
every day found in the lake becomes a date partition.

``<source>`` is an importer name (binance, hyperliquid, lobster). A file is imported
once per (path, size, mtime): the run key, so a rewritten file is imported again and
an unchanged one never twice (imports are idempotent anyway). The import registers the
days it wrote; ``lake_days_sensor`` registers any other (a `lake import` from the CLI,
generated days), so the UI's partitions are the days that exist.
"""

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from assets.partitions import date_partitions, register_days
from assets.resources import LakeResource
from data_lake.sources import IMPORTERS, get_importer

__all__ = ["SENSORS", "import_landing_job", "lake_days", "lake_days_sensor", "landing_sensor"]

_SUFFIXES = (".gz", ".zip", ".txt", ".jsonl", ".csv", ".log")


class LandingFile(dg.Config):
    source: str
    path: str


@dg.op(description="Import one landed recording into the lake; report rows and quarantine.")
def import_landing_file(
    context: dg.OpExecutionContext, config: LandingFile, lake: LakeResource
) -> dict[str, int]:
    report = get_importer(config.source)(lake.lake, [config.path])
    context.log.info(f"imported {config.path}: {report.to_dict()}")
    lake.lake.refresh()
    days = {dt.date.fromisoformat(m.group(1)) for p in report.partitions if (m := _DATE.search(p))}
    new = register_days(context.instance, days)
    if new:
        context.log.info(f"registered date partitions: {', '.join(map(str, new))}")
    return {"accepted": report.n_accepted, "quarantined": report.n_quarantined}


@dg.job(description="Import a file dropped into the landing folder.")
def import_landing_job() -> None:
    import_landing_file()


@dg.sensor(job=import_landing_job, minimum_interval_seconds=30)
def landing_sensor(
    context: dg.SensorEvaluationContext, lake: LakeResource
) -> Iterator[dg.RunRequest | dg.SkipReason]:
    landing = lake.paths.landing
    found = False
    for source in sorted(IMPORTERS):
        folder = landing / source
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if not path.is_file() or not path.name.endswith(_SUFFIXES):
                continue
            found = True
            stat = path.stat()
            yield dg.RunRequest(
                run_key=f"{path}:{stat.st_size}:{stat.st_mtime_ns}",
                run_config=dg.RunConfig(
                    ops={"import_landing_file": LandingFile(source=source, path=str(path))}
                ),
            )
    if not found:
        yield dg.SkipReason(f"nothing in {landing}/<{'|'.join(sorted(IMPORTERS))}>/")


_DATE = re.compile(r"date=(\d{4}-\d{2}-\d{2})")


def lake_days(lake_root: Path, venue: str) -> set[dt.date]:
    """The days with a trades partition of ``venue`` (any symbol), from the directory names."""
    days: set[dt.date] = set()
    for path in (lake_root / "trades" / f"venue={venue}").glob("symbol=*/date=*"):
        match = _DATE.search(path.name)
        if match:
            days.add(dt.date.fromisoformat(match.group(1)))
    return days


@dg.sensor(minimum_interval_seconds=60)
def lake_days_sensor(
    context: dg.SensorEvaluationContext, lake: LakeResource
) -> dg.SensorResult | dg.SkipReason:
    """Register every day of the venue found in the lake as a date partition."""
    known = set(context.instance.get_dynamic_partitions(date_partitions.name or "date"))
    new = sorted(
        d.isoformat() for d in lake_days(lake.paths.lake, lake.venue) if d.isoformat() not in known
    )
    if not new:
        return dg.SkipReason(f"every {lake.venue} day in {lake.paths.lake} is registered")
    return dg.SensorResult(dynamic_partitions_requests=[date_partitions.build_add_request(new)])


def landing_dirs(home: Path) -> list[Path]:
    return [home / "landing" / s for s in sorted(IMPORTERS)]


SENSORS = [landing_sensor, lake_days_sensor]
