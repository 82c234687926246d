"""Streaming line readers for plain, gzip and zip inputs, with line numbers.

Lines come out in batches (a list of ``bytes`` per chunk of about 1 MiB decompressed),
because per-line generator overhead is a measurable share of an import. Memory is
bounded by the chunk size whatever the file size.

A gzip stream that ends early (a truncated download or a recorder killed mid-write)
raises :class:`TruncatedInputError` after every complete line has been yielded; the
error names the file and the last complete line, and carries the incomplete tail so
the importer can quarantine it instead of dropping it silently.
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = [
    "CHUNK_BYTES",
    "InputError",
    "LineSource",
    "ProgressFn",
    "TruncatedInputError",
    "iter_line_batches",
    "iter_line_chunks",
    "iter_lines",
    "open_sources",
]

CHUNK_BYTES = 1 << 20
ProgressFn = Callable[[int], None]


class InputError(Exception):
    """An input the user must fix: the message names the file, the line and what to do."""

    def __init__(self, message: str, *, source: str, line: int | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.line = line


class TruncatedInputError(InputError):
    """A compressed stream ended early; complete lines before it were all yielded.

    Attributes
    ----------
    last_good_line : the number of the last complete line (0 if none).
    partial : the incomplete bytes after it (``b""`` if the cut fell on a newline).
    """

    def __init__(self, source: str, last_good_line: int, partial: bytes, detail: str) -> None:
        super().__init__(
            f"{source}: the compressed data end early ({detail}); the last complete line "
            f"is line {last_good_line}. Lines 1-{last_good_line} were imported and "
            "accounted for; re-download or re-record the file to import the rest.",
            source=source,
            line=last_good_line,
        )
        self.last_good_line = last_good_line
        self.partial = partial


@dataclass(frozen=True)
class LineSource:
    """One stream of lines: a file, or one member of a zip archive.

    ``name`` is what quarantine rows and errors cite (``archive.zip:member`` for zip
    members); ``size_bytes`` is the on-disk (compressed) size, for progress bars.
    """

    path: Path
    member: str | None = None
    size_bytes: int = 0

    @property
    def name(self) -> str:
        return f"{self.path}:{self.member}" if self.member else str(self.path)

    @property
    def basename(self) -> str:
        return self.member.rsplit("/", 1)[-1] if self.member else self.path.name


def open_sources(path: str | Path) -> list[LineSource]:
    """The line streams in ``path``: the file itself, or each file member of a zip.

    Raises
    ------
    InputError : when the path is missing or a zip cannot be read.
    """
    p = Path(path).expanduser().resolve()
    if not p.is_file():
        raise InputError(
            f"{path}: no such file; check the path (directories are not accepted, "
            "pass the files)",
            source=str(path),
        )
    if p.suffix.lower() != ".zip":
        return [LineSource(p, None, p.stat().st_size)]
    try:
        with zipfile.ZipFile(p) as zf:
            members = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(
            f"{p}: not a readable zip archive ({exc}); the file may be truncated, "
            "re-download it",
            source=str(p),
        ) from None
    return [LineSource(p, m.filename, m.compress_size) for m in members]


def _open_raw(src: LineSource) -> tuple[IO[bytes], Callable[[], int], list[IO[bytes]]]:
    """A binary stream of decompressed bytes, a compressed-position probe, and closers."""
    if src.member is not None:
        zf = zipfile.ZipFile(src.path)
        stream = zf.open(src.member)
        info = zf.getinfo(src.member)
        ratio = info.compress_size / info.file_size if info.file_size else 1.0
        return stream, lambda: int(stream.tell() * ratio), [stream, zf]  # type: ignore[list-item]
    raw = open(src.path, "rb")  # noqa: SIM115 - closed by the caller
    if src.path.suffix.lower() == ".gz":
        gz = gzip.GzipFile(fileobj=raw, mode="rb")
        return gz, raw.tell, [gz, raw]  # type: ignore[return-value, list-item]
    return raw, raw.tell, [raw]


def iter_line_chunks(
    src: LineSource, *, progress: ProgressFn | None = None, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[tuple[int, bytes]]:
    """Yield ``(first_line_number, block)``: blocks of whole lines joined by ``\n``.

    ``block.split(b"\n")`` gives the lines (``\r`` endings kept: see
    :func:`iter_line_batches`); line numbers are 1-based. A final line without a newline
    is a complete line, unless the compressed stream was truncated.

    Parameters
    ----------
    src : the stream to read.
    progress : called with the number of on-disk bytes consumed since the last call.
    chunk_bytes : decompressed bytes per read.

    Raises
    ------
    TruncatedInputError : after yielding every complete line of a cut-off stream.
    InputError : on corrupt compressed data.
    """
    stream, position, closers = _open_raw(src)
    line_no = 0
    rest = b""
    reported = 0
    try:
        while True:
            try:
                chunk = stream.read1(chunk_bytes)  # type: ignore[attr-defined]
            except EOFError as exc:
                raise TruncatedInputError(src.name, line_no, rest, str(exc)) from None
            except (zlib.error, gzip.BadGzipFile, zipfile.BadZipFile, OSError) as exc:
                raise InputError(
                    f"{src.name}: corrupt compressed data after line {line_no} ({exc}); "
                    "re-download or re-record the file",
                    source=src.name,
                    line=line_no,
                ) from None
            if progress is not None:
                pos = position()
                if pos > reported:
                    progress(pos - reported)
                    reported = pos
            if not chunk:
                break
            data = rest + chunk if rest else chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                rest = data
                continue
            block, rest = data[:cut], data[cut + 1 :]
            yield line_no + 1, block
            line_no += block.count(b"\n") + 1
        if rest:
            yield line_no + 1, rest
    finally:
        for closer in closers:
            closer.close()


def iter_line_batches(
    src: LineSource, *, progress: ProgressFn | None = None, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[tuple[int, list[bytes]]]:
    """Yield ``(first_line_number, lines)`` batches; line numbers are 1-based.

    Lines carry no newline (``\r\n`` endings lose the ``\r``). Raises like
    :func:`iter_line_chunks`, after yielding every complete line.
    """
    for first, block in iter_line_chunks(src, progress=progress, chunk_bytes=chunk_bytes):
        lines = block.split(b"\n")
        if lines[0].endswith(b"\r") or lines[-1].endswith(b"\r"):
            lines = [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines]
        yield first, lines


def iter_lines(
    src: LineSource, *, progress: ProgressFn | None = None
) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_number, line)`` one at a time (convenient, slower than batches)."""
    for first, lines in iter_line_batches(src, progress=progress):
        yield from enumerate(lines, first)
