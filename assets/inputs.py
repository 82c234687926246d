"""What each fit reads, partition by partition, and the quality gate on all of it. No Dagster.

Every fit's input path calls :func:`require_inputs` on the partitions listed here before
reading them, and the candidate and validation call it again when they write the
document, so a partition rewritten after the fits read it (its check record no longer
matches its bytes) stops the publish too. The same lists give the param document its
``partitions`` and ``quality`` (data_lake.quality_store, docs/architecture.md §5):

- the fitted day: its trades, bbo and book, and the funding prints of the funding window
  (:data:`FUNDING_HISTORY_DAYS` days back, the day included);
- correlation: the other symbols' bbo on the same day;
- validation: the held-out day, as the fitted day above.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from data_lake.paths import LakePaths
from data_lake.quality_store import PartitionQuality, QualityGateError, require_passed
from data_lake.writer import PartitionKey

__all__ = [
    "DAY_TABLES",
    "FUNDING_HISTORY_DAYS",
    "CheckedInputs",
    "InputKey",
    "correlation_input_keys",
    "day_input_keys",
    "history_input_keys",
    "merged_quality",
    "require_inputs",
]

FUNDING_HISTORY_DAYS = 14  # an hourly OU needs days of prints, not one day's 24
DAY_TABLES = ("trades", "bbo", "book")


@dataclass(frozen=True)
class InputKey:
    """One partition a fit reads: a lake table at a venue/symbol/day."""

    table: str
    key: PartitionKey


@dataclass(frozen=True)
class CheckedInputs:
    """The partitions a fit read, each with the (passed) outcomes of its table's checks."""

    records: tuple[PartitionQuality, ...] = ()

    def __add__(self, other: CheckedInputs) -> CheckedInputs:
        seen = {(r.table, r.key) for r in self.records}
        extra = tuple(r for r in other.records if (r.table, r.key) not in seen)
        return CheckedInputs(self.records + extra)

    def partitions(self) -> list[str]:
        """Every ``venue/symbol/date`` read, sorted."""
        return sorted({r.partition for r in self.records})

    def quality(self) -> list[dict[str, Any]]:
        """The document's ``quality`` entries: every check of every partition read."""
        return merged_quality(*(r.document_checks() for r in self.records))


def day_input_keys(
    venue: str, symbol: str, day: dt.date, *, funding_days: int = FUNDING_HISTORY_DAYS
) -> list[InputKey]:
    """The day's trades, bbo and book, and funding from ``funding_days`` back to the day."""
    key = PartitionKey(venue, symbol, day)
    return [InputKey(t, key) for t in DAY_TABLES] + history_input_keys(
        "funding", venue, symbol, day, funding_days
    )


def history_input_keys(
    table: str, venue: str, symbol: str, day: dt.date, days_back: int
) -> list[InputKey]:
    """``table`` on ``day`` and the ``days_back`` days before it (a history window)."""
    return [
        InputKey(table, PartitionKey(venue, symbol, day - dt.timedelta(days=k)))
        for k in range(days_back, -1, -1)
    ]


def correlation_input_keys(
    venue: str, symbol: str, day: dt.date, symbols: Sequence[str]
) -> list[InputKey]:
    """The bbo of every other symbol on the day (their mids enter the correlation)."""
    return [InputKey("bbo", PartitionKey(venue, s, day)) for s in symbols if s != symbol]


def require_inputs(paths: LakePaths, keys: Iterable[InputKey]) -> CheckedInputs:
    """Run the quality gate on every partition in ``keys`` (missing files are skipped).

    Raises
    ------
    data_lake.quality_store.QualityGateError
        Naming every partition that was never checked, changed since its checks, or
        failed a blocking check.
    """
    by_table: dict[str, list[PartitionKey]] = {}
    for k in keys:
        by_table.setdefault(k.table, []).append(k.key)
    records: list[PartitionQuality] = []
    problems: list[str] = []
    for table, partitions in by_table.items():
        try:
            records.extend(require_passed(paths, table, partitions))
        except QualityGateError as exc:
            problems.extend(exc.problems)
    if problems:
        raise QualityGateError(problems)
    return CheckedInputs(tuple(records))


def merged_quality(*blocks: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Quality entries of several reads, one per (partition, table, check), sorted."""
    merged = {(q["partition"], q.get("table") or "", q["check"]): q for b in blocks for q in b}
    return [merged[k] for k in sorted(merged)]
