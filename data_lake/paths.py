"""Where the lake lives: everything hangs off ``$MMCAL_HOME`` (default ``./data``).

Paths are resolved to absolute ones once, so DuckDB views written into the catalog
work from any working directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LakePaths", "mmcal_home"]


def mmcal_home() -> Path:
    """The platform's home directory, absolute: ``$MMCAL_HOME`` or ``./data``."""
    return Path(os.environ.get("MMCAL_HOME", "data")).expanduser().resolve()


@dataclass(frozen=True)
class LakePaths:
    """Every well-known location under one home directory."""

    home: Path

    @classmethod
    def default(cls) -> LakePaths:
        return cls(mmcal_home())

    @classmethod
    def at(cls, home: str | os.PathLike[str]) -> LakePaths:
        return cls(Path(home).expanduser().resolve())

    @property
    def lake(self) -> Path:
        return self.home / "lake"

    @property
    def catalog(self) -> Path:
        return self.home / "lake.duckdb"

    @property
    def params(self) -> Path:
        return self.home / "params"

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def ground_truth(self) -> Path:
        return self.lake / "ground_truth"

    def table_root(self, table: str) -> Path:
        return self.lake / table
