"""Quality records tied to the bytes they judged, and the gate every fit input passes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from data_lake.lake import Lake
from data_lake.quality import CheckOutcome
from data_lake.quality_store import (
    QualityGateError,
    fingerprints,
    load_quality,
    require_passed,
    save_quality,
)
from data_lake.writer import PartitionKey, day_window_ns

DAY = dt.date(2026, 1, 5)
KEY = PartitionKey("synthetic", "BTC", DAY)


def _bbo(n: int = 50, *, crossed_at: int | None = None, t0_s: int = 0) -> pa.Table:
    start, _ = day_window_ns(DAY)
    ts = start + (t0_s + np.arange(n)) * 1_000_000_000
    bid = np.full(n, 100.0)
    ask = np.full(n, 100.02)
    if crossed_at is not None:
        ask[crossed_at] = 99.98
    return pa.table(
        {
            "ts": pa.array(ts, pa.int64()),
            "seq": pa.array(np.arange(t0_s, t0_s + n), pa.int64()),
            "bid_px": bid,
            "bid_sz": np.ones(n),
            "ask_px": ask,
            "ask_sz": np.ones(n),
            "recv_ts": pa.nulls(n, pa.int64()),
        }
    )


def _record(lake: Lake, key: PartitionKey = KEY, *, passed: bool = True) -> None:
    """A check record of the bbo as it is now (the suites are tested in test_quality.py)."""
    files = fingerprints(lake.paths, key.venue, key.symbol, key.date)
    outcomes = [
        CheckOutcome("bbo_schema", True, True, "schema", {}, "bbo"),
        CheckOutcome("no_crossed_bbo", passed, True, "ask > bid", {"unexpected_count": 1}, "bbo"),
        CheckOutcome("bbo_time_coverage", False, False, "gaps", {}, "bbo"),  # warns only
    ]
    save_quality(lake.paths, key.venue, key.symbol, key.date, outcomes, files=files)


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    lake = Lake.at(tmp_path)
    lake.write_day("bbo", KEY, _bbo(), refresh=False)
    return lake


def test_a_checked_partition_passes_and_names_the_bytes_checked(lake: Lake) -> None:
    _record(lake)
    (checked,) = require_passed(lake.paths, "bbo", [KEY])
    assert checked.partition == "synthetic/BTC/2026-01-05"
    assert checked.file.rows == 50 and len(checked.file.sha256) == 64
    entries = checked.document_checks()
    assert {e["check"] for e in entries} == {"bbo_schema", "no_crossed_bbo", "bbo_time_coverage"}
    assert {(e["table"], e["sha256"]) for e in entries} == {("bbo", checked.file.sha256)}
    stored = load_quality(lake.paths, "synthetic", "BTC", DAY)
    assert {r["file_sha256"] for r in stored} == {checked.file.sha256}


def test_never_checked_is_refused_and_missing_files_are_skipped(lake: Lake) -> None:
    with pytest.raises(QualityGateError, match=r"bbo synthetic/BTC/2026-01-05 was never checked"):
        require_passed(lake.paths, "bbo", [KEY])
    other = PartitionKey("synthetic", "ETH", DAY)  # no file: nothing is read from it
    _record(lake)
    assert [c.key for c in require_passed(lake.paths, "bbo", [KEY, other])] == [KEY]


def test_a_failed_blocking_check_is_refused_and_named(lake: Lake) -> None:
    _record(lake, passed=False)
    with pytest.raises(QualityGateError) as info:
        require_passed(lake.paths, "bbo", [KEY])
    message = str(info.value)
    assert "bbo synthetic/BTC/2026-01-05 failed blocking checks: no_crossed_bbo" in message
    assert "unexpected_count" in message and "bbo_time_coverage" not in message


def test_merging_rows_into_a_checked_partition_voids_its_record(lake: Lake) -> None:
    _record(lake)
    lake.write_day("bbo", KEY, _bbo(5, t0_s=1000), refresh=False)  # a re-import adds rows
    with pytest.raises(QualityGateError, match="changed since it was checked") as info:
        require_passed(lake.paths, "bbo", [KEY])
    assert "50 rows when checked" in str(info.value) and "55 rows now" in str(info.value)
    _record(lake)  # the checks run again on the new bytes
    assert require_passed(lake.paths, "bbo", [KEY])[0].file.rows == 55


def test_replacing_a_checked_partition_voids_its_record(lake: Lake) -> None:
    _record(lake)
    lake.write_day("bbo", KEY, _bbo(crossed_at=7), mode="replace", refresh=False)
    with pytest.raises(QualityGateError, match="re-imported or merged"):
        require_passed(lake.paths, "bbo", [KEY])


def test_an_identical_reimport_keeps_its_record(lake: Lake) -> None:
    """The writer makes the file a function of its rows: same rows, same bytes, same checks."""
    _record(lake)
    before = require_passed(lake.paths, "bbo", [KEY])[0].file
    lake.write_day("bbo", KEY, _bbo(), refresh=False)
    assert require_passed(lake.paths, "bbo", [KEY])[0].file == before


def test_a_table_written_after_its_day_was_checked_is_not_covered(lake: Lake) -> None:
    _record(lake)
    start, _ = day_window_ns(DAY)
    funding = pa.table(
        {
            "ts": pa.array([start], pa.int64()),
            "rate": [1e-4],
            "interval_s": pa.array([3600], pa.int64()),
            "mark_px": pa.nulls(1, pa.float64()),
            "oracle_px": pa.nulls(1, pa.float64()),
            "recv_ts": pa.nulls(1, pa.int64()),
        }
    )
    lake.write_day("funding", KEY, funding, refresh=False)
    with pytest.raises(QualityGateError, match=r"funding .* not covered by its quality record"):
        require_passed(lake.paths, "funding", [KEY])


def test_a_record_of_older_code_without_file_hashes_is_not_trusted(lake: Lake) -> None:
    path = lake.paths.home / "quality" / "venue=synthetic" / "symbol=BTC" / "2026-01-05.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text('{"name": "no_crossed_books", "passed": true, "blocking": true}\n')
    with pytest.raises(QualityGateError, match="not covered"):
        require_passed(lake.paths, "bbo", [KEY])


def test_a_partition_rewritten_while_its_checks_ran_is_not_recorded(lake: Lake) -> None:
    files = fingerprints(lake.paths, "synthetic", "BTC", DAY)  # taken before reading
    lake.write_day("bbo", KEY, _bbo(5, t0_s=1000), refresh=False)
    outcome = CheckOutcome("no_crossed_bbo", True, True, "ask > bid", {}, "bbo")
    with pytest.raises(QualityGateError, match="rewritten while its checks ran"):
        save_quality(lake.paths, "synthetic", "BTC", DAY, [outcome], files=files)
    assert load_quality(lake.paths, "synthetic", "BTC", DAY) == []


def test_every_refused_partition_is_listed(lake: Lake) -> None:
    eth = PartitionKey("synthetic", "ETH", DAY)
    lake.write_day("bbo", eth, _bbo(), refresh=False)
    _record(lake, passed=False)
    with pytest.raises(QualityGateError) as info:
        require_passed(lake.paths, "bbo", [KEY, eth])
    assert len(info.value.problems) == 2
    assert "synthetic/ETH/2026-01-05 was never checked" in info.value.problems[1]
