from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pytest

from data_lake.sources.textio import (
    InputError,
    TruncatedInputError,
    iter_line_batches,
    iter_lines,
    open_sources,
)

LINES = [f"line {i} " + "x" * (i % 50) for i in range(1, 3001)]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    elif name.endswith(".zip"):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("a.txt", text)
            zf.writestr("b.txt", "only\n")
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["plain.txt", "data.gz"])
def test_lines_are_numbered_from_one_in_plain_and_gzip_files(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path, name, "\n".join(LINES) + "\n")
    (src,) = open_sources(path)
    got = list(iter_lines(src))
    assert [n for n, _ in got] == list(range(1, len(LINES) + 1))
    assert [line.decode() for _, line in got] == LINES


def test_small_chunks_split_lines_correctly_and_report_every_byte(tmp_path: Path) -> None:
    path = _write(tmp_path, "data.gz", "\n".join(LINES))  # no final newline
    (src,) = open_sources(path)
    seen: list[int] = []
    lines = [
        line
        for _, batch in iter_line_batches(src, progress=seen.append, chunk_bytes=777)
        for line in batch
    ]
    assert [x.decode() for x in lines] == LINES
    assert sum(seen) == path.stat().st_size


def test_crlf_endings_are_stripped(tmp_path: Path) -> None:
    path = _write(tmp_path, "crlf.txt", "a,b\r\nc,d\r\n")
    assert [line for _, line in iter_lines(open_sources(path)[0])] == [b"a,b", b"c,d"]


def test_zip_members_are_separate_sources_named_by_archive_and_member(tmp_path: Path) -> None:
    path = _write(tmp_path, "pack.zip", "\n".join(LINES) + "\n")
    sources = open_sources(path)
    assert [s.member for s in sources] == ["a.txt", "b.txt"]
    assert sources[0].name.endswith("pack.zip:a.txt")
    assert len(list(iter_lines(sources[0]))) == len(LINES)


def test_truncated_gzip_yields_complete_lines_then_names_file_and_last_good_line(
    tmp_path: Path,
) -> None:
    full = gzip.compress(("\n".join(LINES) + "\n").encode())
    path = tmp_path / "cut.gz"
    path.write_bytes(full[: len(full) // 2])
    (src,) = open_sources(path)
    got: list[bytes] = []
    with pytest.raises(TruncatedInputError) as info:
        for _, line in iter_lines(src):
            got.append(line)
    err = info.value
    assert err.last_good_line == len(got) > 0
    assert [x.decode() for x in got] == LINES[: len(got)]
    assert str(path) in str(err) and f"line {len(got)}" in str(err)
    assert "re-download" in str(err)
    # The cut fell inside a line: its start is kept for the quarantine.
    assert LINES[len(got)].encode().startswith(err.partial)


def test_missing_file_and_broken_zip_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        open_sources(tmp_path / "absent.gz")
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError, match="not a readable zip"):
        open_sources(bad)
