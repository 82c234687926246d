"""Where a partition lives: its (venue, symbol, date) key, its file, the UTC day it spans.

A partition is ``<lake>/<table>/venue=V/symbol=S/date=D/data.parquet``: exactly one
file per table and key (docs/architecture.md §1). Readers (the catalog, the lake's
readers, the assets' day windows) and the writer share these definitions; only
:mod:`data_lake.writer` creates or replaces partition files.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = [
    "DAY_NS",
    "PARTITION_FILE",
    "PartitionKey",
    "day_of_ns",
    "day_window_ns",
    "partition_dir",
    "partition_file",
    "partition_rows",
    "split_by_date",
]

PARTITION_FILE = "data.parquet"
DAY_NS = 86_400 * 1_000_000_000  # one UTC calendar day, the partition unit
_EPOCH = dt.date(1970, 1, 1)
_SAFE = re.compile(r"^[A-Za-z0-9._\-]+$")


def day_window_ns(day: dt.date) -> tuple[int, int]:
    """``[start, end)`` of a UTC calendar day, int64 ns: the time span of a partition."""
    start = (day - _EPOCH).days * DAY_NS
    return start, start + DAY_NS


def day_of_ns(ts_ns: int) -> dt.date:
    """The UTC calendar day (the partition) of a time in ns since the epoch."""
    return _EPOCH + dt.timedelta(days=ts_ns // DAY_NS)


@dataclass(frozen=True)
class PartitionKey:
    """(venue, symbol, date) of one partition; ``date`` is the UTC calendar day."""

    venue: str
    symbol: str
    date: dt.date

    def __post_init__(self) -> None:
        for name in ("venue", "symbol"):
            value = getattr(self, name)
            if not _SAFE.match(value):
                raise ValueError(
                    f"{name} {value!r} cannot name a partition directory: use letters, "
                    "digits, '.', '_' or '-'"
                )

    def relpath(self) -> str:
        return f"venue={self.venue}/symbol={self.symbol}/date={self.date.isoformat()}"


def partition_dir(lake_root: Path, table: str, key: PartitionKey) -> Path:
    return lake_root / table / key.relpath()


def partition_file(lake_root: Path, table: str, key: PartitionKey) -> Path:
    return partition_dir(lake_root, table, key) / PARTITION_FILE


def partition_rows(path: Path) -> int:
    """Rows in a partition file (from its footer; 0 if the file does not exist)."""
    if not path.exists():
        return 0
    return int(pq.ParquetFile(path).metadata.num_rows)


def split_by_date(rows: pa.Table, ts_column: str = "ts") -> dict[dt.date, pa.Table]:
    """Split rows into UTC calendar days of their ``ts`` (int64 ns)."""
    if rows.num_rows == 0:
        return {}
    days = pc.divide(rows[ts_column], pa.scalar(DAY_NS, pa.int64()))
    lo, hi = pc.min_max(days).values()
    if lo.as_py() == hi.as_py():  # the common case: one day, no filtering
        return {_EPOCH + dt.timedelta(days=int(lo.as_py())): rows}
    out: dict[dt.date, pa.Table] = {}
    for day in pc.unique(days).to_pylist():
        mask = pc.equal(days, pa.scalar(day, pa.int64()))
        out[_EPOCH + dt.timedelta(days=int(day))] = rows.filter(mask)
    return out
