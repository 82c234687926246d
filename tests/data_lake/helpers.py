"""Helpers shared by the data_lake tests."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path
from typing import Any

from data_lake.importing import ImportReport
from data_lake.lake import Lake

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def assert_accounted(report: ImportReport) -> None:
    """Every record in is accepted or quarantined, and the lake holds the quarantined."""
    assert report.records_in == report.n_accepted + report.n_quarantined
    assert sum(report.quarantined_by_table.values()) == report.n_quarantined


def quarantine_rows(lake: Lake) -> list[dict[str, Any]]:
    frame = lake.frame("quarantine")
    records = frame.sort_values(["line", "reason"]).to_dict("records")
    return [{str(k): v for k, v in rec.items()} for rec in records]


def lake_digest(lake: Lake) -> dict[str, str]:
    """md5 of every partition file, by path relative to the lake root."""
    return {
        str(p.relative_to(lake.root)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(lake.root.glob("*/venue=*/symbol=*/date=*/data.parquet"))
    }


def gzip_truncated(src: Path, dest: Path, keep_fraction: float = 0.6) -> Path:
    """Gzip ``src`` into ``dest`` and cut the compressed stream short."""
    data = gzip.compress(src.read_bytes())
    dest.write_bytes(data[: int(len(data) * keep_fraction)])
    return dest
