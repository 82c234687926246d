"""The backtests table: written through the lake's writer, atomic and idempotent."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from data_lake.backtests import BacktestRecord, backtest_run_id, read_backtests, record_backtest
from data_lake.lake import Lake
from data_lake.paths import LakePaths
from data_lake.writer import STAGING_DIR, PartitionKey, clean_stale_staging, partition_file

REPO = Path(__file__).resolve().parents[2]
DAY_NS = 1_767_657_600_000_000_000  # 2026-01-06 00:00 UTC


def record(**changes: object) -> BacktestRecord:
    inputs = {"param_hash": "ab" * 32, "venue": "synthetic", "symbol": "SOL",
              "window_start_ns": DAY_NS, "window_end_ns": DAY_NS + 3_600_000_000_000,
              "settings_json": '{"gamma": 0.008}', "overrides_json": "{}",
              "code_version": "0.1.0+gtest"}
    inputs.update({k: v for k, v in changes.items() if k in inputs})
    base = BacktestRecord(
        run_id=backtest_run_id(**inputs),  # type: ignore[arg-type]
        created_at=1,
        param_version="000002-687956db",
        spread_capture=10.0, adverse_selection=-2.0, inventory_carry=1.5, funding=-0.25,
        fees=-1.0, total=8.25, fills=12, fill_ratio=0.01, max_drawdown=3.0,
        time_at_limit_s=0.0, score=0.2, score_stderr=0.05, events=1000,
        fallbacks_json="{}", png_path=None, **inputs,  # type: ignore[arg-type]
    )
    return dataclasses.replace(base, **{k: v for k, v in changes.items() if k not in inputs})


def test_run_id_is_a_function_of_the_inputs() -> None:
    assert record().run_id == record(created_at=99).run_id
    assert record().run_id != record(window_end_ns=DAY_NS + 1).run_id
    assert record().run_id != record(overrides_json='{"kappa_bid_per_bps": 0.1}').run_id


def test_recording_the_same_run_twice_keeps_one_row_and_the_same_bytes(tmp_path: Path) -> None:
    paths = LakePaths.at(tmp_path / "home")
    first = record_backtest(paths, record(created_at=1))
    before = first.path.read_bytes()
    again = record_backtest(paths, record(created_at=2))  # a rerun: same inputs, later
    assert again.path == first.path and again.path.read_bytes() == before
    rows = read_backtests(paths, symbol="SOL")
    assert rows.num_rows == 1 and rows["created_at"].to_pylist() == [1]
    other = record_backtest(paths, record(overrides_json='{"hawkes": 0}'))
    assert other.rows_after == 2
    table = Lake(paths).sql("select run_id, total, fills, date from backtests order by run_id")
    assert len(table) == 2 and set(table["total"]) == {8.25}
    assert str(table["date"].iloc[0])[:10] == "2026-01-06"


def test_an_empty_window_is_refused() -> None:
    with pytest.raises(ValueError, match="empty backtest window"):
        record(window_end_ns=DAY_NS)


_KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    import pyarrow.parquet as pq
    from data_lake.paths import LakePaths
    from tests.data_lake.test_backtests_table import record

    original = pq.ParquetWriter.write_table

    def slow_write(self, table, *args, **kwargs):
        original(self, table, *args, **kwargs)
        print("STAGING-HALF-WRITTEN", flush=True)
        time.sleep(60)

    pq.ParquetWriter.write_table = slow_write
    from data_lake.backtests import record_backtest
    record_backtest(LakePaths.at(sys.argv[1]), record(overrides_json='{"new": 1}'))
    """
)


def test_a_writer_killed_mid_write_leaves_the_table_as_it_was(tmp_path: Path) -> None:
    paths = LakePaths.at(tmp_path / "home")
    record_backtest(paths, record())
    target = partition_file(paths.lake, "backtests", PartitionKey("synthetic", "SOL",
                                                                  record().window_day))
    old = target.read_bytes()
    script = tmp_path / "writer.py"
    script.write_text(_KILLED_WRITER)
    proc = subprocess.Popen([sys.executable, str(script), str(paths.home)],
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "STAGING-HALF-WRITTEN"
        assert list((paths.lake / STAGING_DIR).glob("*-*/data.parquet"))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert target.read_bytes() == old
    assert pq.read_table(target).num_rows == 1
    assert Lake(paths).sql("select count(*) as n from backtests")["n"].iloc[0] == 1
    assert clean_stale_staging(paths.lake) == 1
    record_backtest(paths, record(overrides_json='{"new": 1}'))
    assert read_backtests(paths).num_rows == 2
