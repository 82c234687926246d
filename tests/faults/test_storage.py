"""Storage faults: a full disk, a read-only lake, a corrupted Parquet file, a stale lock.

The full disk and the read-only lake use a real tmpfs where the machine lets tests
mount one (root); the full disk is also injected (ENOSPC mid-write) everywhere.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import multiprocessing as mp
import os
import signal
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import data_lake.writer as writer
from data_lake.cli import app
from data_lake.commit import COMMITS_DIR
from data_lake.integrity import CORRUPT_DIR, verify_partition
from data_lake.lake import Lake
from data_lake.locks import partition_lock
from data_lake.registry import ParamRegistry
from data_lake.sources import get_importer
from data_lake.writer import STAGING_DIR, PartitionKey, partition_file
from tests.data_lake.helpers import FIXTURES, lake_digest
from tests.data_lake.test_params import make_document
from tests.faults.storage import can_mount, remount, tmpfs, trade_lines

KEY = PartitionKey("binance", "BTCUSDT", __import__("datetime").date(2024, 8, 8))
needs_mount = pytest.mark.skipif(not can_mount(), reason="mounting a tmpfs needs root")


@dataclass
class _Run:
    returncode: int
    stdout: str
    stderr: str


def _cli(home: Path, *args: str) -> _Run:
    """The ``lake`` command, run in this process (same code path, no interpreter start)."""
    result = CliRunner().invoke(app, ["--home", str(home), *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return _Run(result.exit_code, result.stdout, result.stderr)


def _leftovers(lake: Lake) -> list[Path]:
    """Staged files or commits an interrupted write left behind (there must be none)."""
    staging = lake.root / STAGING_DIR
    return [p for p in staging.rglob("*") if p.is_file() and "locks" not in p.parts]


# -- full disk ---------------------------------------------------------------------------


def test_enospc_mid_write_leaves_every_partition_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake.at(tmp_path / "home")
    get_importer("binance")(lake, [FIXTURES / "binance_small.txt"])
    before = lake_digest(lake)
    big = tmp_path / "big.txt"
    big.write_bytes(trade_lines(3000, first_id=100))
    real = writer._write_final
    calls = []

    def full_disk(spec, batches, path):  # type: ignore[no-untyped-def]
        calls.append(spec.name)
        if len(calls) == 2:  # the second partition of the commit: the first is staged
            path.write_bytes(b"PAR1 half a file")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(spec, batches, path)

    monkeypatch.setattr(writer, "_write_final", full_disk)
    with pytest.raises(OSError, match="No space left"):
        get_importer("binance")(lake, [big, FIXTURES / "binance_malformed.txt"])
    assert lake_digest(lake) == before
    assert _leftovers(lake) == []
    monkeypatch.setattr(writer, "_write_final", real)
    report = get_importer("binance")(lake, [big, FIXTURES / "binance_malformed.txt"])
    assert lake.read("trades").num_rows == 2 + 3000 + 2
    assert report.records_in == report.n_accepted + report.n_quarantined


@needs_mount
def test_full_filesystem_clear_error_then_rerun_completes(
    tmp_path: Path,
) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(trade_lines(60_000, first_id=100))
    with tmpfs(tmp_path / "fs", "1m") as fs:
        home = fs / "home"
        first = _cli(home, "import", "binance", str(FIXTURES / "binance_small.txt"))
        assert first.returncode == 0, first.stderr
        lake = Lake.at(home)
        before = lake_digest(lake)
        full = _cli(home, "import", "binance", str(big))
        assert full.returncode == 2, full.stderr
        assert "disk holding the lake is full" in full.stderr
        assert "Traceback" not in full.stderr
        assert lake_digest(lake) == before
        assert _leftovers(lake) == []
        query = _cli(home, "sql", "select count(*) as n from trades", "--format", "csv")
        assert query.stdout.split() == ["n", "2"], query.stderr
        remount(fs, "size=64m")
        again = _cli(home, "import", "binance", str(big))
        assert again.returncode == 0, again.stderr
        assert lake.read("trades").num_rows == 60_002


# -- read-only lake ----------------------------------------------------------------------


@needs_mount
def test_a_read_only_lake_refuses_imports_plainly_and_still_answers_queries(
    tmp_path: Path,
) -> None:
    with tmpfs(tmp_path / "fs", "16m") as fs:
        home = fs / "home"
        assert _cli(home, "import", "binance", str(FIXTURES / "binance_small.txt")).returncode == 0
        lake = Lake.at(home)
        before = lake_digest(lake)
        remount(fs, "ro")
        refused = _cli(home, "import", "binance", str(FIXTURES / "binance_malformed.txt"))
        assert refused.returncode == 2
        assert "the lake is not writable" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert lake_digest(lake) == before
        query = _cli(home, "sql", "select count(*) as n from trades", "--format", "csv")
        assert query.returncode == 0, query.stderr
        assert query.stdout.split() == ["n", "2"]
        assert _cli(home, "ls").returncode == 0
        remount(fs, "rw")


# -- corrupt Parquet ---------------------------------------------------------------------


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncated":
        data = data[: len(data) // 2]
    elif how == "page_byte":
        data[len(data) // 3] ^= 0x5A
    elif how == "footer_length":
        data[-6] ^= 0xFF
    elif how == "zeroed":
        data = bytearray(len(data))
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncated", "page_byte", "footer_length", "zeroed"])
def test_a_corrupt_partition_is_detected_moved_aside_reported_and_never_merged(
    tmp_path: Path, how: str
) -> None:
    lake = Lake.at(tmp_path / "home")
    big = tmp_path / "big.txt"
    big.write_bytes(trade_lines(2000))
    get_importer("binance")(lake, [big])
    target = partition_file(lake.root, "trades", KEY)
    assert verify_partition(target) is None
    _damage(target, how)
    assert verify_partition(target) is not None
    # `lake verify` finds it, moves it out of every glob and reports it.
    found = _cli(lake.paths.home, "verify")
    assert found.returncode == 2
    assert "corrupt" in found.stderr and "trades" in found.stderr
    assert not target.exists()
    reports = (lake.root / CORRUPT_DIR / "reports.jsonl").read_text().splitlines()
    assert len(reports) == 1 and "trades/venue=binance" in reports[0]
    assert lake.sql("select count(*) n from trades")["n"].iloc[0] == 0
    # A damaged file found by an import is quarantined too, never merged silently.
    get_importer("binance")(lake, [big])
    _damage(target, how)
    get_importer("binance")(lake, [FIXTURES / "binance_small.txt"])
    assert len((lake.root / CORRUPT_DIR / "reports.jsonl").read_text().splitlines()) == 2
    assert lake.read("trades").num_rows == 2  # the new rows only; the rest is reported
    assert verify_partition(target) is None
    assert _cli(lake.paths.home, "verify").returncode == 0


def test_partition_files_carry_page_checksums(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path / "home")
    get_importer("binance")(lake, [FIXTURES / "binance_small.txt"])
    target = partition_file(lake.root, "trades", KEY)
    data = bytearray(target.read_bytes())
    # Flip a byte inside the first data page's values: only the CRC can notice.
    meta = pq.ParquetFile(target).metadata.row_group(0).column(1)
    at = meta.data_page_offset + meta.total_compressed_size - 3
    data[at] ^= 0x01
    target.write_bytes(bytes(data))
    assert verify_partition(target) is not None


# -- stale locks -------------------------------------------------------------------------


def _hold_and_die(root: Path, ready: mp.Event) -> None:  # type: ignore[valid-type]
    with partition_lock(root, "trades", KEY):
        ready.set()  # type: ignore[attr-defined]
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_lock_left_by_a_killed_writer_is_taken_over_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lake = Lake.at(tmp_path / "home")
    ctx = mp.get_context("fork")
    ready = ctx.Event()
    proc = ctx.Process(target=_hold_and_die, args=(lake.root, ready))
    proc.start()
    proc.join(30)
    assert proc.exitcode == -signal.SIGKILL and ready.is_set()
    with caplog.at_level(logging.WARNING, logger="data_lake.locks"):
        get_importer("binance")(lake, [FIXTURES / "binance_small.txt"])
    assert f"previous owner pid {proc.pid} died holding it" in caplog.text
    assert lake.read("trades").num_rows == 2
    assert not (lake.root / COMMITS_DIR).exists() or not any((lake.root / COMMITS_DIR).iterdir())


def _hold_registry_and_die(home: Path) -> None:
    from data_lake.registry.files import locked_directory

    with locked_directory(home / "params" / "BTC"):
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_registry_lock_left_by_a_killed_publisher_does_not_block_the_next(
    tmp_path: Path, caplog: pytest.LogCaptureFixture | None = None
) -> None:
    from data_lake.paths import LakePaths

    proc = mp.get_context("fork").Process(target=_hold_registry_and_die, args=(tmp_path,))
    proc.start()
    proc.join(30)
    assert proc.exitcode == -signal.SIGKILL
    registry = ParamRegistry(LakePaths.at(tmp_path), refresh_catalog=False)
    with caplog.at_level(logging.WARNING) if caplog else contextlib.nullcontext():
        assert registry.submit(make_document(score=-1.0)).accepted
    if caplog is not None:
        assert f"registry BTC: previous owner pid {proc.pid} died holding it" in caplog.text
