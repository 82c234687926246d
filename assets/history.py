"""The trailing window a multi-day fit reads: checked partitions and their derived tables.

Heston, the funding OU and the hour-of-week volume profile are not identified on one day
(docs/architecture.md §5). They read the ``HISTORY_DAYS`` days ending on the fit day from
the small derived tables (``rv_5m``, ``volume_1h``) and the funding prints, never the
ticks. Every partition read must have passed its blocking quality checks; an unchecked or
failed one stops the calibration with an error naming it. The window is the contiguous
run of ingested days ending on the fit day: a day never ingested ends it (the history
starts after the gap), so a lake that begins later than the window still calibrates,
with the shorter history the fits report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from data_lake.lake import Lake
from data_lake.partitions import PartitionKey, day_window_ns, partition_file
from data_lake.quality_store import load_quality
from data_lake.schemas import RV_5M, VOLUME_1H

__all__ = [
    "HISTORY_DAYS",
    "History",
    "HistoryError",
    "history_days",
    "load_history",
]

# 8 days: every hour-of-week bin seen at least once (168 h), Heston's 5-minute RV has
# 2304 intervals (> 10 half-lives of the default market's variance), and the funding OU
# 192 hourly prints (> 10 half-lives). See docs/architecture.md §5.
HISTORY_DAYS = 8


class HistoryError(RuntimeError):
    """A partition of the trailing window cannot be used (unchecked, failed, underived)."""


@dataclass(frozen=True)
class History:
    """The trailing window of one symbol-day, oldest day first. Times are int64 ns UTC.

    Attributes
    ----------
    venue, symbol : the partitions' venue and symbol.
    days : the days read, contiguous, ending on the fit day.
    quality : per day, its recorded quality outcomes (every blocking one passed).
    rv_5m : the ``rv_5m`` bars of those days (``data_lake.schemas.RV_5M``).
    volume_1h : the ``volume_1h`` hours of those days (``data_lake.schemas.VOLUME_1H``).
    funding : the funding prints of those days (ts, rate, interval_s, ...).
    """

    venue: str
    symbol: str
    days: tuple[dt.date, ...]
    quality: dict[dt.date, list[dict[str, object]]] = field(repr=False)
    rv_5m: pd.DataFrame = field(repr=False)
    volume_1h: pd.DataFrame = field(repr=False)
    funding: pd.DataFrame = field(repr=False)

    @property
    def window_ns(self) -> tuple[int, int]:
        """``[start of the first day, end of the fit day)``."""
        return day_window_ns(self.days[0])[0], day_window_ns(self.days[-1])[1]

    @property
    def partitions(self) -> list[str]:
        """``venue/symbol/date`` of every partition read, oldest first."""
        return [f"{self.venue}/{self.symbol}/{d.isoformat()}" for d in self.days]


def _ingested(lake: Lake, venue: str, symbol: str, day: dt.date) -> bool:
    return partition_file(lake.root, "trades", PartitionKey(venue, symbol, day)).exists()


def history_days(
    lake: Lake,
    venue: str,
    symbol: str,
    day: dt.date,
    n_days: int = HISTORY_DAYS,
) -> dict[dt.date, list[dict[str, object]]]:
    """The contiguous ingested days ending on ``day`` (at most ``n_days``), each checked.

    Returns each day's quality records, oldest day first. Raises :class:`HistoryError`
    when a day in the window was never checked or failed a blocking check, or when the
    fit day itself is not in the lake.
    """
    if n_days < 1:
        raise ValueError(f"n_days must be >= 1, got {n_days}")
    out: dict[dt.date, list[dict[str, object]]] = {}
    for k in range(n_days):
        d = day - dt.timedelta(days=k)
        if not _ingested(lake, venue, symbol, d):
            if k == 0:
                raise HistoryError(
                    f"{venue}/{symbol}/{d} is not in the lake {lake.root}: ingest it first "
                    f"(job `ingest`, partition {d}|{symbol})"
                )
            break
        records: list[dict[str, object]] = load_quality(lake.paths, venue, symbol, d)
        if not records:
            raise HistoryError(
                f"{venue}/{symbol}/{d} is in the fit window of {day} but was never checked: "
                f"run the ingest job on partition {d}|{symbol} before calibrating {day}"
            )
        failed = [str(r["name"]) for r in records if r["blocking"] and not r["passed"]]
        if failed:
            raise HistoryError(
                f"{venue}/{symbol}/{d} is in the fit window of {day} and failed blocking "
                f"checks {failed}: fix or re-import that day and re-run its ingest job"
            )
        out[d] = records
    return dict(sorted(out.items()))


def _read(lake: Lake, table: str, venue: str, symbol: str, window: tuple[int, int]) -> pd.DataFrame:
    frame = lake.frame(table, symbol=symbol, venue=venue, start_ns=window[0], end_ns=window[1])
    return frame.drop(columns=["venue", "symbol", "date"], errors="ignore")


def load_history(
    lake: Lake, venue: str, symbol: str, day: dt.date, n_days: int = HISTORY_DAYS
) -> History:
    """Read the trailing window of ``day``: derived tables and funding of checked days.

    Raises :class:`HistoryError` for an unchecked or failed partition (see
    :func:`history_days`) or a checked day whose derived tables were never written.
    """
    quality = history_days(lake, venue, symbol, day, n_days)
    days = tuple(quality)
    window = day_window_ns(days[0])[0], day_window_ns(days[-1])[1]
    rv = _read(lake, RV_5M.name, venue, symbol, window)
    volume = _read(lake, VOLUME_1H.name, venue, symbol, window)
    missing = [
        d
        for d in days
        if not partition_file(lake.root, RV_5M.name, PartitionKey(venue, symbol, d)).exists()
        or not partition_file(lake.root, VOLUME_1H.name, PartitionKey(venue, symbol, d)).exists()
    ]
    if missing:
        raise HistoryError(
            f"{venue}/{symbol}: no derived tables (rv_5m, volume_1h) for "
            f"{', '.join(str(d) for d in missing)}; materialise asset `derived_day` for those "
            "partitions (it runs in the ingest job)"
        )
    funding = _read(lake, "funding", venue, symbol, window)
    return History(
        venue=venue,
        symbol=symbol,
        days=days,
        quality=quality,
        rv_5m=rv,
        volume_1h=volume,
        funding=funding,
    )
