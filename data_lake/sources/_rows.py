"""Column buffers the importers fill row by row, and small helpers they share.

Rows are appended to plain lists (the cheapest thing Python can do per row) and turned
into Arrow tables of the lake schema in one call when a batch is full.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from data_lake.importing import ImportSession
from data_lake.sources.textio import ProgressFn

__all__ = ["BboRows", "FundingRows", "TradeRows", "counting", "recv_ts_of"]


@dataclass
class TradeRows:
    ts: list[int] = field(default_factory=list)
    price: list[float] = field(default_factory=list)
    size: list[float] = field(default_factory=list)
    side: list[int] = field(default_factory=list)
    trade_id: list[str] = field(default_factory=list)
    recv_ts: list[int | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ts)

    def to_arrow(self) -> pa.Table:
        return pa.table(
            {
                "ts": pa.array(self.ts, pa.int64()),
                "price": pa.array(self.price, pa.float64()),
                "size": pa.array(self.size, pa.float64()),
                "side": pa.array(self.side, pa.int8()),
                "trade_id": pa.array(self.trade_id, pa.string()),
                "recv_ts": pa.array(self.recv_ts, pa.int64()),
            }
        )


@dataclass
class BboRows:
    ts: list[int] = field(default_factory=list)
    seq: list[int] = field(default_factory=list)
    bid_px: list[float] = field(default_factory=list)
    bid_sz: list[float] = field(default_factory=list)
    ask_px: list[float] = field(default_factory=list)
    ask_sz: list[float] = field(default_factory=list)
    recv_ts: list[int | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ts)

    def to_arrow(self) -> pa.Table:
        return pa.table(
            {
                "ts": pa.array(self.ts, pa.int64()),
                "seq": pa.array(self.seq, pa.int64()),
                "bid_px": pa.array(self.bid_px, pa.float64()),
                "bid_sz": pa.array(self.bid_sz, pa.float64()),
                "ask_px": pa.array(self.ask_px, pa.float64()),
                "ask_sz": pa.array(self.ask_sz, pa.float64()),
                "recv_ts": pa.array(self.recv_ts, pa.int64()),
            }
        )


@dataclass
class FundingRows:
    ts: list[int] = field(default_factory=list)
    rate: list[float] = field(default_factory=list)
    interval_s: list[int] = field(default_factory=list)
    mark_px: list[float | None] = field(default_factory=list)
    oracle_px: list[float | None] = field(default_factory=list)
    recv_ts: list[int | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ts)

    def to_arrow(self) -> pa.Table:
        return pa.table(
            {
                "ts": pa.array(self.ts, pa.int64()),
                "rate": pa.array(self.rate, pa.float64()),
                "interval_s": pa.array(self.interval_s, pa.int64()),
                "mark_px": pa.array(self.mark_px, pa.float64()),
                "oracle_px": pa.array(self.oracle_px, pa.float64()),
                "recv_ts": pa.array(self.recv_ts, pa.int64()),
            }
        )


def recv_ts_of(raw: bytes) -> int | None:
    """The local receive time (ns) prefixing a ``<recv_ts_ns> <json>`` line, if any."""
    try:
        return int(raw[: raw.find(b" ")])
    except ValueError:
        return None


def counting(session: ImportSession, progress: ProgressFn | None) -> ProgressFn:
    """A progress callback that also adds the bytes to the session's total."""

    def on_bytes(n: int) -> None:
        session.bytes_read += n
        if progress is not None:
            progress(n)

    return on_bytes
