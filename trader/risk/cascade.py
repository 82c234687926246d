"""Liquidation-cascade detection: stop quoting into a forced-selling (or buying) spiral.

A cascade shows two ways, and either trips ``liquidation_cascade``:

- **intensity spike**: the live Hawkes intensity of one side (``S_HAWKES_*_RATIO``,
  :mod:`trader.strategy.live_inputs`) at ``intensity_ratio`` times its stationary mean or
  more. Right after a trade a fast kernel on a slow market jumps far above its mean:
  with the kernels fitted on the synthetic BTC, ETH and SOL days the ratio read at
  trades has median 6, 9 and 4, 99.9th percentile 30, 58 and 15, and maximum 43, 81 and
  19 over a held-out day; the default 100 sits above all of them.
- **volume surge**: one side's aggressive volume over ``burst_window_s`` at
  ``surge_factor`` times the market's long-run volume per window (both sides; an
  exponentially weighted rate
  with time constant ``long_run_s``, so the detector adapts to the instrument without a
  setting per symbol). Liquidation engines sweep the book with market orders on one side.
  Single prints are too heavy-tailed to count: on the real Binance sample a print 100x
  the typical size arrives several times a minute. Ordinary flow surges a lot at 2 s
  against a 10-minute rate of the volume that left the window: 89x on the LOBSTER GOOG
  day, 236x and 269x on a synthetic SOL and BTC day (Hawkes bursts after quiet night
  hours); the Binance and Hyperliquid samples are shorter than the 10 minutes the rate
  needs. The default 500x sits above all of them, so this rule is the backstop; the
  intensity rule, which knows the flow's own clustering, is the primary detector
  (tests/trader/live/test_cascade.py).

The detector only reads what the engine already has; it needs no extra data.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

__all__ = ["CascadeDetector", "CascadeSettings"]


@dataclass(frozen=True)
class CascadeSettings:
    """Thresholds of :class:`CascadeDetector` (see the module docstring).

    Attributes
    ----------
    intensity_ratio : float
        Live intensity over its stationary mean that trips, > 1 (inf: off).
    surge_factor : float
        One side's aggressive volume over ``burst_window_s`` at this many times the
        long-run volume (both sides) per window trips, > 1.
    burst_window_s : float
        Window of the surge, seconds, > 0.
    long_run_s : float
        Time constant of the long-run volume rate, seconds (> burst_window_s); nothing
        trips before one has passed (the rate must be learnt).
    """

    intensity_ratio: float = 100.0
    surge_factor: float = 500.0
    burst_window_s: float = 2.0
    long_run_s: float = 600.0

    def __post_init__(self) -> None:
        if not self.intensity_ratio > 1.0:
            raise ValueError(f"intensity_ratio must be > 1, got {self.intensity_ratio}")
        if not (math.isfinite(self.surge_factor) and self.surge_factor > 1.0):
            raise ValueError(f"surge_factor must be finite and > 1, got {self.surge_factor}")
        if not (math.isfinite(self.burst_window_s) and self.burst_window_s > 0):
            raise ValueError(f"burst_window_s must be finite and > 0, got {self.burst_window_s}")
        if not (math.isfinite(self.long_run_s) and self.long_run_s > self.burst_window_s):
            raise ValueError(
                f"long_run_s must be finite and > burst_window_s, got {self.long_run_s}"
            )


@dataclass
class _Side:
    window: deque[tuple[int, float]] = field(default_factory=deque)
    in_window: float = 0.0


@dataclass
class CascadeDetector:
    """Feed it every trade and the live intensity ratios; it says when a cascade starts."""

    settings: CascadeSettings = field(default_factory=CascadeSettings)
    _first_t: int = -1
    _rate: float = 0.0  # exponentially weighted volume per second, both sides
    _rate_t: int = -1
    _sides: dict[int, _Side] = field(default_factory=lambda: {1: _Side(), -1: _Side()})

    def surge(self, side: int) -> float:
        """The side's volume in the window over the long-run volume (both sides) per
        window; 0 while unknown. A quiet side is measured against the whole market, so one
        print on it is no surge."""
        s = self._sides[1 if side > 0 else -1]
        expected = self._rate * self.settings.burst_window_s
        return s.in_window / expected if expected > 0.0 else 0.0

    def on_trade(self, t_ns: int, side: int, size: float) -> str | None:
        """One aggressive trade (side +1 buy, -1 sell); a reason when its side surges."""
        if not (size > 0.0 and math.isfinite(size)):
            return None
        cfg = self.settings
        if self._first_t < 0:
            self._first_t = t_ns
        # The long-run rate learns only volume that has left the window, so a surge is
        # measured against the past and never feeds its own baseline.
        if self._rate_t >= 0:
            self._rate *= math.exp(-(t_ns - self._rate_t) * 1e-9 / cfg.long_run_s)
        self._rate_t = t_ns
        horizon = t_ns - int(cfg.burst_window_s * 1e9)
        for other in self._sides.values():
            while other.window and other.window[0][0] <= horizon:
                old = other.window.popleft()[1]
                other.in_window -= old
                self._rate += old / cfg.long_run_s
        s = self._sides[1 if side > 0 else -1]
        s.window.append((t_ns, size))
        s.in_window += size
        learnt = (t_ns - self._first_t) * 1e-9 >= cfg.long_run_s
        ratio = self.surge(side)
        if learnt and ratio >= cfg.surge_factor:
            what = "buy" if side > 0 else "sell"
            return (f"aggressive {what} volume {s.in_window:.6g} in {cfg.burst_window_s:g} s, "
                    f"{ratio:.3g}x its long-run rate (threshold {cfg.surge_factor:g}x)")
        return None

    def on_intensity(self, buy_ratio: float, sell_ratio: float) -> str | None:
        """The live Hawkes intensity ratios; a reason when one spikes past the threshold."""
        limit = self.settings.intensity_ratio
        for name, ratio in (("buy", buy_ratio), ("sell", sell_ratio)):
            if ratio >= limit:
                return (f"{name} intensity {ratio:.3g}x its stationary mean "
                        f"(threshold {limit:g}x)")
        return None
