from __future__ import annotations

import datetime as dt
import gzip
import shutil
import zipfile
from pathlib import Path

import pytest

from data_lake.lake import Lake
from data_lake.sources.lobster import import_lobster
from data_lake.sources.textio import InputError
from tests.data_lake.helpers import FIXTURES, assert_accounted, lake_digest, quarantine_rows

STEM = "GOOG_2012-06-21_34200000_57600000"
GOOG = [FIXTURES / f"{STEM}_message_2.csv", FIXTURES / f"{STEM}_orderbook_2.csv"]
BAD_STEM = "AAPL_2012-06-21_34200000_57600000"
AAPL = [FIXTURES / f"{BAD_STEM}_message_2.csv", FIXTURES / f"{BAD_STEM}_orderbook_2.csv"]
OPEN_UTC = dt.datetime(2012, 6, 21, 13, 30, tzinfo=dt.UTC)  # 09:30 EDT
OPEN_NS = int(OPEN_UTC.timestamp()) * 1_000_000_000


def test_new_york_time_becomes_utc_ns_and_executions_become_trades(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    report = import_lobster(lake, GOOG)
    assert_accounted(report)
    assert report.accepted == {"book": 3, "trades": 2}
    assert report.notes["visible_executions"] == 1
    assert report.notes["hidden_executions"] == 1
    trades = lake.frame("trades", symbol="GOOG", venue="lobster")
    assert trades["ts"].tolist() == [OPEN_NS + 500_000_000, OPEN_NS + 1_250_000_000]
    assert trades["price"].tolist() == [580.0, 579.9]
    assert trades["side"].tolist() == [1, -1]  # -direction: sell order hit = buyer took
    assert trades["trade_id"].tolist() == ["11-2", "0-3"]
    book = lake.frame("book", symbol="GOOG")
    assert book["ts"].iloc[0] == OPEN_NS + 1
    assert book["ts"].iloc[-1] == OPEN_NS + 3_123_456_789
    assert list(book["bid_px"].iloc[0]) == [579.0, 578.0]
    assert list(book["ask_sz"].iloc[1]) == [60.0, 10.0]
    # Dummy levels are dropped, never padded.
    assert list(book["ask_px"].iloc[3]) == []
    assert list(book["ask_px"].iloc[4]) == [580.1]
    bbo = lake.frame("bbo", symbol="GOOG")
    assert len(bbo) == 4  # the row with an empty ask side has no bbo


def test_malformed_rows_are_quarantined_with_their_file_and_line(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    report = import_lobster(lake, AAPL)
    assert_accounted(report)
    assert report.records_in == 7
    rows = {int(r["line"]): r for r in quarantine_rows(lake)}
    assert str(rows[3]["reason"]).startswith("non-positive price or size")
    assert str(rows[4]["reason"]) == "bad CSV: expected 6 fields, found 4"
    assert str(rows[5]["reason"]).startswith("crossed book: best bid 579.5")
    assert str(rows[5]["source"]).endswith("orderbook_2.csv")
    assert str(rows[6]["reason"]).startswith("bad value")
    assert str(rows[7]["reason"]).startswith("missing field: no orderbook row")
    assert sorted(rows) == [3, 4, 5, 6, 7]


def test_zipped_pair_imports_like_plain_files_and_reimport_is_identical(
    tmp_path: Path,
) -> None:
    archive = tmp_path / "LOBSTER_SampleFile_GOOG_2012-06-21_2.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in GOOG:
            zf.write(path, path.name)
        zf.writestr("ReadMe.txt", "not data")
    plain, zipped = Lake.at(tmp_path / "plain"), Lake.at(tmp_path / "zip")
    import_lobster(plain, GOOG)
    report = import_lobster(zipped, [archive])
    assert report.notes["skipped_files"] == [f"{archive}:ReadMe.txt"]
    assert list(lake_digest(plain).values()) == list(lake_digest(zipped).values())
    before = lake_digest(zipped)
    import_lobster(zipped, [archive])
    assert lake_digest(zipped) == before


def test_truncated_gzip_message_file_is_reported_and_accounted(tmp_path: Path) -> None:
    msg = tmp_path / f"{STEM}_message_2.csv.gz"
    data = gzip.compress(GOOG[0].read_bytes())
    msg.write_bytes(data[: len(data) - 12])
    book = tmp_path / GOOG[1].name
    shutil.copy(GOOG[1], book)
    report = import_lobster(Lake.at(tmp_path / "home"), [msg, book])
    assert_accounted(report)
    assert report.errors and str(msg) in report.errors[0]


def test_a_message_file_without_its_orderbook_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no matching orderbook file"):
        import_lobster(Lake.at(tmp_path), [GOOG[0]])
    with pytest.raises(InputError, match="holds GOOG, not AAPL"):
        import_lobster(Lake.at(tmp_path), GOOG, symbol="AAPL")
