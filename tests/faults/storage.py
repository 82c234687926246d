"""Storage helpers for the fault tests: a tiny filesystem, inputs that need room."""

from __future__ import annotations

import functools
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DAY_MS = 1_723_075_200_000  # 2024-08-08T00:00:00Z


def trade_lines(n: int, *, first_id: int = 0, symbol: str = "BTCUSDT") -> bytes:
    """``n`` valid Binance trade lines of one day, ids from ``first_id``."""
    out = []
    for i in range(first_id, first_id + n):
        t = DAY_MS + i * 37
        price = f"{60000 + (i * 7919) % 1000}.{i % 100:02d}"
        qty = f"0.{(i * 104729) % 1000 + 1:03d}"
        data = (
            f'{{"e":"trade","E":{t},"T":{t},"s":"{symbol}","t":{i},"p":"{price}",'
            f'"q":"{qty}","X":"MARKET","m":{"true" if i % 3 else "false"}}}'
        )
        out.append(f'{t * 1_000_000 + 5} {{"stream":"{symbol.lower()}@trade","data":{data}}}')
    return ("\n".join(out) + "\n").encode()


@functools.cache
def can_mount() -> bool:
    """True when this process may mount a tmpfs (root in a privileged container)."""

    with tempfile.TemporaryDirectory() as d:
        ok = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d], capture_output=True
            ).returncode
            == 0
        )
        if ok:
            subprocess.run(["umount", d], check=True)
        return ok


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` for the block (root only)."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        check=True,
        capture_output=True,
    )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def remount(path: Path, options: str) -> None:
    subprocess.run(
        ["mount", "-o", f"remount,{options}", str(path)], check=True, capture_output=True
    )
