"""Importers of raw recordings, by source name.

Each importer has the signature of :class:`Importer` and returns an
:class:`~data_lake.importing.ImportReport`. Modules load lazily, so ``lake sql`` does
not pay for the importers' imports.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:
    from data_lake.importing import ImportReport
    from data_lake.lake import Lake
    from data_lake.sources.textio import ProgressFn

__all__ = ["IMPORTERS", "Importer", "get_importer"]


class Importer(Protocol):
    def __call__(
        self,
        lake: Lake,
        paths: Sequence[str | Path],
        *,
        symbol: str | None = None,
        book_interval_ms: int = 0,
        depth: int = 20,
        progress: ProgressFn | None = None,
        memory_bytes: int = 128 << 20,
    ) -> ImportReport: ...


IMPORTERS: dict[str, str] = {
    "binance": "data_lake.sources.binance:import_binance",
    "hyperliquid": "data_lake.sources.hyperliquid:import_hyperliquid",
    "lobster": "data_lake.sources.lobster:import_lobster",
}


def get_importer(name: str) -> Importer:
    """The importer of a source, or a ValueError naming the known sources."""
    try:
        target = IMPORTERS[name.lower()]
    except KeyError:
        raise ValueError(
            f"unknown source {name!r}; known sources: {', '.join(sorted(IMPORTERS))}"
        ) from None
    module, func = target.split(":")
    return cast("Importer", getattr(importlib.import_module(module), func))
