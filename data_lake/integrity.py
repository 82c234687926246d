"""Corrupt partition files: detection (footer, page checksums, decoding) and quarantine.

Every partition file is written with a CRC per data page (:mod:`data_lake.writer`).
:func:`verify_partition` reads the footer and decodes every row group with page
checksum verification, so a truncated file, a flipped byte or a foreign file is found
before anything merges with it. A corrupt file is never read silently: the writer
moves it aside before a merge, ``lake verify`` sweeps the whole lake, and each one is
moved to ``lake/.corrupt/`` (outside every DuckDB glob) and reported in
``lake/.corrupt/reports.jsonl`` with its path, size, SHA-256 and the reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from data_lake.commit import locked_partition
from data_lake.partitions import PARTITION_FILE, PartitionKey
from data_lake.schemas import TABLES

__all__ = [
    "CORRUPT_DIR",
    "CorruptFile",
    "quarantine_partition_file",
    "verify_lake",
    "verify_partition",
]

log = logging.getLogger(__name__)

CORRUPT_DIR = ".corrupt"
REPORTS = "reports.jsonl"


@dataclass(frozen=True)
class CorruptFile:
    """One corrupt partition file: where it was, where it went, and why."""

    path: Path
    moved_to: Path | None
    problem: str


def verify_partition(path: Path, schema: pa.Schema | None = None) -> str | None:
    """What is wrong with a partition file, or None when it reads back whole.

    Checks the footer (and, given the table's ``schema``, that the file has its
    columns and types), then decodes each row group with page checksum verification
    (memory: one row group at a time). Footer bytes that carry no data (the writer's
    name) are not covered by any checksum; damage there is harmless to the rows.
    """
    try:
        pf = pq.ParquetFile(path, page_checksum_verification=True)
        if schema is not None and not pf.schema_arrow.remove_metadata().equals(
            schema.remove_metadata(), check_metadata=False
        ):
            return (
                f"columns {pf.schema_arrow} do not match the table's {schema} (written "
                "by other code?): reported, not moved"
            )
        rows = 0
        for i in range(pf.metadata.num_row_groups):
            rows += pf.read_row_group(i).num_rows
        if rows != pf.metadata.num_rows:
            return f"footer says {pf.metadata.num_rows} rows, row groups hold {rows}"
    except (pa.ArrowException, OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]}"
    return None


def quarantine_partition_file(lake_root: Path, path: Path, problem: str) -> Path:
    """Move a corrupt partition file under ``lake/.corrupt/`` and report it; returns the new path.

    The caller holds the partition's lock (or nothing writes the lake).
    """
    rel = path.relative_to(lake_root)
    data = path.read_bytes()
    dest = lake_root / CORRUPT_DIR / rel.parent / f"{time.time_ns()}-{PARTITION_FILE}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, dest)
    report = {
        "path": str(rel),
        "moved_to": str(dest.relative_to(lake_root)),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "problem": problem,
        "found_at_ns": time.time_ns(),
        "pid": os.getpid(),
    }
    with open(lake_root / CORRUPT_DIR / REPORTS, "a") as fh:
        fh.write(json.dumps(report, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    log.error(
        "lake: corrupt partition file %s (%s); moved to %s, its rows are no longer "
        "read: re-import the day",
        rel,
        problem,
        dest.relative_to(lake_root),
    )
    return dest


def verify_lake(lake_root: Path, *, quarantine: bool = True) -> list[CorruptFile]:
    """Check every partition file of the lake; move the damaged ones aside if asked.

    A file that reads back whole but whose columns differ from its table's is reported
    and left in place (old code's files are not damage).
    """
    found: list[CorruptFile] = []
    for path in sorted(lake_root.glob(f"*/venue=*/symbol=*/date=*/{PARTITION_FILE}")):
        table_spec = TABLES.get(path.parts[-5])
        problem = verify_partition(path, table_spec.schema if table_spec else None)
        if problem is None:
            continue
        moved: Path | None = None
        if quarantine and verify_partition(path) is not None:  # damaged, not just old columns
            table = path.parts[-5]
            parts = {k: v for k, _, v in (p.partition("=") for p in path.parts[-4:-1])}
            key = PartitionKey(
                parts["venue"], parts["symbol"], dt.date.fromisoformat(parts["date"])
            )
            with locked_partition(lake_root, table, key):
                if path.exists() and verify_partition(path) is not None:
                    moved = quarantine_partition_file(lake_root, path, problem)
        found.append(CorruptFile(path, moved, problem))
    return found
