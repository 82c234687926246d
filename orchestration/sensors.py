"""The landing sensor: recordings dropped into ``$MMCAL_HOME/landing/<source>/`` are imported.

``<source>`` is an importer name (binance, hyperliquid, lobster). A file is imported
once per (path, size, mtime): the run key, so a rewritten file is imported again and
an unchanged one never twice (imports are idempotent anyway).
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from assets.resources import LakeResource
from data_lake.sources import IMPORTERS, get_importer

__all__ = ["SENSORS", "import_landing_job", "landing_sensor"]

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


def landing_dirs(home: Path) -> list[Path]:
    return [home / "landing" / s for s in sorted(IMPORTERS)]


SENSORS = [landing_sensor]
