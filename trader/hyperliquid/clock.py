"""Exchange-vs-local clock offset and round-trip time, NTP style.

Each probe is a request sent at local ``t0`` and answered at local ``t1`` carrying the
venue's time ``ts`` in whole milliseconds (truncated). The venue read its clock somewhere
in ``[t0, t1]`` and its true time lies in ``[ts, ts + 1 ms)``, so the offset
(venue - local) lies in ``[ts - t1, ts + 1 ms - t0]``. The estimate intersects these
intervals over the recent probes (they all hold the same offset while the clocks do not
drift) and takes the middle; when they do not intersect, the clocks stepped, and the
estimate restarts from the newest probe. Its error is at most half the narrowest
interval: half the RTT plus half a millisecond on one probe, less over many.

A warning is logged (once per crossing) when the offset exceeds ``warn_offset_ms``.
Times in int64 ns; the exported figures in seconds.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

__all__ = ["ClockEstimate", "ClockSync"]

log = logging.getLogger(__name__)

_MS = 1_000_000


@dataclass(frozen=True)
class ClockEstimate:
    """Offset (venue - local) and its half-width, and the minimum RTT, ns."""

    offset_ns: int
    uncertainty_ns: int
    rtt_ns: int
    samples: int


class ClockSync:
    """Collects probes; :attr:`estimate` is the current offset and RTT.

    Parameters
    ----------
    window : int
        Probes kept.
    warn_offset_ms : float
        |offset| above this logs a drift warning (and :attr:`drifting` is True).
    resolution_ns : int
        Resolution of the venue's timestamps (Hyperliquid: 1 ms, truncated).
    """

    def __init__(self, window: int = 32, warn_offset_ms: float = 50.0,
                 resolution_ns: int = _MS) -> None:
        if window < 1 or resolution_ns < 1 or not warn_offset_ms > 0:
            raise ValueError("window and resolution_ns must be >= 1, warn_offset_ms > 0")
        self.warn_offset_ns = int(warn_offset_ms * _MS)
        self.resolution_ns = resolution_ns
        self._probes: deque[tuple[int, int, int]] = deque(maxlen=window)
        self.estimate: ClockEstimate | None = None
        self.drifting = False
        self.steps = 0

    def add(self, t0_ns: int, t1_ns: int, venue_ts_ns: int) -> ClockEstimate:
        """Add one probe (sent at ``t0``, answered at ``t1``, local ns; the venue's time
        in ns, a whole number of ``resolution_ns``); returns the new estimate."""
        if t1_ns < t0_ns:
            raise ValueError(f"probe answered before it was sent: t0 {t0_ns} > t1 {t1_ns}")
        self._probes.append((t0_ns, t1_ns, venue_ts_ns))
        lo, hi = self._bounds()
        if lo > hi:
            # No offset fits every probe: the clocks stepped. Each interval is a hard
            # bound, so the older probes are wrong now; start again from the newest.
            self._probes = deque([self._probes[-1]], maxlen=self._probes.maxlen)
            self.steps += 1
            lo, hi = self._bounds()
        rtt = min(t1 - t0 for t0, t1, _ in self._probes)
        est = ClockEstimate((lo + hi) // 2, (hi - lo) // 2, rtt, len(self._probes))
        self.estimate = est
        self._check_drift(est)
        return est

    def _bounds(self) -> tuple[int, int]:
        lo = max(ts - t1 for t0, t1, ts in self._probes)
        hi = min(ts + self.resolution_ns - t0 for t0, t1, ts in self._probes)
        return lo, hi

    def _check_drift(self, est: ClockEstimate) -> None:
        drifting = abs(est.offset_ns) > self.warn_offset_ns
        if drifting and not self.drifting:
            log.warning("local clock is %.1f ms %s the venue's (warning above %.1f ms): "
                        "check NTP", abs(est.offset_ns) / _MS,
                        "behind" if est.offset_ns > 0 else "ahead of",
                        self.warn_offset_ns / _MS,
                        extra={"event": "clock_drift", "offset_ms": est.offset_ns / _MS,
                               "rtt_ms": est.rtt_ns / _MS})
        self.drifting = drifting

    def venue_now_ns(self, local_ns: int) -> int:
        """The venue's time at local time ``local_ns`` (the local time before any probe)."""
        return local_ns + (self.estimate.offset_ns if self.estimate else 0)
