"""Live recorders: raw venue messages to ``<recv_ts_ns> <json>`` line files.

- :mod:`~data_lake.recording.files`: hourly rotating line files, fsynced and renamed
  into place when closed, crash leftovers recovered on start.
- :mod:`~data_lake.recording.hyperliquid`: the Hyperliquid WebSocket recorder behind
  ``lake record hyperliquid`` (its output imports with ``lake import hyperliquid``).
"""

from __future__ import annotations

from data_lake.recording.files import RotatingLineWriter, recover_partials
from data_lake.recording.hyperliquid import HyperliquidRecorder, record_hyperliquid

__all__ = ["HyperliquidRecorder", "RotatingLineWriter", "record_hyperliquid",
           "recover_partials"]
