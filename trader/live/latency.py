"""Tick-to-quote latency: book update in, quote decision out, in nanoseconds.

Recording costs one array store per tick; the histogram buckets (for Prometheus) and the
percentiles (for the benchmark and the summary) are computed off the hot path.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LATENCY_BUCKETS_S", "LatencyRecorder"]

LATENCY_BUCKETS_S = (
    5e-6, 10e-6, 20e-6, 50e-6, 100e-6, 200e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3,
)
"""Upper bounds of the loop-latency histogram, seconds (``+Inf`` is implied)."""


class LatencyRecorder:
    """A ring of the last ``capacity`` latencies plus cumulative histogram counts."""

    def __init__(self, capacity: int = 1 << 16) -> None:
        if capacity & (capacity - 1):
            raise ValueError(f"capacity must be a power of two, got {capacity}")
        self._ring = np.zeros(capacity, dtype=np.int64)
        self._mask = capacity - 1
        self.count = 0
        self._folded = 0
        self._edges_ns = np.array([b * 1e9 for b in LATENCY_BUCKETS_S])
        self.bucket_counts = np.zeros(len(LATENCY_BUCKETS_S) + 1, dtype=np.int64)
        self.sum_ns = 0

    def record(self, ns: int) -> None:
        self._ring[self.count & self._mask] = ns
        self.count += 1

    def fold(self) -> None:
        """Add the latencies recorded since the last fold to the histogram counts (those
        overwritten in the ring meanwhile are lost to it, never double-counted)."""
        new = self.count - self._folded
        if new <= 0:
            return
        new = min(new, self._mask + 1)
        idx = (np.arange(self.count - new, self.count)) & self._mask
        values = self._ring[idx]
        self.bucket_counts += np.bincount(
            np.searchsorted(self._edges_ns, values, side="left"),
            minlength=len(self.bucket_counts),
        )
        self.sum_ns += int(values.sum())
        self._folded = self.count

    def recent(self) -> np.ndarray:
        """The latencies still in the ring, ns (up to ``capacity``)."""
        n = min(self.count, self._mask + 1)
        return self._ring[(np.arange(self.count - n, self.count)) & self._mask]

    def percentiles_us(self, qs: tuple[float, ...] = (50.0, 99.0)) -> dict[str, float]:
        """``{"p50": us, "p99": us}`` over :meth:`recent` (empty dict when none)."""
        values = self.recent()
        if values.size == 0:
            return {}
        return {f"p{q:g}": float(np.percentile(values, q)) / 1e3 for q in qs}
