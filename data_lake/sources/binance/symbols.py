"""The symbols of one Binance import: names checked once, each symbol's book and rows.

A symbol gets a :class:`SymbolState` the first time a valid line names it: its book
sync (:mod:`.sync`) and the trade and bbo rows its lines give, built row by row by the
JSON path or parsed in bulk by the byte kernels, until they are flushed to the session.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from data_lake.importing import ImportSession
from data_lake.partitions import PartitionKey
from data_lake.sources._rows import BboRows, TradeRows
from data_lake.sources.binance.sync import BookSync, Quarantine

__all__ = ["FLUSH_BOOK_VALUES", "FLUSH_ROWS", "VENUE", "SymbolState", "Symbols"]

VENUE = "binance"
FLUSH_ROWS = 100_000
FLUSH_BOOK_VALUES = 1_000_000
_EPOCH = dt.date(1970, 1, 1)


class SymbolState:
    """One symbol: its book sync, and its trade and bbo rows not yet flushed."""

    def __init__(self, sync: BookSync) -> None:
        self.symbol = sync.symbol
        self.sync = sync
        self.trades = TradeRows()  # rows built one by one (the JSON path)
        self.bbo = BboRows()
        self.trade_parts: list[pa.Table] = []  # rows parsed in bulk
        self.bbo_parts: list[pa.Table] = []
        self.bulk_trade_rows = 0
        self.bulk_bbo_rows = 0

    def add_bulk(self, table: str, rows: pa.Table) -> None:
        """Rows the byte kernels parsed, in line order with the row-by-row ones."""
        if table == "trades":
            self.trade_parts.append(rows)
            self.bulk_trade_rows += rows.num_rows
        else:
            self.bbo_parts.append(rows)
            self.bulk_bbo_rows += rows.num_rows

    def flush(self, session: ImportSession, *, final: bool) -> None:
        """Hand full batches (every row when ``final``) to the session.

        Every trade and bbo row is one accepted record, so they are counted here.
        """
        n = len(self.trades) + self.bulk_trade_rows
        if n and (final or n >= FLUSH_ROWS):
            parts = self.trade_parts + ([self.trades.to_arrow()] if len(self.trades) else [])
            session.add_rows("trades", self.symbol, pa.concat_tables(parts))
            session.accept("trades", n)
            self.trades, self.trade_parts, self.bulk_trade_rows = TradeRows(), [], 0
        n = len(self.bbo) + self.bulk_bbo_rows
        if n and (final or n >= FLUSH_ROWS):
            parts = self.bbo_parts + ([self.bbo.to_arrow()] if len(self.bbo) else [])
            session.add_rows("bbo", self.symbol, pa.concat_tables(parts))
            session.accept("bbo", n)
            self.bbo, self.bbo_parts, self.bulk_bbo_rows = BboRows(), [], 0
        books = self.sync.rows
        book_rows = max(1_000, FLUSH_BOOK_VALUES // (4 * books.depth))
        if len(books) and (final or len(books) >= book_rows):
            session.add_rows("book", self.symbol, books.take())


class Symbols:
    """The symbols of one import, by name; a name is checked before it gets a state.

    Parameters
    ----------
    only : import only this symbol (others are quarantined as ``unknown symbol``).
    depth : levels per side in book rows.
    interval_ns : book row throttle of every symbol's :class:`BookSync`.
    quarantine : where the book syncs send rejected lines.
    """

    def __init__(self, *, only: str | None, depth: int, interval_ns: int,
                 quarantine: Quarantine) -> None:
        self.only = only
        self.depth = depth
        self.interval_ns = interval_ns
        self.quarantine = quarantine
        self._states: dict[str, SymbolState] = {}

    def check(self, name: Any) -> str | None:
        """Why lines naming ``name`` cannot be imported (a quarantine reason), or None."""
        if not isinstance(name, str):
            return f"missing field: s (symbol) is {name!r}"
        if self.only is not None and name != self.only:
            return f"unknown symbol: {name} (importing only {self.only})"
        try:
            PartitionKey(VENUE, name, _EPOCH)
        except ValueError:
            return f"unknown symbol: {name!r} cannot name a partition"
        return None

    def get(self, name: str) -> SymbolState | None:
        """The state of a symbol already seen, or None."""
        return self._states.get(name)

    def open(self, name: str) -> SymbolState:
        """The state of a symbol that passed :meth:`check`, created on first use."""
        st = self._states.get(name)
        if st is None:
            sync = BookSync(name, self.depth, interval_ns=self.interval_ns,
                            quarantine=self.quarantine)
            st = self._states[name] = SymbolState(sync)
        return st

    def __iter__(self) -> Iterator[SymbolState]:
        return iter(self._states.values())
