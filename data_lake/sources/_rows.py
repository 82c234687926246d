"""Column buffers the importers fill row by row, and small helpers they share.

Rows are appended to plain lists (the cheapest thing Python can do per row) and turned
into Arrow tables of the lake schema in one call when a batch is full.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa

from data_lake.importing import ImportSession
from data_lake.schemas import BBO, FUNDING, TRADES, TableSpec
from data_lake.sources.textio import ProgressFn

__all__ = ["BboRows", "FundingRows", "TradeRows", "counting", "recv_ts_of"]


class _Rows:
    """Lists named like the columns of ``SPEC``; types come from the one schema module."""

    SPEC: ClassVar[TableSpec]
    ts: list[int]

    def __len__(self) -> int:
        return len(self.ts)

    def to_arrow(self) -> pa.Table:
        schema = self.SPEC.schema
        return pa.table([pa.array(getattr(self, f.name), f.type) for f in schema], schema=schema)


@dataclass
class TradeRows(_Rows):
    SPEC: ClassVar[TableSpec] = TRADES

    ts: list[int] = field(default_factory=list)
    price: list[float] = field(default_factory=list)
    size: list[float] = field(default_factory=list)
    side: list[int] = field(default_factory=list)
    trade_id: list[str] = field(default_factory=list)
    recv_ts: list[int | None] = field(default_factory=list)


@dataclass
class BboRows(_Rows):
    SPEC: ClassVar[TableSpec] = BBO

    ts: list[int] = field(default_factory=list)
    seq: list[int] = field(default_factory=list)
    bid_px: list[float] = field(default_factory=list)
    bid_sz: list[float] = field(default_factory=list)
    ask_px: list[float] = field(default_factory=list)
    ask_sz: list[float] = field(default_factory=list)
    recv_ts: list[int | None] = field(default_factory=list)


@dataclass
class FundingRows(_Rows):
    SPEC: ClassVar[TableSpec] = FUNDING

    ts: list[int] = field(default_factory=list)
    rate: list[float] = field(default_factory=list)
    interval_s: list[int] = field(default_factory=list)
    mark_px: list[float | None] = field(default_factory=list)
    oracle_px: list[float | None] = field(default_factory=list)
    recv_ts: list[int | None] = field(default_factory=list)


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_NS_PER_MS = 1_000_000


def parse_recv_ns(text: bytes) -> int:
    """A receive time in ns UTC from its digits; ValueError unless it fits int64."""
    value = int(text)
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValueError(f"receive timestamp {value} does not fit a 64-bit integer")
    return value


def ms_to_ns(value: Any) -> int:
    """An exchange time in integer ms as ns UTC; ValueError for a non-integer (or a bool,
    a string, a float), a negative time, or one whose ns do not fit int64.
    """
    if type(value) is not int:
        raise ValueError(f"time {str(value)[:40]!r} is not integer ms")
    if not 0 <= value <= _INT64_MAX // _NS_PER_MS:
        raise ValueError(f"time {value} ms is out of range")
    return value * _NS_PER_MS


def recv_ts_of(raw: bytes) -> int | None:
    """The local receive time (ns) prefixing a ``<recv_ts_ns> <json>`` line, if any."""
    try:
        return parse_recv_ns(raw[: raw.find(b" ")])
    except ValueError:
        return None


def counting(session: ImportSession, progress: ProgressFn | None) -> ProgressFn:
    """A progress callback that also adds the bytes to the session's total."""

    def on_bytes(n: int) -> None:
        session.bytes_read += n
        if progress is not None:
            progress(n)

    return on_bytes
