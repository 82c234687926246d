"""What every importer shares: the row accounting, the quarantine and the staged writes.

An import is one :class:`ImportSession`. Importers count every input record (a line,
a LOBSTER message/orderbook pair, one element of a Hyperliquid trades array), accept
it into a table or quarantine it with a reason, and hand finished Arrow batches to the
session's :class:`LakeSink`. The sink keeps recent batches in memory up to a byte
budget, spills the rest to Parquet parts under ``lake/.staging/``, and at commit merges
each touched partition atomically (in memory when small, out of core with DuckDB when
not), so memory does not grow with the input.

The report's invariant, checked at the end of every import::

    records_in == sum(accepted.values()) + sum(quarantined.values())

``accepted`` counts records by the table they feed (a LOBSTER execution feeds both
trades and book; it counts once, under trades); ``rows_written`` counts the rows
offered to each table, which differ from accepted records when books are throttled.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from data_lake.partitions import PartitionKey, day_of_ns
from data_lake.schemas import QUARANTINE
from data_lake.sink import LakeSink

if TYPE_CHECKING:
    from data_lake.lake import Lake

__all__ = [
    "RAW_MAX_CHARS",
    "ImportReport",
    "ImportSession",
    "LakeSink",
    "QuarantinedRow",
    "reason_category",
]

RAW_MAX_CHARS = 1000
UNKNOWN_SYMBOL = "_unknown"
_EXAMPLES = 20
_EPOCH = dt.date(1970, 1, 1)


def reason_category(reason: str) -> str:
    """The reason without its specifics: the text before the first ``':'``."""
    return reason.split(":", 1)[0].strip()


def _safe_symbol(symbol: str | None) -> str:
    if not symbol:
        return UNKNOWN_SYMBOL
    try:
        PartitionKey("v", symbol, _EPOCH)
    except ValueError:
        return UNKNOWN_SYMBOL
    return symbol


@dataclass(frozen=True)
class QuarantinedRow:
    """One rejected record, as the report shows it (the lake keeps all of them)."""

    table: str
    source: str
    line: int
    reason: str
    raw: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "source": self.source,
            "line": self.line,
            "reason": self.reason,
            "raw": self.raw,
        }


@dataclass(frozen=True)
class ImportReport:
    """What an import read, kept and rejected.

    Attributes
    ----------
    importer : the source name (``binance``, ``hyperliquid``, ``lobster``).
    sources : the files (or zip members) read.
    records_in : input records read.
    accepted : records accepted, by the table they feed.
    quarantined : records quarantined, by reason category.
    quarantined_by_table : records quarantined, by the table they were meant for.
    rows_written : rows offered to each lake table (after throttling, before the merge
        with what the partitions held).
    partitions : the partitions written, ``table/venue=V/symbol=S/date=D``.
    notes : importer-specific counts (e.g. LOBSTER visible/hidden executions).
    errors : file-level problems (a truncated file); its complete lines are counted.
    examples : the first few quarantined records.
    bytes_read : on-disk bytes consumed.
    seconds : wall-clock duration of the import, s.
    """

    importer: str
    sources: tuple[str, ...]
    records_in: int
    accepted: dict[str, int]
    quarantined: dict[str, int]
    quarantined_by_table: dict[str, int]
    rows_written: dict[str, int]
    partitions: tuple[str, ...]
    notes: dict[str, Any]
    errors: tuple[str, ...]
    examples: tuple[QuarantinedRow, ...]
    bytes_read: int
    seconds: float

    @property
    def n_accepted(self) -> int:
        return sum(self.accepted.values())

    @property
    def n_quarantined(self) -> int:
        return sum(self.quarantined.values())

    @property
    def records_per_s(self) -> float:
        return self.records_in / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "importer": self.importer,
            "sources": list(self.sources),
            "records_in": self.records_in,
            "accepted": dict(self.accepted),
            "quarantined": dict(self.quarantined),
            "quarantined_by_table": dict(self.quarantined_by_table),
            "rows_written": dict(self.rows_written),
            "partitions": list(self.partitions),
            "notes": dict(self.notes),
            "errors": list(self.errors),
            "examples": [e.to_dict() for e in self.examples],
            "bytes_read": self.bytes_read,
            "seconds": self.seconds,
        }


@dataclass
class _QuarantineBuffer:
    ts: list[int | None] = field(default_factory=list)
    table: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    line: list[int] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    reason: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ts)


class ImportSession:
    """One import: accounting, quarantine and the sink; :meth:`finish` gives the report.

    Importers add to ``records_in`` as they read, call :meth:`accept` with their local
    counts, :meth:`quarantine` for each rejected record, and :meth:`add_rows` for
    finished batches.
    """

    QUARANTINE_BATCH = 50_000

    def __init__(
        self,
        lake: Lake,
        *,
        importer: str,
        venue: str,
        memory_bytes: int = 128 << 20,
        memory_limit: str = "512MB",
    ) -> None:
        self.lake = lake
        self.importer = importer
        self.venue = venue
        self.sink = LakeSink(lake, memory_bytes=memory_bytes, memory_limit=memory_limit)
        self.records_in = 0
        self.accepted: Counter[str] = Counter()
        self.quarantined: Counter[str] = Counter()
        self.quarantined_by_table: Counter[str] = Counter()
        self.notes: dict[str, Any] = {}
        self.errors: list[str] = []
        self.sources: list[str] = []
        self.bytes_read = 0
        self.fallback_ts = 0  # partition day for quarantined rows with no readable time
        self._examples: list[QuarantinedRow] = []
        self._q: dict[tuple[str, dt.date], _QuarantineBuffer] = {}
        self._q_rows = 0
        self._ingested_ns = time.time_ns()
        self._t0 = time.perf_counter()

    def accept(self, table: str, n: int = 1) -> None:
        if n:
            self.accepted[table] += n

    def add_rows(self, table: str, symbol: str, rows: pa.Table) -> None:
        self.sink.add(table, self.venue, symbol, rows)

    def quarantine(
        self,
        table: str,
        source: str,
        line: int,
        raw: bytes | str,
        reason: str,
        *,
        symbol: str | None = None,
        ts: int | None = None,
        day_ts: int | None = None,
    ) -> None:
        """Reject one record: count it and queue it for the quarantine table.

        Parameters
        ----------
        table : the table the record was meant for.
        source : the file (or ``zip:member``) it came from.
        line : its 1-based line (or row) number there.
        raw : the record as read; truncated to ``RAW_MAX_CHARS`` characters.
        reason : why, starting with a category (``"bad JSON: ..."``).
        symbol : the record's symbol when readable (partition key), else ``_unknown``.
        ts : the record's exchange time in ns UTC when readable.
        day_ts : a time (ns UTC) that places the row in a daily partition when ``ts`` is
            unknown (e.g. the line's receive time); else the session's ``fallback_ts``.
        """
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if len(text) > RAW_MAX_CHARS:
            text = text[:RAW_MAX_CHARS] + "..."
        category = reason_category(reason)
        self.quarantined[category] += 1
        self.quarantined_by_table[table] += 1
        if len(self._examples) < _EXAMPLES:
            self._examples.append(QuarantinedRow(table, source, line, reason, text))
        if ts is not None:
            day_ts = ts
        elif day_ts is None:
            day_ts = self.fallback_ts
        day = day_of_ns(day_ts)
        buf = self._q.setdefault((_safe_symbol(symbol), day), _QuarantineBuffer())
        buf.ts.append(ts)
        buf.table.append(table)
        buf.source.append(source)
        buf.line.append(line)
        buf.raw.append(text)
        buf.reason.append(reason)
        self._q_rows += 1
        if self._q_rows >= self.QUARANTINE_BATCH:
            self._flush_quarantine()

    def _flush_quarantine(self) -> None:
        for (symbol, day), buf in self._q.items():
            rows = pa.table(
                {
                    "ts": pa.array(buf.ts, pa.int64()),
                    "table": buf.table,
                    "source": buf.source,
                    "line": pa.array(buf.line, pa.int64()),
                    "raw": buf.raw,
                    "reason": buf.reason,
                    "ts_ingested": pa.array([self._ingested_ns] * len(buf), pa.int64()),
                },
                schema=QUARANTINE.schema,
            )
            self.sink.add("quarantine", self.venue, symbol, rows, day=day)
        self._q.clear()
        self._q_rows = 0

    def finish(self) -> ImportReport:
        """Commit every partition and return the report (asserting the invariant)."""
        self._flush_quarantine()
        results = self.sink.commit()
        n_acc = sum(self.accepted.values())
        n_q = sum(self.quarantined.values())
        if self.records_in != n_acc + n_q:
            raise AssertionError(
                f"{self.importer} import lost track of rows: {self.records_in} in != "
                f"{n_acc} accepted + {n_q} quarantined"
            )
        notes = dict(self.notes)
        if self.sink.spills:
            notes["staging_spills"] = self.sink.spills  # batches merged out of core
        return ImportReport(
            importer=self.importer,
            sources=tuple(self.sources),
            records_in=self.records_in,
            accepted=dict(sorted(self.accepted.items())),
            quarantined=dict(sorted(self.quarantined.items())),
            quarantined_by_table=dict(sorted(self.quarantined_by_table.items())),
            rows_written=dict(sorted(self.sink.rows_offered.items())),
            partitions=tuple(f"{r.table}/{r.key.relpath()}" for r in results),
            notes=notes,
            errors=tuple(self.errors),
            examples=tuple(self._examples),
            bytes_read=self.bytes_read,
            seconds=time.perf_counter() - self._t0,
        )

    def abort(self) -> None:
        self.sink.abort()
