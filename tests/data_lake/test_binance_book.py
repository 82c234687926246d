"""The array + hash-table book against a naive dict book, on random diffs."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from data_lake.sources.binance.book import BookBuffer, L2Book


def _diff_bytes(bids: list[list[str]], asks: list[list[str]]) -> tuple[np.ndarray, int]:
    payload = b'{"b":' + orjson.dumps(bids) + b',"a":' + orjson.dumps(asks) + b"}"
    return np.frombuffer(payload, np.uint8), 5


def _top(levels: dict[float, float], depth: int, best_high: bool) -> list[tuple[float, float]]:
    prices = sorted(levels, reverse=best_high)[:depth]
    return [(p, levels[p]) for p in prices]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_diffs_keep_the_same_top_levels_as_a_naive_book(seed: int) -> None:
    rng = np.random.default_rng(seed)
    depth = 5
    book = L2Book(depth=depth, window=16)  # a small window: refills and spills happen
    rows = BookBuffer(depth)
    bids = {round(100.0 - 0.1 * i, 1): 1.0 for i in range(1, 60)}
    asks = {round(100.0 + 0.1 * i, 1): 1.0 for i in range(0, 60)}
    assert book.load([[str(p), str(s)] for p, s in bids.items()],
                     [[str(p), str(s)] for p, s in asks.items()]) is None
    mid = 100.0
    for _ in range(400):
        mid += float(rng.normal(0, 0.3))  # the touch wanders through the deep levels
        updates: dict[str, list[list[str]]] = {"b": [], "a": []}
        for _ in range(int(rng.integers(1, 30))):
            side = "b" if rng.random() < 0.5 else "a"
            near = rng.random() < 0.6
            offset = rng.exponential(0.5) if near else rng.uniform(0, 40)
            px = round(mid - 0.05 - offset, 1) if side == "b" else round(mid + 0.05 + offset, 1)
            if px <= 0:
                continue
            size = 0.0 if rng.random() < 0.4 else round(float(rng.exponential(2.0)) + 0.001, 3)
            updates[side].append([f"{px:.1f}", f"{size:.3f}"])
            levels = bids if side == "b" else asks
            if size == 0.0:
                levels.pop(px, None)
            else:
                levels[px] = size
        # Keep the naive book uncrossed the way the venue does: drop crossed levels.
        while bids and asks and max(bids) >= min(asks):
            worst = max(bids) if rng.random() < 0.5 else min(asks)
            side = "b" if worst in bids and worst == max(bids) else "a"
            (bids if side == "b" else asks).pop(worst)
            updates[side].append([f"{worst:.1f}", "0.000"])
        buf, start = _diff_bytes(updates["b"], updates["a"])
        assert book.apply(buf, start) is None
        rows.append(book, 0, 0, None)
        table = rows.take()
        got_bids = list(zip(table["bid_px"][0].as_py(), table["bid_sz"][0].as_py(), strict=True))
        got_asks = list(zip(table["ask_px"][0].as_py(), table["ask_sz"][0].as_py(), strict=True))
        assert got_bids == _top(bids, depth, best_high=True)
        assert got_asks == _top(asks, depth, best_high=False)


def test_a_negative_size_or_a_malformed_level_is_reported() -> None:
    book = L2Book(depth=3)
    assert book.load([["10.0", "1"]], [["11.0", "1"]]) is None
    buf, start = _diff_bytes([["9.5", "-1.0"]], [])
    assert (book.apply(buf, start) or "").startswith("non-positive price or size")
    buf, start = _diff_bytes([["9.5", "abc"]], [])
    assert (book.apply(buf, start) or "").startswith("bad value")
    assert book.load([["10.0", "1"]], [["0", "1"]]) is not None
