"""Which stretch of the lake a backtest replays: given, or chosen from the param set.

Default (``trader backtest`` without ``--start/--end``), the first of these the lake
holds for the venue and symbol: the set's held-out day (its validation's), the day
after its window (the first day it could have been used on), the newest lake day. The
last may be a day the set was fitted on; the window's ``source`` says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from data_lake.partitions import day_of_ns, day_window_ns
from data_lake.paths import LakePaths
from data_lake.registry import ParamSet

__all__ = ["BacktestWindow", "NoLakeDataError", "default_window", "lake_days", "parse_time"]

_EVENT_TABLES = ("trades", "bbo", "book")


class NoLakeDataError(LookupError):
    """The lake holds no market data for the venue and symbol."""


@dataclass(frozen=True)
class BacktestWindow:
    """``[start_ns, end_ns)`` in int64 ns UTC, and why it was chosen (for people)."""

    start_ns: int
    end_ns: int
    source: str


def lake_days(paths: LakePaths, venue: str, symbol: str) -> list[dt.date]:
    """UTC days with a trades, bbo or book partition for ``venue/symbol``, oldest first."""
    days: set[dt.date] = set()
    for table in _EVENT_TABLES:
        root: Path = paths.table_root(table) / f"venue={venue}" / f"symbol={symbol}"
        if root.is_dir():
            for entry in root.glob("date=*"):
                try:
                    days.add(dt.date.fromisoformat(entry.name.removeprefix("date=")))
                except ValueError:
                    continue
    return sorted(days)


def default_window(doc: ParamSet, paths: LakePaths, venue: str) -> BacktestWindow:
    """The window ``trader backtest`` replays when none is given (module docstring).

    Raises
    ------
    NoLakeDataError
        Nothing for ``venue/symbol`` in the lake; the message says how to get data.
    """
    available = set(lake_days(paths, venue, doc.symbol))
    if not available:
        raise NoLakeDataError(
            f"the lake under {paths.lake} has no trades, bbo or book for {venue}/{doc.symbol}; "
            "import a recording (lake import) or generate synthetic days (lake generate)"
        )
    held_out = []
    if doc.validation is not None:
        for partition in doc.validation.held_out:
            p_venue, p_symbol, p_day = partition.split("/")
            if p_venue == venue and p_symbol == doc.symbol:
                held_out.append(dt.date.fromisoformat(p_day))
    for day in sorted(held_out):
        if day in available:
            return BacktestWindow(*day_window_ns(day), f"held-out day {day}")
    after = day_of_ns(doc.window.end_ns - 1) + dt.timedelta(days=1)
    if after in available:
        return BacktestWindow(*day_window_ns(after), f"day after the fit window, {after}")
    newest = max(available)
    fitted = day_window_ns(newest)[0] < doc.window.end_ns and (
        day_window_ns(newest)[1] > doc.window.start_ns
    )
    note = " (in sample: the set was fitted on it)" if fitted else ""
    return BacktestWindow(*day_window_ns(newest), f"newest lake day, {newest}{note}")


def parse_time(text: str) -> int:
    """An int64 ns UTC time from ``2026-01-06``, ``2026-01-06T12:00[:00]`` or integer ns.

    A date or a naive time is UTC. Raises ValueError with the accepted forms.
    """
    stripped = text.strip()
    if stripped.lstrip("-").isdigit():
        return int(stripped)
    try:
        parsed = dt.datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"cannot read time {text!r}: use 2026-01-06, 2026-01-06T12:30:00 (UTC) or ns"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    delta = parsed - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
