"""Derived per-partition tables: small summaries of one checked symbol-day. No Dagster.

Multi-day fits read these instead of the ticks (docs/architecture.md §1, §5):

- ``mid_1s``: the mid prevailing at each second of the day (previous tick), 86 400 rows;
- ``rv_5m``: 5-minute realised-variance bars of the 1-second log mids (288 rows), with
  what the noise correction and the Heston fit need (``calibration.volatility.rv_series``);
- ``volume_1h``: traded volume, trade count and hours observed per UTC hour (24 rows),
  the sufficient statistics of the hour-of-week volume profile.

Each table is a pure function of the day's trades and quotes, so re-deriving a day gives
the same rows (the writer then gives the same bytes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from calibration.volatility.rv_series import rv_bars
from data_lake.schemas import MID_1S, RV_5M, VOLUME_1H, spec
from data_lake.writer import PartitionKey, day_window_ns, write_partition

__all__ = [
    "MID_STEP_S",
    "RV_INTERVAL_S",
    "derive_day",
    "mid_1s_table",
    "mid_grid",
    "rv_5m_table",
    "volume_1h_table",
    "write_derived",
]

MID_STEP_S = 1  # sampling step of the mids, seconds
RV_INTERVAL_S = 300  # realised-variance bar, seconds
_NS = 1_000_000_000
_HOUR_NS = 3600 * _NS


def mid_grid(day: dt.date, quote_ts: np.ndarray, mid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Previous-tick mids on the day's 1-second grid, the day's close included.

    Returns (ts, mid) with ``86 401`` points: each second of the day and the end of the
    day (the last quote of the day). Seconds before the first quote take the first quote
    (the day opens on it). Empty arrays when the day has no quotes.
    """
    start, end = day_window_ns(day)
    ts = np.asarray(quote_ts, dtype=np.int64)
    px = np.asarray(mid, dtype=np.float64)
    if ts.size == 0:
        return np.empty(0, np.int64), np.empty(0)
    grid = np.arange(start, end + 1, MID_STEP_S * _NS, dtype=np.int64)
    # The close: the last quote strictly before the next day starts.
    idx = np.searchsorted(ts, grid, side="right") - 1
    idx[-1] = np.searchsorted(ts, end, side="left") - 1
    return grid, px[np.clip(idx, 0, None)]


def mid_1s_table(grid_ts: np.ndarray, grid_mid: np.ndarray) -> pa.Table:
    """The ``mid_1s`` rows: every second of the day (the close point belongs to the next)."""
    return pa.table({"ts": grid_ts[:-1], "mid": grid_mid[:-1]}, schema=MID_1S.schema)


def rv_5m_table(grid_ts: np.ndarray, grid_mid: np.ndarray) -> pa.Table:
    """The ``rv_5m`` rows: one bar per 5 minutes of the 1-second log mids."""
    if grid_ts.size < 2:
        return RV_5M.empty()
    m = RV_INTERVAL_S // MID_STEP_S
    bars = rv_bars(np.log(grid_mid), m)
    n = bars.rv.size
    return pa.table(
        {
            "ts": grid_ts[: n * m : m],
            "rv": bars.rv,
            "ret": bars.returns,
            "n_returns": bars.n_returns,
            "quarticity": bars.quarticity,
            "ac1": bars.ac1,
            "bipower": bars.bipower,
        },
        schema=RV_5M.schema,
    )


def volume_1h_table(day: dt.date, trade_ts: np.ndarray, size: np.ndarray) -> pa.Table:
    """The ``volume_1h`` rows: 24 UTC hours, quiet hours included with zero volume."""
    start, _ = day_window_ns(day)
    hour = (np.asarray(trade_ts, dtype=np.int64) - start) // _HOUR_NS
    if hour.size and (hour.min() < 0 or hour.max() > 23):
        raise ValueError(f"trades outside {day} passed to volume_1h_table")
    volume = np.bincount(hour, weights=np.asarray(size, np.float64), minlength=24)
    counts = np.bincount(hour, minlength=24).astype(np.int64)
    return pa.table(
        {
            "ts": start + _HOUR_NS * np.arange(24, dtype=np.int64),
            "volume": volume,
            "n_trades": counts,
            "exposure_h": np.ones(24),
        },
        schema=VOLUME_1H.schema,
    )


def write_derived(
    lake_root: Path, key: PartitionKey, tables: Mapping[str, pa.Table]
) -> dict[str, int]:
    """Replace the derived partitions of ``key`` (one atomic write each); rows written.

    Through :func:`data_lake.writer.write_partition`: staged, fsynced and renamed under
    the partition lock, so a crash leaves each table's previous partition intact, and
    writing the same rows again gives the same bytes.
    """
    return {
        name: write_partition(lake_root, spec(name), key, table, mode="replace").rows_after
        for name, table in tables.items()
    }


def derive_day(day: dt.date, trades: pd.DataFrame, quotes: pd.DataFrame) -> dict[str, pa.Table]:
    """Every derived table of one symbol-day from its trades and top-of-book quotes.

    ``quotes`` needs ``ts`` and ``mid`` (:func:`assets.features.quotes_from_lake`),
    ``trades`` ``ts`` and ``size``; both sorted by ts and inside the day.
    """
    grid_ts, grid_mid = mid_grid(day, quotes["ts"].to_numpy(np.int64), quotes["mid"].to_numpy())
    return {
        MID_1S.name: mid_1s_table(grid_ts, grid_mid) if grid_ts.size else MID_1S.empty(),
        RV_5M.name: rv_5m_table(grid_ts, grid_mid),
        VOLUME_1H.name: volume_1h_table(
            day, trades["ts"].to_numpy(np.int64), trades["size"].to_numpy(float)
        ),
    }
