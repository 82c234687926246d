"""Hourly rotating line files, written so that a crash never leaves a torn file behind.

The open file is ``<prefix>_<YYYYmmddTHHMMSS>.txt.part``; each line is whole
(``<recv_ts_ns> <json>\\n``, written in one call, flushed every ``flush_every`` lines).
At each UTC hour boundary (of the lines' receive times) and on close, the file is
flushed, fsynced and renamed to ``.txt`` (atomic on POSIX), and the directory fsynced.
A ``.part`` left by a crash is recovered by :func:`recover_partials`: cut after its last
complete line, fsynced, renamed; running it again changes nothing (idempotent).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import BinaryIO

from data_lake.durable import fsync_dir

__all__ = ["PART_SUFFIX", "RotatingLineWriter", "recover_partials"]

PART_SUFFIX = ".part"
_HOUR_NS = 3_600_000_000_000


def _finish(part: Path) -> Path:
    """fsync ``part`` and rename it without its ``.part`` suffix (a free name)."""
    final = part.with_name(part.name.removesuffix(PART_SUFFIX))
    n = 1
    while final.exists():
        final = part.with_name(f"{final.stem.split('~')[0]}~{n}{final.suffix}")
        n += 1
    os.replace(part, final)
    fsync_dir(part.parent)
    return final


def recover_partials(directory: Path) -> list[Path]:
    """Close the ``.part`` files a crashed recorder left in ``directory``: cut each after
    its last complete line and rename it. Returns the recovered files (empty ones are
    removed)."""
    out = []
    for part in sorted(directory.glob(f"*{PART_SUFFIX}")):
        data = part.read_bytes()
        keep = data.rfind(b"\n") + 1
        if keep == 0:
            part.unlink()
            continue
        if keep < len(data):
            with part.open("r+b") as fh:
                fh.truncate(keep)
                fh.flush()
                os.fsync(fh.fileno())
        out.append(_finish(part))
    return out


class RotatingLineWriter:
    """Appends lines to the current hour's file; :meth:`close` finishes it.

    Parameters
    ----------
    directory : Path
        Created if missing; crash leftovers in it are recovered first.
    prefix : str
        File name prefix, e.g. ``hyperliquid_BTC-ETH``.
    flush_every : int
        Lines between flushes to the OS (an fsync happens at rotation and close).
    """

    def __init__(self, directory: Path, prefix: str, *, flush_every: int = 64) -> None:
        self.directory = directory
        self.prefix = prefix
        self.flush_every = flush_every
        directory.mkdir(parents=True, exist_ok=True)
        self.recovered = recover_partials(directory)
        self.finished: list[Path] = []
        self.lines = 0
        self._fh: BinaryIO | None = None
        self._part: Path | None = None
        self._hour = -1
        self._since_flush = 0

    def _open(self, recv_ns: int) -> None:
        stamp = dt.datetime.fromtimestamp(recv_ns / 1e9, dt.UTC).strftime("%Y%m%dT%H%M%S")
        self._part = self.directory / f"{self.prefix}_{stamp}.txt{PART_SUFFIX}"
        self._fh = self._part.open("ab")
        self._hour = recv_ns // _HOUR_NS

    def write(self, recv_ns: int, payload: str | bytes) -> None:
        """One ``<recv_ns> <payload>`` line; rotates when ``recv_ns`` enters a new hour."""
        raw = payload.encode() if isinstance(payload, str) else payload
        if b"\n" in raw:
            raise ValueError("a payload must be one line (the JSON has a newline)")
        if self._fh is not None and recv_ns // _HOUR_NS != self._hour:
            self.rotate()
        if self._fh is None:
            self._open(recv_ns)
        assert self._fh is not None
        self._fh.write(b"%d %s\n" % (recv_ns, raw))
        self.lines += 1
        self._since_flush += 1
        if self._since_flush >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            self._since_flush = 0

    def rotate(self) -> Path | None:
        """Finish the current file (fsync, rename); the next line opens a new one."""
        if self._fh is None or self._part is None:
            return None
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._fh = None
        final = _finish(self._part)
        self._part = None
        self.finished.append(final)
        return final

    def close(self) -> list[Path]:
        """Finish the open file; returns every file this writer finished (idempotent)."""
        self.rotate()
        return list(self.finished)
