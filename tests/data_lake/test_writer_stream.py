"""The streamed partition write: atomic, idempotent, under the partition lock, same bytes."""

from __future__ import annotations

import fcntl
import glob
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import data_lake.writer as writer
from data_lake.catalog import parquet_glob
from data_lake.lake import Lake
from data_lake.schemas import BOOK, TRADES
from data_lake.writer import (
    STAGING_DIR,
    clean_stale_staging,
    partition_file,
    write_partition,
    write_partition_stream,
)
from tests.data_lake.test_writer import DAY_NS, KEY, trades


def book_rows(n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    levels = [list(rng.random(int(rng.integers(1, 6)))) for _ in range(n)]
    return pa.table(
        {
            "ts": DAY_NS + np.arange(n, dtype=np.int64) * 1000,
            "seq": np.arange(n, dtype=np.int64),
            "bid_px": levels,
            "bid_sz": levels,
            "ask_px": levels,
            "ask_sz": levels,
            "recv_ts": pa.nulls(n, pa.int64()),
        }
    )


def pieces(rows: pa.Table, sizes: list[int]) -> Iterator[pa.Table | pa.RecordBatch]:
    """Cut rows into chunks of the given sizes, alternating tables and record batches."""
    start = 0
    for i, size in enumerate(sizes):
        piece = rows.slice(start, size)
        start += size
        yield piece if i % 2 == 0 else piece.combine_chunks().to_batches()[0]
    assert start == rows.num_rows


@pytest.fixture
def small_row_groups(monkeypatch: pytest.MonkeyPatch) -> int:
    """Row groups of 1,000 rows, so a few thousand rows cross several chunk boundaries."""
    monkeypatch.setattr(writer, "ROW_GROUP_SIZE", 1000)
    return 1000


def test_streamed_book_has_the_bytes_of_write_partition_and_exact_row_groups(
    tmp_path: Path, small_row_groups: int
) -> None:
    rows = book_rows(3_500)
    sizes = [1, 999, 0, 1234, 700, 566]
    streamed = write_partition_stream(
        tmp_path / "a", BOOK, KEY, pieces(rows, sizes), sorted_unique=True
    )
    in_memory = write_partition(tmp_path / "b", BOOK, KEY, rows, mode="replace")
    assert streamed.path.read_bytes() == in_memory.path.read_bytes()
    assert (streamed.rows_before, streamed.rows_written, streamed.rows_after) == (0, 3500, 3500)
    meta = pq.ParquetFile(streamed.path).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [
        1000, 1000, 1000, 500
    ]
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert meta.row_group(0).column(0).statistics.has_min_max


def test_unsorted_stream_is_sorted_and_deduplicated_out_of_core(
    tmp_path: Path, small_row_groups: int
) -> None:
    rows = trades(2_500)
    newer = rows.slice(100, 50).set_column(1, "price", pa.array([7.0] * 50))
    shuffled = rows.take(np.random.default_rng(3).permutation(rows.num_rows))
    chunks = [shuffled.slice(0, 1200), shuffled.slice(1200), newer]
    streamed = write_partition_stream(tmp_path / "a", TRADES, KEY, chunks, sorted_unique=False)
    in_memory = write_partition(
        tmp_path / "b", TRADES, KEY, pa.concat_tables([shuffled, newer]), mode="replace"
    )
    assert streamed.rows_written == 2_550 and streamed.rows_after == 2_500
    assert streamed.path.read_bytes() == in_memory.path.read_bytes()
    stored = pq.read_table(streamed.path).to_pandas().set_index("trade_id")
    assert (stored.loc[[str(i) for i in range(100, 150)], "price"] == 7.0).all()


def test_streaming_twice_gives_identical_bytes_and_replaces_the_partition(
    tmp_path: Path,
) -> None:
    root = tmp_path / "lake"
    write_partition(root, BOOK, KEY, book_rows(50, seed=9))  # different content first
    first = write_partition_stream(root, BOOK, KEY, pieces(book_rows(900), [400, 500]),
                                   sorted_unique=True)
    before = first.path.read_bytes()
    again = write_partition_stream(root, BOOK, KEY, pieces(book_rows(900), [300, 600]),
                                   sorted_unique=True)
    assert first.rows_before == 50 and again.rows_before == 900
    assert again.path.read_bytes() == before
    assert pq.read_metadata(again.path).num_rows == 900


def test_a_stream_that_fails_half_way_leaves_the_old_partition_and_no_staging_file(
    tmp_path: Path,
) -> None:
    lake = Lake.at(tmp_path / "home")
    lake.write("book", "binance", "BTCUSDT", book_rows(40, seed=1))
    target = partition_file(lake.root, "book", KEY)
    old_bytes = target.read_bytes()
    seen_mid_write: list[list[str]] = []

    def crashing() -> Iterator[pa.Table]:
        rows = book_rows(2_000)
        yield rows.slice(0, 1_000)
        # Mid-write: the new file is in staging, outside the table's glob.
        staged = list((lake.root / STAGING_DIR).glob("*-*/data.parquet"))
        assert len(staged) == 1
        seen_mid_write.append(glob.glob(parquet_glob(lake.paths, "book")))
        raise RuntimeError("the simulation died half way")

    with pytest.raises(RuntimeError, match="died half way"):
        write_partition_stream(lake.root, BOOK, KEY, crashing(), sorted_unique=True)
    assert seen_mid_write == [[str(target)]]
    assert target.read_bytes() == old_bytes
    assert lake.read("book", symbol="BTCUSDT").num_rows == 40
    assert not list((lake.root / STAGING_DIR).glob("*-*"))  # removed, nothing to sweep
    assert clean_stale_staging(lake.root) == 0
    # The lock was released: the next write goes through.
    write_partition_stream(lake.root, BOOK, KEY, [book_rows(10)], sorted_unique=True)
    assert pq.read_metadata(target).num_rows == 10


def test_rows_out_of_order_abort_a_sorted_stream_before_the_rename(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    write_partition(root, BOOK, KEY, book_rows(5))
    old_bytes = partition_file(root, "book", KEY).read_bytes()
    rows = book_rows(300)
    repeated = [rows.slice(0, 200), rows.slice(199, 101)]  # row 199 twice: key not unique
    with pytest.raises(ValueError, match=r"row 200 of the stream is not after"):
        write_partition_stream(root, BOOK, KEY, repeated, sorted_unique=True)
    backwards = [rows.slice(0, 100), rows.slice(150, 10), rows.slice(100, 50)]
    with pytest.raises(ValueError, match=r"row 110 of the stream .* sorted_unique=False"):
        write_partition_stream(root, BOOK, KEY, backwards, sorted_unique=True)
    assert partition_file(root, "book", KEY).read_bytes() == old_bytes


def test_the_stream_holds_the_partition_lock_and_serialises_a_concurrent_writer(
    tmp_path: Path,
) -> None:
    root = tmp_path / "lake"
    ours = trades(600)
    theirs = trades(30, start_id=10_000, seed=5)
    lock_was_held: list[bool] = []
    other_done = threading.Event()
    other = threading.Thread(
        target=lambda: (write_partition(root, TRADES, KEY, theirs), other_done.set())
    )

    def chunks() -> Iterator[pa.Table]:
        yield ours.slice(0, 300)
        # flock is per open file: a second descriptor conflicts even in this process.
        (lock,) = (root / STAGING_DIR / "locks").glob("trades.*.lock")
        with open(lock, "a+b") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock_was_held.append(True)
            else:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
                lock_was_held.append(False)
        other.start()
        # A writer that ignored the lock would finish here, then be overwritten below.
        other_done.wait(timeout=0.5)
        yield ours.slice(300)

    write_partition_stream(root, TRADES, KEY, chunks(), sorted_unique=True)
    other.join(timeout=60)
    assert lock_was_held == [True]
    assert other_done.is_set()
    stored = pq.read_table(partition_file(root, "trades", KEY))
    # The other writer waited for the stream, then merged its rows into the new partition.
    assert stored.num_rows == 630
    assert set(stored["trade_id"].to_pylist()) == set(
        ours["trade_id"].to_pylist() + theirs["trade_id"].to_pylist()
    )
