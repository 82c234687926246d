"""A paper feed with faults: the ``(seq, row)`` pairs of a replay with events repeated
or delivered late, as a feed that retransmits or reorders does; a feed that goes quiet."""

from __future__ import annotations

import random

from trader.live.engine import SymbolEngine


def perturbed(
    n: int, rng: random.Random, *, repeats: int, late: int
) -> tuple[list[tuple[int, int]], int]:
    """The pairs of rows ``0..n-1`` in order, plus ``repeats`` events sent again right
    after themselves and ``late`` events sent again 1-50 events later (a retransmission
    after newer ones). Returns the pairs and the number of extra deliveries."""
    extra: dict[int, list[int]] = {}
    for i in rng.sample(range(n - 60), repeats):
        extra.setdefault(i, []).append(i)
    for i in rng.sample(range(n - 60), late):
        extra.setdefault(i + rng.randint(1, 50), []).append(i)
    pairs: list[tuple[int, int]] = []
    for i in range(n):
        pairs.append((i, i))
        pairs.extend((j, j) for j in extra.get(i, ()))
    return pairs, repeats + late


def run_pairs(engine: SymbolEngine, pairs: list[tuple[int, int]]) -> None:
    """Deliver every ``(seq, row)`` to the engine, in the order given."""
    on_event = engine.on_event
    for seq, row in pairs:
        on_event(seq, row)
