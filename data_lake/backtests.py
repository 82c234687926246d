"""The ``backtests`` table: one row per backtest run, written through the lake's writer.

Rows are partitioned ``venue=/symbol=/date=`` by the first day of the backtested window
(schema :data:`data_lake.schemas.BACKTESTS`, docs/architecture.md §1). ``run_id`` is a
hash of what determines the result (param set content, venue, symbol, window, trader
settings, strategy overrides, code version): the simulator is deterministic, so
recording the same backtest again is one row, the first one kept (its ``created_at``),
and the partition stays byte-identical. The write is the writer's: the partition lock,
a staging file, fsync, ``os.replace``. ``lake sql "select * from backtests"`` reads it.

The trader builds the record (it may not import the writer); this module only stores it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

from data_lake.catalog import refresh_catalog
from data_lake.lake import Lake
from data_lake.partitions import PartitionKey, day_of_ns
from data_lake.paths import LakePaths
from data_lake.schemas import BACKTESTS
from data_lake.writer import WriteResult, write_partition

__all__ = ["BacktestRecord", "backtest_run_id", "read_backtests", "record_backtest"]


def backtest_run_id(
    *,
    param_hash: str,
    venue: str,
    symbol: str,
    window_start_ns: int,
    window_end_ns: int,
    settings_json: str,
    overrides_json: str,
    code_version: str,
) -> str:
    """First 16 hex digits of the SHA-256 of the run's inputs (same inputs, same id)."""
    payload = json.dumps(
        [param_hash, venue, symbol, window_start_ns, window_end_ns, settings_json,
         overrides_json, code_version],
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class BacktestRecord:
    """One row of ``backtests`` (see :data:`data_lake.schemas.BACKTESTS` for units)."""

    run_id: str
    created_at: int
    venue: str
    symbol: str
    param_version: str | None
    param_hash: str
    window_start_ns: int
    window_end_ns: int
    settings_json: str
    overrides_json: str
    spread_capture: float
    adverse_selection: float
    inventory_carry: float
    funding: float
    fees: float
    total: float
    fills: int
    fill_ratio: float
    max_drawdown: float
    time_at_limit_s: float
    score: float | None
    score_stderr: float | None
    events: int
    fallbacks_json: str
    code_version: str
    png_path: str | None

    def __post_init__(self) -> None:
        if self.window_end_ns <= self.window_start_ns:
            raise ValueError(
                f"empty backtest window [{self.window_start_ns}, {self.window_end_ns})"
            )

    @property
    def window_day(self) -> dt.date:
        """The partition's UTC day: the window's first."""
        return day_of_ns(self.window_start_ns)

    def row(self) -> dict[str, Any]:
        """The table's columns (``ts`` is the window start; venue/symbol are the partition)."""
        fields = asdict(self)
        del fields["venue"], fields["symbol"]
        return {"ts": self.window_start_ns, **fields}


def record_backtest(
    paths: LakePaths, record: BacktestRecord, *, refresh: bool = True
) -> WriteResult:
    """Merge ``record`` into its partition (atomic; a known ``run_id`` keeps the first row).

    Parameters
    ----------
    paths : LakePaths
        The home whose lake receives the row.
    record : BacktestRecord
    refresh : bool
        Rebuild the DuckDB views afterwards (the first row creates the ``backtests`` view's
        files).
    """
    key = PartitionKey(record.venue, record.symbol, record.window_day)
    rows = pa.Table.from_pylist([record.row()], schema=BACKTESTS.schema)
    result = write_partition(paths.lake, BACKTESTS, key, rows, mode="merge")
    if refresh:
        refresh_catalog(paths)
    return result


def read_backtests(
    paths: LakePaths, *, venue: str | None = None, symbol: str | None = None
) -> pa.Table:
    """Rows of ``backtests``, optionally of one venue and symbol, sorted by window, run id."""
    return Lake(paths).read("backtests", venue=venue, symbol=symbol)
