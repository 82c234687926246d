from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_lake.importing import LakeSink
from data_lake.lake import Lake
from data_lake.schemas import BOOK, QUARANTINE, TRADES
from data_lake.writer import (
    STAGING_DIR,
    PartitionKey,
    clean_stale_staging,
    merge_partition_parts,
    partition_file,
    write_part,
    write_partition,
)

DAY = dt.date(2024, 8, 8)
DAY_NS = int(dt.datetime(2024, 8, 8, tzinfo=dt.UTC).timestamp()) * 1_000_000_000
KEY = PartitionKey("binance", "BTCUSDT", DAY)
REPO = Path(__file__).resolve().parents[2]


def trades(n: int, start_id: int = 0, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    ts = DAY_NS + np.sort(rng.integers(0, 86_400_000_000_000, n))
    return pa.table(
        {
            "ts": ts,
            "price": 100 + rng.standard_normal(n),
            "size": rng.exponential(1.0, n),
            "side": rng.choice(np.array([-1, 1], np.int8), n),
            "trade_id": [str(start_id + i) for i in range(n)],
            "recv_ts": ts + 5,
        }
    )


def test_merge_deduplicates_on_key_and_later_rows_win(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    first = trades(100)
    write_partition(root, TRADES, KEY, first)
    changed = first.slice(0, 10).set_column(1, "price", pa.array([1.0] * 10))
    result = write_partition(root, TRADES, KEY, pa.concat_tables([changed, trades(5, 1000)]))
    assert (result.rows_before, result.rows_after) == (100, 105)
    stored = pq.read_table(result.path).to_pandas().set_index("trade_id")
    assert (stored.loc[[str(i) for i in range(10)], "price"] == 1.0).all()
    assert stored["ts"].is_monotonic_increasing


def test_rewriting_the_same_rows_gives_byte_identical_files(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    path = write_partition(root, TRADES, KEY, trades(500)).path
    before = path.read_bytes()
    write_partition(root, TRADES, KEY, trades(500))
    assert path.read_bytes() == before
    meta = pq.ParquetFile(path).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"


@pytest.mark.parametrize("spec_rows", ["trades", "book"])
def test_out_of_core_merge_writes_the_same_bytes_as_the_in_memory_merge(
    tmp_path: Path, spec_rows: str
) -> None:
    if spec_rows == "trades":
        spec, rows = TRADES, trades(3000)
    else:
        rng = np.random.default_rng(1)
        n = 400
        levels = [list(rng.random(int(rng.integers(0, 20)))) for _ in range(n)]
        spec = BOOK
        rows = pa.table(
            {
                "ts": DAY_NS + np.arange(n) * 1000,
                "seq": np.arange(n),
                "bid_px": levels,
                "bid_sz": levels,
                "ask_px": levels,
                "ask_sz": levels,
                "recv_ts": pa.nulls(n, pa.int64()),
            }
        )
    in_memory = write_partition(tmp_path / "a", spec, KEY, rows).path.read_bytes()
    # Three overlapping parts, the last one repeating rows: same final row set.
    parts = []
    for i, (lo, hi) in enumerate([(0, 1500), (1000, 2500), (2000, rows.num_rows)]):
        part = tmp_path / "parts" / f"part-{i:06d}.parquet"
        write_part(spec, rows.slice(lo, hi - lo), part)
        parts.append(part)
    merged = merge_partition_parts(tmp_path / "b", spec, KEY, parts, rows_offered=0)
    assert merged.rows_after == rows.num_rows
    assert merged.path.read_bytes() == in_memory
    again = merge_partition_parts(tmp_path / "b", spec, KEY, parts, rows_offered=0)
    assert again.path.read_bytes() == in_memory


def test_out_of_core_merge_keeps_the_latest_part_on_equal_keys(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    write_partition(root, TRADES, KEY, trades(10))
    newer = trades(10).set_column(1, "price", pa.array([7.0] * 10))
    part = tmp_path / "p" / "part-000000.parquet"
    write_part(TRADES, newer, part)
    result = merge_partition_parts(root, TRADES, KEY, [part], rows_offered=10)
    assert result.rows_after == 10
    assert set(pq.read_table(result.path)["price"].to_pylist()) == {7.0}


def test_quarantine_keeps_its_first_ingestion_time_on_reimport(tmp_path: Path) -> None:
    def rows(ingested: int) -> pa.Table:
        return pa.table(
            {
                "ts": [None],
                "table": ["trades"],
                "source": ["f.gz"],
                "line": [3],
                "raw": ["{"],
                "reason": ["bad JSON: x"],
                "ts_ingested": [ingested],
            },
            schema=QUARANTINE.schema,
        )

    root = tmp_path / "lake"
    write_partition(root, QUARANTINE, KEY, rows(1))
    result = write_partition(root, QUARANTINE, KEY, rows(2))
    assert pq.read_table(result.path)["ts_ingested"].to_pylist() == [1]


def test_sink_spilling_to_staging_parts_gives_the_in_memory_bytes(tmp_path: Path) -> None:
    rows = trades(4000)
    small = Lake.at(tmp_path / "spill")
    sink = LakeSink(small, memory_bytes=20_000)  # forces many spills
    for lo in range(0, rows.num_rows, 500):
        sink.add("trades", "binance", "BTCUSDT", rows.slice(lo, 500))
    assert sink.spills > 1
    sink.commit()
    big = Lake.at(tmp_path / "memory")
    big_sink = LakeSink(big)
    big_sink.add("trades", "binance", "BTCUSDT", rows)
    big_sink.commit()
    assert big_sink.spills == 0
    path_a = partition_file(small.root, "trades", KEY)
    path_b = partition_file(big.root, "trades", KEY)
    assert path_a.read_bytes() == path_b.read_bytes()
    assert not any((small.root / STAGING_DIR).glob("*-*/**/*.parquet"))


_KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np, pyarrow as pa, pyarrow.parquet as pq
    import datetime as dt
    from data_lake.lake import Lake
    from data_lake.writer import PartitionKey

    original = pq.ParquetWriter.write_table

    def slow_write(self, table, *args, **kwargs):
        original(self, table, *args, **kwargs)
        print("STAGING-HALF-WRITTEN", flush=True)
        time.sleep(60)

    pq.ParquetWriter.write_table = slow_write
    n = 1000
    ts = {day_ns} + np.arange(n, dtype=np.int64) * 1000
    rows = pa.table({{"ts": ts, "price": np.full(n, 1.0), "size": np.full(n, 1.0),
                      "side": np.ones(n, np.int8), "trade_id": [f"new{{i}}" for i in range(n)],
                      "recv_ts": ts}})
    Lake.at(sys.argv[1]).write("trades", "binance", "BTCUSDT", rows)
    """
)


def test_writer_killed_mid_partition_leaves_the_old_partition_and_views_intact(
    tmp_path: Path,
) -> None:
    lake = Lake.at(tmp_path / "home")
    lake.write("trades", "binance", "BTCUSDT", trades(50))
    target = partition_file(lake.root, "trades", KEY)
    old_bytes = target.read_bytes()
    script = tmp_path / "writer.py"
    script.write_text(_KILLED_WRITER.format(day_ns=DAY_NS))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(lake.paths.home)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "STAGING-HALF-WRITTEN"
        staged = list((lake.root / STAGING_DIR).glob("*-*/data.parquet"))
        assert staged, "the writer should be mid-write in its staging directory"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert target.read_bytes() == old_bytes
    assert lake.sql("select count(*) as n from trades")["n"].iloc[0] == 50
    assert lake.read("trades", symbol="BTCUSDT").num_rows == 50
    assert list(lake.root.glob("trades/**/*.parquet")) == [target]
    # The dead writer's staging directory is swept, and the next write succeeds.
    assert clean_stale_staging(lake.root) == 1
    lake.write("trades", "binance", "BTCUSDT", trades(5, 10_000))
    assert lake.sql("select count(*) as n from trades")["n"].iloc[0] == 55
