"""Structured logs: one JSON object per line on stderr.

Each line has ``ts`` (UTC ISO), ``level``, ``logger``, ``msg`` and the record's ``extra``
fields (``event``, ``symbol``, ...), so a log shipper can index them without parsing text.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = ["JsonFormatter", "configure_json_logging"]

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        row: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in row:
                row[key] = value
        if record.exc_info:
            row["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(row, default=str, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def configure_json_logging(level: int = logging.INFO) -> None:
    """Send the ``trader`` loggers to stderr as JSON lines (idempotent)."""
    logger = logging.getLogger("trader")
    for handler in list(logger.handlers):
        if getattr(handler, "_mmcal_json", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._mmcal_json = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
