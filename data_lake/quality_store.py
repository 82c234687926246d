"""Persisted quality results, tied to the bytes they judged, and the gate every fit input passes.

One JSON-lines file per checked symbol-day (``quality/venue=V/symbol=S/<date>.jsonl``),
one line per check outcome, written atomically and fsynced beside the lake and queryable as the
DuckDB view ``quality_results``. Each line names the table it judged and that table's
partition file as it was when checked: ``file_sha256`` (SHA-256 of the Parquet file),
``file_rows`` and ``file_bytes``.

:func:`require_passed` is the one gate every fit's input path calls, for every partition
it reads. A partition passes when its file exists, its record covers that table, the
recorded SHA-256 equals the file's SHA-256 now, and every blocking check of that table
passed. A re-import or merge that changes the rows changes the bytes (the writer makes
the file a function of its row set, docs/architecture.md §1), so the old record no longer
matches and the partition reads as *not checked* until its checks run again. A rewrite
that leaves the bytes identical (an idempotent re-import) keeps its record: the checks
judged exactly those bytes. A partition whose file does not exist is skipped: nothing is
read from it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_lake.catalog import JsonView, register_json_view
from data_lake.paths import LakePaths
from data_lake.quality import CheckOutcome
from data_lake.registry.files import replace_atomically
from data_lake.writer import PartitionKey, partition_file, partition_rows

__all__ = [
    "QUALITY_TABLES",
    "PartitionFingerprint",
    "PartitionQuality",
    "QualityGateError",
    "fingerprint",
    "fingerprints",
    "load_quality",
    "partition_name",
    "quality_file",
    "require_passed",
    "save_quality",
]

QUALITY_TABLES = ("trades", "book", "bbo", "funding")
"""The tables the day's checks judge: every table a fit reads."""

register_json_view(
    JsonView(
        name="quality_results",
        glob=lambda paths: str(paths.home / "quality" / "venue=*" / "symbol=*" / "*.jsonl"),
        empty_columns=(
            ("venue", "VARCHAR"),
            ("symbol", "VARCHAR"),
            ("date", "VARCHAR"),
            ("table", "VARCHAR"),
            ("name", "VARCHAR"),
            ("passed", "BOOLEAN"),
            ("blocking", "BOOLEAN"),
            ("file_sha256", "VARCHAR"),
        ),
    )
)


class QualityGateError(RuntimeError):
    """A fit input that may not be read: never checked, stale record, or failed checks.

    ``problems`` holds one line per refused partition, each naming the table, the
    partition and what to do.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        head = "refusing to fit on unchecked or failed data"
        super().__init__(f"{head}: " + "; ".join(self.problems))


@dataclass(frozen=True)
class PartitionFingerprint:
    """The identity of one partition file: SHA-256 of its bytes, rows, size in bytes."""

    sha256: str
    rows: int
    bytes: int


@dataclass(frozen=True)
class PartitionQuality:
    """One partition a fit may read, with the outcomes of its table's checks (all passed)."""

    table: str
    key: PartitionKey
    file: PartitionFingerprint
    outcomes: tuple[Mapping[str, Any], ...]

    @property
    def partition(self) -> str:
        return partition_name(self.key)

    def document_checks(self) -> list[dict[str, Any]]:
        """The outcomes as the param document's ``quality`` entries."""
        return [
            {
                "partition": self.partition,
                "table": self.table,
                "check": str(o["name"]),
                "passed": bool(o["passed"]),
                "blocking": bool(o["blocking"]),
                "detail": o.get("description"),
                "sha256": self.file.sha256,
            }
            for o in self.outcomes
        ]


def partition_name(key: PartitionKey) -> str:
    """``venue/symbol/YYYY-MM-DD``, as param documents name partitions."""
    return f"{key.venue}/{key.symbol}/{key.date.isoformat()}"


def quality_file(paths: LakePaths, venue: str, symbol: str, day: dt.date) -> Path:
    return paths.home / "quality" / f"venue={venue}" / f"symbol={symbol}" / f"{day}.jsonl"


def fingerprint(paths: LakePaths, table: str, key: PartitionKey) -> PartitionFingerprint | None:
    """The partition file's identity now, or None when it does not exist."""
    path = partition_file(paths.lake, table, key)
    try:
        with open(path, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
            size = os.fstat(fh.fileno()).st_size
    except FileNotFoundError:
        return None
    return PartitionFingerprint(digest, partition_rows(path), size)


def fingerprints(
    paths: LakePaths, venue: str, symbol: str, day: dt.date, tables: Sequence[str] = QUALITY_TABLES
) -> dict[str, PartitionFingerprint | None]:
    """Every table's fingerprint for one symbol-day (take it *before* reading to check)."""
    key = PartitionKey(venue, symbol, day)
    return {table: fingerprint(paths, table, key) for table in tables}


def save_quality(
    paths: LakePaths,
    venue: str,
    symbol: str,
    day: dt.date,
    outcomes: Sequence[CheckOutcome],
    *,
    files: Mapping[str, PartitionFingerprint | None],
) -> Path:
    """Replace the partition's quality record with ``outcomes`` (temp file + rename).

    ``files`` are the fingerprints taken before the checked rows were read; each outcome
    is stored with its table's. Raises :class:`QualityGateError` (nothing is written)
    when a file changed while it was being checked: the outcomes may describe neither
    version, so the checks must run again.
    """
    now = fingerprints(paths, venue, symbol, day, tuple(files))
    changed = [t for t in files if now[t] != files[t]]
    if changed:
        where = f"{venue}/{symbol}/{day.isoformat()}"
        raise QualityGateError(
            [f"{t} {where} was rewritten while its checks ran; run the checks again"
             for t in changed]
        )
    target = quality_file(paths, venue, symbol, day)
    target.parent.mkdir(parents=True, exist_ok=True)
    checked_at = time.time_ns()
    lines = []
    for o in outcomes:
        file = files.get(o.table) if o.table is not None else None
        lines.append(
            json.dumps(
                {
                    "venue": venue,
                    "symbol": symbol,
                    "date": day.isoformat(),
                    **o.to_dict(),
                    "details": json.dumps(o.details, sort_keys=True),
                    "checked_at_ns": checked_at,
                    "file_sha256": file.sha256 if file else None,
                    "file_rows": file.rows if file else 0,
                    "file_bytes": file.bytes if file else 0,
                },
                sort_keys=True,
            )
        )
    # fsynced file, rename, fsynced directory: a crash or power cut leaves the old
    # record or the new one, never an empty or torn file.
    replace_atomically(target, ("\n".join(lines) + "\n").encode())
    return target


def load_quality(paths: LakePaths, venue: str, symbol: str, day: dt.date) -> list[dict[str, Any]]:
    """The partition's recorded outcomes, or [] when it was never checked."""
    target = quality_file(paths, venue, symbol, day)
    if not target.exists():
        return []
    return [json.loads(line) for line in target.read_text().splitlines() if line.strip()]


def require_passed(
    paths: LakePaths, table: str, keys: Iterable[PartitionKey]
) -> list[PartitionQuality]:
    """The gate of every fit input: each partition of ``table`` at ``keys`` passed its checks.

    Partitions without a file are skipped (nothing is read from them). Returns one
    :class:`PartitionQuality` per existing partition, in the order of ``keys``, for the
    param document's ``quality`` block.

    Raises
    ------
    QualityGateError
        Naming every refused partition: never checked, checked before this table was
        written or before records carried file hashes, rewritten since its checks (the
        SHA-256 differs), or a blocking check of this table failed (named).
    """
    passed: list[PartitionQuality] = []
    problems: list[str] = []
    for key in keys:
        file = fingerprint(paths, table, key)
        if file is None:
            continue
        where = f"{table} {partition_name(key)}"
        rerun = f"(Dagster job `ingest`, partition {key.date.isoformat()}|{key.symbol})"
        record = load_quality(paths, key.venue, key.symbol, key.date)
        lines = [r for r in record if r.get("table") == table]
        if not record:
            problems.append(f"{where} was never checked; run its quality checks {rerun}")
            continue
        if not lines:
            problems.append(
                f"{where} is not covered by its quality record (written after the checks "
                f"ran, or checked by older code); run its quality checks again {rerun}"
            )
            continue
        recorded = {r.get("file_sha256") for r in lines}
        if recorded != {file.sha256}:
            was = ", ".join(sorted(str(s)[:12] for s in recorded))
            rows = lines[0].get("file_rows")
            problems.append(
                f"{where} changed since it was checked (re-imported or merged: sha256 {was} "
                f"with {rows} rows when checked, {file.sha256[:12]} with {file.rows} rows "
                f"now); its old check record no longer applies: run its checks again {rerun}"
            )
            continue
        failed = [r for r in lines if r.get("blocking") and not r.get("passed")]
        if failed:
            named = ", ".join(f"{r['name']} ({_brief(r.get('details'))})" for r in failed)
            problems.append(
                f"{where} failed blocking checks: {named}; fix or re-import the day, then "
                f"run its checks again {rerun}"
            )
            continue
        passed.append(PartitionQuality(table, key, file, tuple(lines)))
    if problems:
        raise QualityGateError(problems)
    return passed


def _brief(details: Any, limit: int = 160) -> str:
    """A failed check's details, short enough for one error line."""
    text = details if isinstance(details, str) else json.dumps(details, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."
