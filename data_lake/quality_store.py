"""Persisted quality results: one JSON-lines file per checked partition.

Written atomically beside the lake so the publish gate can refuse a param set fitted
on data that failed its checks, and queryable as the DuckDB view ``quality_results``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from data_lake.catalog import JsonView, register_json_view
from data_lake.paths import LakePaths
from data_lake.quality import CheckOutcome

__all__ = ["load_quality", "quality_file", "save_quality"]

register_json_view(
    JsonView(
        name="quality_results",
        glob=lambda paths: str(paths.home / "quality" / "venue=*" / "symbol=*" / "*.jsonl"),
        empty_columns=(
            ("venue", "VARCHAR"),
            ("symbol", "VARCHAR"),
            ("date", "VARCHAR"),
            ("name", "VARCHAR"),
            ("passed", "BOOLEAN"),
            ("blocking", "BOOLEAN"),
        ),
    )
)


def quality_file(paths: LakePaths, venue: str, symbol: str, day: dt.date) -> Path:
    return paths.home / "quality" / f"venue={venue}" / f"symbol={symbol}" / f"{day}.jsonl"


def save_quality(
    paths: LakePaths, venue: str, symbol: str, day: dt.date, outcomes: Sequence[CheckOutcome]
) -> Path:
    """Replace the partition's quality record with ``outcomes`` (temp file + rename)."""
    target = quality_file(paths, venue, symbol, day)
    target.parent.mkdir(parents=True, exist_ok=True)
    checked_at = time.time_ns()
    lines = [
        json.dumps(
            {
                "venue": venue,
                "symbol": symbol,
                "date": day.isoformat(),
                **o.to_dict(),
                "details": json.dumps(o.details, sort_keys=True),
                "checked_at_ns": checked_at,
            },
            sort_keys=True,
        )
        for o in outcomes
    ]
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, target)
    return target


def load_quality(paths: LakePaths, venue: str, symbol: str, day: dt.date) -> list[dict[str, Any]]:
    """The partition's recorded outcomes, or [] when it was never checked."""
    target = quality_file(paths, venue, symbol, day)
    if not target.exists():
        return []
    return [json.loads(line) for line in target.read_text().splitlines() if line.strip()]
