"""Binance USD-M importer: byte-level line kernels, the JSON fallback, the L2 book
rebuilt from diffs and its snapshot synchronisation. Entry point: ``import_binance``.
"""

from data_lake.sources.binance import importer as _importer
from data_lake.sources.binance.importer import *  # noqa: F403  (the package's public names)

__all__ = list(_importer.__all__)
