"""The bulk byte-level parsers and the JSON fallback must write the same lake."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

import data_lake.sources.binance.importer as binance
import data_lake.sources.binance.sync as binance_sync
from data_lake.lake import Lake
from data_lake.sources.binance import import_binance
from tests.data_lake.helpers import FIXTURES, assert_accounted, lake_digest


def _without_fast_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every line through orjson and the Python row builders."""
    monkeypatch.setattr(
        binance._BinanceImport, "fast_symbol", lambda self, block: np.zeros(0, np.uint8)
    )
    monkeypatch.setattr(binance_sync, "chained_diff", lambda *args: (-1, 0, 0, 0, 0, 0, 0))
    for module in (binance, binance_sync):
        monkeypatch.setattr(
            module, "depth_header", lambda buf, start: (1, 0, 0, 0, 0, 0, 0, 0)
        )


def _inputs(tmp_path: Path, real_head: Path | None) -> list[Path]:
    paths = [FIXTURES / "binance_small.txt", FIXTURES / "binance_malformed.txt"]
    return paths + ([real_head] if real_head else [])


@pytest.fixture(scope="module")
def real_head(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """The first 8,000 lines of the real BTCUSDT recording, when present."""
    src = Path(__file__).resolve().parents[2].parent / (
        "shared/data/real/binance_usdm_20240808/btcusdt_20240808.gz"
    )
    if not src.is_file():
        return None
    with gzip.open(src, "rb") as fh:
        head = b"".join(fh.readline() for _ in range(8_000))
    path = tmp_path_factory.mktemp("head") / "btcusdt_head.txt"
    path.write_bytes(head)
    return path


@pytest.mark.parametrize("symbol", [None, "BTCUSDT"])
def test_bulk_parsing_and_json_fallback_write_identical_partitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_head: Path | None, symbol: str | None
) -> None:
    inputs = _inputs(tmp_path, real_head)
    fast = Lake.at(tmp_path / "fast")
    fast_report = import_binance(fast, inputs, symbol=symbol)
    _without_fast_paths(monkeypatch)
    slow = Lake.at(tmp_path / "slow")
    slow_report = import_binance(slow, inputs, symbol=symbol)
    assert_accounted(fast_report)
    assert fast_report.accepted == slow_report.accepted
    assert fast_report.quarantined == slow_report.quarantined
    fast_files, slow_files = lake_digest(fast), lake_digest(slow)
    assert sorted(fast_files) == sorted(slow_files)
    for name, digest in fast_files.items():
        if not name.startswith("quarantine/"):  # ts_ingested differs between the runs
            assert digest == slow_files[name], name
    q_fast = fast.frame("quarantine").drop(columns=["ts_ingested"])
    q_slow = slow.frame("quarantine").drop(columns=["ts_ingested"])
    assert q_fast.equals(q_slow)


def test_a_tiny_memory_budget_spills_to_staging_and_writes_the_same_bytes(
    tmp_path: Path, real_head: Path | None
) -> None:
    inputs = _inputs(tmp_path, real_head)
    roomy = Lake.at(tmp_path / "roomy")
    import_binance(roomy, inputs)
    tight = Lake.at(tmp_path / "tight")
    report = import_binance(tight, inputs, memory_bytes=1)  # every batch spills
    assert_accounted(report)
    assert report.notes["staging_spills"] >= 4
    got, want = lake_digest(tight), lake_digest(roomy)
    assert sorted(got) == sorted(want)
    assert all(got[k] == want[k] for k in got if not k.startswith("quarantine/"))
    assert not list((tight.root / ".staging").glob("*-*/**/*.parquet"))
