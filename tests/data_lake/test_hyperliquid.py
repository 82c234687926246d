from __future__ import annotations

from pathlib import Path

from data_lake.lake import Lake
from data_lake.sources.hyperliquid import import_hyperliquid
from tests.data_lake.helpers import (
    FIXTURES,
    assert_accounted,
    gzip_truncated,
    lake_digest,
    quarantine_rows,
)

SMALL = FIXTURES / "hyperliquid_small.txt"
MALFORMED = FIXTURES / "hyperliquid_malformed.txt"
H0_NS = 1737918843000 * 1_000_000


def test_snapshots_trades_and_funding_land_in_their_tables(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    report = import_hyperliquid(lake, [SMALL])
    assert_accounted(report)
    assert report.records_in == 5  # 2 books + 2 trades in one message + 1 ctx
    assert report.accepted == {"book": 2, "funding": 1, "trades": 2}
    book = lake.frame("book", symbol="BTC", venue="hyperliquid")
    assert list(book["bid_px"].iloc[0]) == [105055.0, 105054.0]
    assert list(book["ask_sz"].iloc[0]) == [6.3, 0.1]
    assert book["ts"].tolist() == [H0_NS + 1_000_000, H0_NS + 4_000_000]
    trades = lake.frame("trades", symbol="BTC")
    assert trades["side"].tolist() == [1, -1]  # B = buy aggressor, A = sell
    assert trades["trade_id"].tolist() == ["111", "112"]
    funding = lake.frame("funding", symbol="BTC")
    assert funding["rate"].tolist() == [0.0000125]
    assert funding["interval_s"].tolist() == [3600]
    assert funding["mark_px"].tolist() == [105055.0]
    assert funding["oracle_px"].tolist() == [105050.0]
    bbo = lake.frame("bbo", symbol="BTC")
    assert bbo["bid_px"].tolist() == [105055.0, 105054.0]


def test_malformed_records_are_quarantined_one_trade_at_a_time(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    report = import_hyperliquid(lake, [MALFORMED], symbol="BTC")
    assert_accounted(report)
    assert report.records_in == 11  # 8 lines, one holding 4 trades
    assert report.accepted == {"book": 1, "trades": 1}
    reasons = [(int(r["line"]), str(r["reason"])) for r in quarantine_rows(lake)]
    got = {line: [r for n, r in reasons if n == line] for line, _ in reasons}
    assert got[2][0].startswith("bad JSON")
    assert got[3] == ["missing field: time"]
    assert sorted(r.split(":")[0] for r in got[4]) == [
        "bad value",
        "missing field",
        "non-positive price or size",
    ]
    assert got[5][0].startswith("crossed book")
    assert got[6][0].startswith("unknown stream: channel 'subscriptionResponse'")
    assert got[7][0].startswith("unknown symbol: ETH")
    assert got[8] == ["missing field: ctx.funding"]
    assert lake.frame("trades")["trade_id"].tolist() == ["114"]


def test_truncated_gzip_is_reported_and_accounted(tmp_path: Path) -> None:
    cut = gzip_truncated(SMALL, tmp_path / "cut.gz", keep_fraction=0.7)
    report = import_hyperliquid(Lake.at(tmp_path / "home"), [cut])
    assert_accounted(report)
    assert report.errors and "last complete line" in report.errors[0]


def test_reimport_is_byte_identical(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    import_hyperliquid(lake, [SMALL, MALFORMED])
    first = lake_digest(lake)
    import_hyperliquid(lake, [SMALL, MALFORMED])
    assert lake_digest(lake) == first
