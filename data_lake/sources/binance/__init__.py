"""Binance USD-M importer: byte-level line kernels, the JSON fallback, the L2 book
rebuilt from diffs and its snapshot synchronisation. Entry point: ``import_binance``.
"""

from data_lake.sources.binance.importer import (
    VENUE,
    import_binance,
)

__all__ = [
    "VENUE",
    "import_binance",
]
