from __future__ import annotations

from pathlib import Path

import pytest

from data_lake.lake import Lake
from data_lake.sources.binance import import_binance
from tests.data_lake.helpers import (
    FIXTURES,
    assert_accounted,
    gzip_truncated,
    lake_digest,
    quarantine_rows,
)

SMALL = FIXTURES / "binance_small.txt"
MALFORMED = FIXTURES / "binance_malformed.txt"
T0_NS = 1723161256000 * 1_000_000
R0_NS = 1723161255000000000


def test_rebuilds_the_book_from_the_snapshot_and_the_diff_that_bridges_it(
    tmp_path: Path,
) -> None:
    lake = Lake.at(tmp_path)
    report = import_binance(lake, [SMALL])
    assert_accounted(report)
    assert report.accepted == {"bbo": 2, "book": 3, "trades": 2}
    assert report.quarantined == {"before snapshot": 1}
    book = lake.frame("book", symbol="BTCUSDT")
    assert book["seq"].tolist() == [102, 100, 105]  # sorted by ts: diff 2 is older
    by_seq = {int(r["seq"]): r for r in book.to_dict("records")}
    # Snapshot (lastUpdateId 100), then diff U=96..u=102 received before it.
    assert list(by_seq[100]["bid_px"]) == [100.0, 99.9, 99.8]
    assert list(by_seq[102]["bid_sz"]) == [1.0, 2.5, 3.0]
    assert list(by_seq[102]["ask_px"]) == [100.1, 100.2, 100.3]
    # Diff 103..105 removes the 100.00 bid and adds an ask at 100.15.
    assert list(by_seq[105]["bid_px"]) == [99.9, 99.8]
    assert list(by_seq[105]["ask_px"]) == [100.1, 100.15, 100.2, 100.3]
    assert by_seq[105]["ts"] == T0_NS + 6 * 1_000_000
    assert by_seq[105]["recv_ts"] == R0_NS + 6 * 1_000_000


def test_trades_take_side_from_the_maker_flag_and_exchange_time(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    import_binance(lake, [SMALL])
    trades = lake.frame("trades", symbol="BTCUSDT")
    assert trades["trade_id"].tolist() == ["1", "2"]
    assert trades["side"].tolist() == [1, -1]  # m=false: buyer took; m=true: seller took
    assert trades["ts"].tolist() == [T0_NS + 4_000_000, T0_NS + 7_000_000]
    assert trades["recv_ts"].tolist() == [R0_NS + 4_000_000, R0_NS + 7_000_000]
    bbo = lake.frame("bbo", symbol="BTCUSDT")
    assert bbo["seq"].tolist() == [103, 106]
    assert bbo["bid_sz"].tolist() == [1.0, 2.5]


def test_depth_setting_caps_levels_and_interval_throttles_book_rows(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path / "a")
    report = import_binance(lake, [SMALL], depth=2, book_interval_ms=10)
    assert_accounted(report)
    book = lake.frame("book")
    assert book["ask_px"].map(len).max() == 2
    # The snapshot row is always written; the diffs fall within 10 ms of it.
    assert report.accepted["book"] == 3 and report.rows_written["book"] == 1


def test_malformed_lines_are_quarantined_with_file_line_and_reason(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    report = import_binance(lake, [MALFORMED], symbol="BTCUSDT")
    assert_accounted(report)
    assert report.records_in == 18
    assert report.accepted == {"book": 4, "trades": 1}
    rows = quarantine_rows(lake)
    by_line = {int(r["line"]): str(r["reason"]) for r in rows}
    assert by_line[3].startswith("bad JSON")
    assert by_line[4] == "missing field: p"
    assert by_line[5].startswith("non-positive price or size")
    assert by_line[6].startswith("crossed book")
    assert by_line[7] == "broken sequence: pu=150 != previous u=101"
    assert by_line[8].startswith("broken sequence: pu=150 != previous u=101 (span from line 7")
    assert by_line[11].startswith("crossed book: best bid 100.5")
    assert by_line[12].startswith("unknown stream")
    assert by_line[13].startswith("unknown symbol: ETHUSDT")
    assert by_line[14].startswith("non-positive price or size")
    assert by_line[15].startswith("non-positive price or size")  # the broken span
    assert by_line[16] == "bad JSON: empty line"
    assert by_line[17].startswith("missing field: m")
    assert {str(r["source"]) for r in rows} == {str(MALFORMED)}
    assert all(r["raw"] for r in rows if r["line"] != 16)
    assert len(rows) == report.n_quarantined == 13


def test_no_book_row_is_written_across_a_sequence_gap(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    import_binance(lake, [MALFORMED], symbol="BTCUSDT")
    book = lake.frame("book")
    # Snapshot 100, diff u=101, then the gap (lines 7-8); resync at snapshot 200 and
    # its bridging diff u=201; the crossed diff and the broken span write nothing.
    assert book["seq"].tolist() == [100, 101, 200, 201]
    assert (book["bid_px"].map(lambda x: x[0]) < book["ask_px"].map(lambda x: x[0])).all()


def test_without_symbol_filter_a_leading_snapshot_waits_for_the_first_diff(
    tmp_path: Path,
) -> None:
    lake = Lake.at(tmp_path)
    report = import_binance(lake, [MALFORMED])
    assert_accounted(report)
    assert report.accepted == {"book": 4, "trades": 2}
    assert lake.frame("trades", symbol="ETHUSDT")["side"].tolist() == [-1]


def test_truncated_gzip_keeps_the_complete_lines_and_quarantines_the_cut_one(
    tmp_path: Path,
) -> None:
    cut = gzip_truncated(SMALL, tmp_path / "cut.gz", keep_fraction=0.8)
    lake = Lake.at(tmp_path / "home")
    report = import_binance(lake, [cut])
    assert_accounted(report)
    assert len(report.errors) == 1 and str(cut) in report.errors[0]
    assert "last complete line is line" in report.errors[0]
    assert 0 < report.records_in < 8
    assert report.quarantined.get("truncated line", 0) <= 1


def test_importing_twice_leaves_byte_identical_partitions(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    import_binance(lake, [SMALL, MALFORMED], symbol="BTCUSDT")
    first = lake_digest(lake)
    report = import_binance(lake, [SMALL, MALFORMED], symbol="BTCUSDT")
    assert lake_digest(lake) == first
    assert_accounted(report)


def test_book_interval_must_not_be_negative(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="book_interval_ms"):
        import_binance(Lake.at(tmp_path), [SMALL], book_interval_ms=-1)
