"""Resources: where the lake and the param registry live, and which venue feeds them."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pyarrow as pa

from data_lake.lake import Lake
from data_lake.paths import LakePaths
from data_lake.writer import day_window_ns

__all__ = ["LakeResource"]


class LakeResource(dg.ConfigurableResource):  # type: ignore[misc]
    """The lake under ``home`` (``$MMCAL_HOME``) and the venue whose data we calibrate.

    A lake on object storage is a different ``home`` handled by pyarrow's filesystems;
    assets only see this resource, so moving the lake is configuration, not code.
    """

    home: str
    venue: str = "synthetic"
    seed: int = 7

    @property
    def paths(self) -> LakePaths:
        return LakePaths.at(self.home)

    @property
    def lake(self) -> Lake:
        return Lake(self.paths)

    def day(self, table: str, symbol: str, day: dt.date, venue: str | None = None) -> pa.Table:
        """All rows of one table for one symbol-day."""
        start, end = day_window_ns(day)
        return self.lake.read(
            table, symbol=symbol, venue=venue or self.venue, start_ns=start, end_ns=end
        )
