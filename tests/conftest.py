"""Shared fixtures: the real-data samples and a lake holding them imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_lake.lake import Lake

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = REPO_ROOT.parent / "shared" / "data" / "real"

# (source, path under REAL_DATA) imported into the ``real_lake`` fixture.
REAL_SAMPLES = (
    ("binance", "binance_usdm_20240808/btcusdt_20240808.gz"),
    ("binance", "binance_usdm_20240808/ethusdt_20240808.gz"),
    ("lobster", "lobster_goog_20120621/LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"),
    ("hyperliquid", "hyperliquid_btc_20250126/btcusd_20250126.gz"),
)


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """``../shared/data/real`` next to the repository (skips when absent)."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real data samples not found at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def real_lake(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """A lake in a temporary MMCAL_HOME holding every real sample, imported once.

    Symbols: BTCUSDT and ETHUSDT (venue binance; trades, book at every diff, bbo),
    GOOG (venue lobster; trades, book, bbo), BTC (venue hyperliquid; trades, book, bbo).
    Book rows hold at most 20 levels per side, best first.
    """
    from data_lake.sources import get_importer

    missing = [p for _, p in REAL_SAMPLES if not (real_data_dir / p).is_file()]
    if missing:
        pytest.skip(f"real data samples missing under {real_data_dir}: {', '.join(missing)}")
    lake = Lake.at(tmp_path_factory.mktemp("real_lake_home"))
    for source, rel in REAL_SAMPLES:
        get_importer(source)(lake, [real_data_dir / rel])
    return lake
