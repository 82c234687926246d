"""Synthetic market with planted ground truth: the embedded default data of the platform.

``generate_symbol_day`` simulates one symbol-day (trades, L2 book, bbo, funding and the
ground-truth document); ``generate_to_lake`` runs consecutive days for several symbols,
writes them under venue ``synthetic`` and refreshes the catalog (which then has the
``ground_truth`` view, registered by ``synthetic_truth`` at import).

Every random draw comes from a Generator seeded by (seed, symbol, day, stream), so a
symbol-day is reproducible and independent of the others; correlated price shocks are
built from the per-symbol streams (see ``MarketConfig``). Days of one run are chained:
each starts from the previous day's price, variance and funding rate; the first day of a
run starts from the configured initial state.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from data_lake.lake import Lake
from data_lake.partitions import PartitionKey
from data_lake.schemas import BBO, BOOK, FUNDING
from data_lake.sources.synthetic.config import MarketConfig
from data_lake.sources.synthetic.day import SymbolDay, SymbolState, generate_symbol_day
from data_lake.sources.synthetic.defaults import DEFAULT_MARKET, DEFAULT_SYMBOLS
from data_lake.sources.synthetic.tables import BookSnapshots
from data_lake.sources.synthetic.truth import GROUND_TRUTH_VIEW, read_truth, write_truth
from data_lake.writer import ROW_GROUP_SIZE, write_partition_stream

__all__ = [
    "DEFAULT_MARKET",
    "DEFAULT_START",
    "DEFAULT_SYMBOLS",
    "GROUND_TRUTH_VIEW",
    "TABLE_NAMES",
    "GenerateSummary",
    "SymbolDay",
    "SymbolState",
    "generate_symbol_day",
    "generate_to_lake",
    "read_truth",
    "write_book",
]

DEFAULT_START = dt.date(2026, 1, 5)  # a Monday
TABLE_NAMES: tuple[str, ...] = ("trades", "book", "bbo", "funding")


@dataclass(frozen=True)
class GenerateSummary:
    """What ``generate_to_lake`` wrote."""

    lake_root: Path
    symbols: list[str]
    dates: list[dt.date]
    seed: int
    rows: dict[str, int]
    per_partition: dict[str, dict[str, int]]  # "SYMBOL/DATE" -> table -> rows
    truth_paths: list[Path]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "lake_root": str(self.lake_root),
            "symbols": list(self.symbols),
            "dates": [d.isoformat() for d in self.dates],
            "seed": self.seed,
            "rows": dict(self.rows),
            "per_partition": {k: dict(v) for k, v in self.per_partition.items()},
            "truth_paths": [str(p) for p in self.truth_paths],
            "seconds": self.seconds,
        }

    def to_text(self) -> str:
        lines = [
            f"synthetic market: {', '.join(self.symbols)} x {len(self.dates)} day(s) from "
            f"{self.dates[0].isoformat() if self.dates else '-'} (seed {self.seed}) "
            f"in {self.seconds:.1f} s",
            f"{'partition':<18}" + "".join(f"{t:>10}" for t in TABLE_NAMES),
        ]
        for part, counts in self.per_partition.items():
            lines.append(f"{part:<18}" + "".join(f"{counts.get(t, 0):>10}" for t in TABLE_NAMES))
        lines.append(f"{'total':<18}" + "".join(f"{self.rows.get(t, 0):>10}" for t in TABLE_NAMES))
        lines.append(f"lake: {self.lake_root}")
        lines.append(f"ground truth: {len(self.truth_paths)} document(s), SQL view ground_truth")
        lines.append(
            'next: lake sql "SELECT symbol, date, hawkes.branching_ratio FROM ground_truth"'
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def write_book(lake: Lake, key: PartitionKey, book: BookSnapshots) -> Path:
    """Replace one ``book`` partition with the snapshots, streaming them in chunks.

    The snapshots are already sorted by (ts, seq) with unique keys, so they need no
    merge: chunks of ``ROW_GROUP_SIZE`` rows go through the writer's streaming write
    (partition lock, staging, atomic rename; the bytes ``write_partition`` would give),
    which never holds the whole day as one Arrow table (a 100 ms day is ~70 M level
    values). Returns the partition file.
    """
    if book.n > 1 and not bool(np.all(np.diff(book.ts) > 0)):
        raise ValueError("book snapshots must have strictly increasing ts")
    chunks = book.chunks(ROW_GROUP_SIZE)
    return write_partition_stream(lake.root, BOOK, key, chunks, sorted_unique=True).path


def generate_to_lake(
    lake: Lake,
    *,
    symbols: list[str] | None,
    days: int,
    seed: int,
    start: dt.date | None,
    market: MarketConfig = DEFAULT_MARKET,
) -> GenerateSummary:
    """Generate ``days`` consecutive days for ``symbols`` and write them into the lake.

    Each partition is replaced (the generator owns venue ``synthetic``); the truth
    documents land under ``<lake>/ground_truth``; the catalog is refreshed once at the end.

    Parameters
    ----------
    lake : destination.
    symbols : symbols of ``market`` (None = all).
    days : number of consecutive UTC days, >= 1.
    seed : non-negative run seed.
    start : first day (None = 2026-01-05).
    """
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    names = list(symbols) if symbols else market.names
    for name in names:
        market.symbol(name)  # fail early on an unknown symbol
    start = start or DEFAULT_START
    dates = [start + dt.timedelta(days=i) for i in range(days)]
    t0 = time.perf_counter()
    totals = dict.fromkeys(TABLE_NAMES, 0)
    per_partition: dict[str, dict[str, int]] = {}
    truth_paths: list[Path] = []
    for name in names:
        state: SymbolState | None = None
        for date in dates:
            result = generate_symbol_day(name, date, seed=seed, market=market, state=state)
            state = result.end_state
            key = PartitionKey(market.venue, name, date)
            lake.write_day("trades", key, result.tables["trades"], mode="replace", refresh=False)
            # bbo and funding come sorted with unique (ts[, seq]) keys, the whole sort order:
            # they stream straight to the file (same bytes, no in-memory sort and dedupe).
            for sorted_spec in (BBO, FUNDING):
                rows = result.tables[sorted_spec.name]
                chunks = rows.to_batches(ROW_GROUP_SIZE) or [rows]
                write_partition_stream(lake.root, sorted_spec, key, chunks, sorted_unique=True)
            write_book(lake, key, result.book)
            for table, n in result.rows.items():
                totals[table] += n
            per_partition[f"{name}/{date.isoformat()}"] = result.rows
            truth_paths.append(write_truth(lake.paths, result.truth))
            del result
    lake.refresh()
    return GenerateSummary(
        lake_root=lake.root,
        symbols=names,
        dates=dates,
        seed=seed,
        rows=totals,
        per_partition=per_partition,
        truth_paths=truth_paths,
        seconds=time.perf_counter() - t0,
    )
