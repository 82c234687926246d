"""Turn the simulation's arrays (prices in ticks) into rows of the lake's tables."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from data_lake.schemas import BBO, BOOK, FUNDING, TRADES

__all__ = [
    "BookSnapshots",
    "bbo_table",
    "decimals_of",
    "funding_table",
    "price_of",
    "trades_table",
]


def decimals_of(increment: float) -> int:
    """Decimal places that represent multiples of ``increment`` (0.1 -> 1, 1e-5 -> 5)."""
    return max(0, math.ceil(-math.log10(increment) - 1e-9))


def price_of(ticks: np.ndarray, tick_size: float) -> np.ndarray:
    """Tick counts to prices, rounded so that equal ticks give the same shortest float."""
    return np.round(ticks * tick_size, decimals_of(tick_size))


def _levels(values: np.ndarray) -> pa.Array:
    """An (n, L) float array as a list<double> column without a Python-level loop."""
    n, width = values.shape
    offsets = pa.array(np.arange(0, (n + 1) * width, width, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(np.ascontiguousarray(values).reshape(-1)))


def trades_table(
    *,
    ts: np.ndarray,
    price: np.ndarray,
    size: np.ndarray,
    side: np.ndarray,
    date_number: int,
    recv_ts: np.ndarray,
) -> pa.Table:
    """Trades with ids ``<yyyymmdd><9-digit counter>``: fixed width, so they sort in print order."""
    counter = np.arange(ts.size, dtype=np.int64) + date_number * 1_000_000_000
    trade_id = pa.array(counter).cast(pa.string())
    return pa.table(
        {
            "ts": pa.array(ts, pa.int64()),
            "price": pa.array(price, pa.float64()),
            "size": pa.array(size, pa.float64()),
            "side": pa.array(side, pa.int8()),
            "trade_id": trade_id,
            "recv_ts": pa.array(recv_ts, pa.int64()),
        },
        schema=TRADES.schema,
    )


@dataclass(frozen=True)
class BookSnapshots:
    """A day of L2 snapshots kept as arrays; rows are built in chunks on demand.

    At a 100 ms interval a day is ~70 M level values: building it as one Arrow table (and
    letting a writer copy it) would cost gigabytes, so the lake write streams chunks.

    ts, seq, recv_ts : (n,) per snapshot.
    best_bid_ticks : (n,) best bid of each snapshot, ticks.
    offsets_ticks : (L,) distance of each level from the touch, ticks.
    bid_sz, ask_sz : (n, L) sizes, base units, already rounded to the lot.
    """

    ts: np.ndarray
    seq: np.ndarray
    recv_ts: np.ndarray
    best_bid_ticks: np.ndarray
    offsets_ticks: np.ndarray
    spread_ticks: int
    tick_size: float
    bid_sz: np.ndarray
    ask_sz: np.ndarray

    @property
    def n(self) -> int:
        return int(self.ts.size)

    def table(self, start: int = 0, stop: int | None = None) -> pa.Table:
        """Rows ``start:stop`` as a table of the lake's ``book`` schema."""
        sl = slice(start, self.n if stop is None else stop)
        bid_ticks = self.best_bid_ticks[sl, None] - self.offsets_ticks[None, :]
        ask_ticks = self.best_bid_ticks[sl, None] + self.spread_ticks + self.offsets_ticks[None, :]
        return pa.table(
            {
                "ts": pa.array(self.ts[sl], pa.int64()),
                "seq": pa.array(self.seq[sl], pa.int64()),
                "bid_px": _levels(price_of(bid_ticks, self.tick_size)),
                "bid_sz": _levels(self.bid_sz[sl]),
                "ask_px": _levels(price_of(ask_ticks, self.tick_size)),
                "ask_sz": _levels(self.ask_sz[sl]),
                "recv_ts": pa.array(self.recv_ts[sl], pa.int64()),
            },
            schema=BOOK.schema,
        )

    def chunks(self, rows: int = 50_000) -> Iterator[pa.Table]:
        for start in range(0, self.n, rows):
            yield self.table(start, start + rows)


def bbo_table(
    *,
    ts: np.ndarray,
    seq: np.ndarray,
    bid_px: np.ndarray,
    bid_sz: np.ndarray,
    ask_px: np.ndarray,
    ask_sz: np.ndarray,
    recv_ts: np.ndarray,
) -> pa.Table:
    return pa.table(
        {
            "ts": pa.array(ts, pa.int64()),
            "seq": pa.array(seq, pa.int64()),
            "bid_px": pa.array(bid_px, pa.float64()),
            "bid_sz": pa.array(bid_sz, pa.float64()),
            "ask_px": pa.array(ask_px, pa.float64()),
            "ask_sz": pa.array(ask_sz, pa.float64()),
            "recv_ts": pa.array(recv_ts, pa.int64()),
        },
        schema=BBO.schema,
    )


def funding_table(
    *,
    ts: np.ndarray,
    rate: np.ndarray,
    interval_s: int,
    mark_px: np.ndarray,
    oracle_px: np.ndarray,
    recv_ts: np.ndarray,
) -> pa.Table:
    return pa.table(
        {
            "ts": pa.array(ts, pa.int64()),
            "rate": pa.array(rate, pa.float64()),
            "interval_s": pa.array(np.full(ts.size, interval_s, dtype=np.int64)),
            "mark_px": pa.array(mark_px, pa.float64()),
            "oracle_px": pa.array(oracle_px, pa.float64()),
            "recv_ts": pa.array(recv_ts, pa.int64()),
        },
        schema=FUNDING.schema,
    )
