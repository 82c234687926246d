"""What a quoting field takes when its model could not be fitted, and the record of it.

A published set must never quote narrower because a fit failed (issue 11). Each field
that today's fits cannot give takes, in order:

1. the last published value for the symbol (``source = "version <v>"``), when usable;
2. else a stated conservative bound that widens the quotes (``source = "bound"``),
   below; a field that no bound can stand for and the quoter does not read (the Heston
   block, the volume bucket, the micro-price coefficients) stays None.

Never 0 for an excitation or an add-on, never NaN. Every replacement is recorded as a
``data_lake.registry.document.FieldFallback`` (field, reason, source, value), which
``trader params show`` lists. The trader's reader (trader/strategy/quoting_fields.py)
applies the same rules to any field still unusable when it loads the set.

Bounds (units as in docs/architecture.md §4):

=================================  ==========================================================
field                              bound
=================================  ==========================================================
hawkes_branching_ratio             0.95, just inside the gate's [0, 1) bound (near-critical
                                   flow); the decay, baselines and matrix stay None, so the
                                   quoter floors its live intensity ratio at 2 (a burst)
as_addon_bps and the curve         50 bps at every depth (the quoter's default half-spread
                                   clamp: the side quotes at the clamp); with an AS fit but
                                   no depth curve, the mean markout's upper 95 % limit
student_t_df                       2 (infinite variance: the quoter's largest tail factor)
vpin_toxicity                      1 (the sigma blend at its total-volatility end)
sigma per side / components        the largest sigma available for the day
kappa per side                     1e-3 per bps (the schema's floor: depth 1/kappa = 1000 bps)
A per side                         1e-3 fills/s (a small A makes the inventory term large)
microprice_fallback_to_mid         True (centre on the mid, the no-model centre)
funding_rate_per_hour              the day's last funding print, else 0 (no funding prints:
                                   a spot instrument)
=================================  ==========================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AS_ADDON_BOUND_BPS",
    "A_BOUND_PER_S",
    "HAWKES_BRANCHING_BOUND",
    "KAPPA_BOUND_PER_BPS",
    "STUDENT_T_DF_BOUND",
    "VPIN_TOXICITY_BOUND",
    "Fallbacks",
    "PreviousSet",
]

HAWKES_BRANCHING_BOUND = 0.95
"""Just inside the gate's ``[0, 1)``: near-critical, clustered flow."""
AS_ADDON_BOUND_BPS = 50.0
"""The quoter's default ``max_half_spread_bps``: an add-on this large quotes at the clamp."""
STUDENT_T_DF_BOUND = 2.0
"""Infinite variance: the quoter's largest fat-tail factor."""
VPIN_TOXICITY_BOUND = 1.0
"""Fully toxic flow: the sigma blend at its total-volatility (jumps included) end."""
KAPPA_BOUND_PER_BPS = 1e-3
"""The schema's floor: fills barely decay with depth, so the GLFT depth is at its widest."""
A_BOUND_PER_S = 1e-3
"""One fill per ~17 minutes at the touch: a small A makes the inventory term large."""


@dataclass(frozen=True)
class PreviousSet:
    """The symbol's last published set: its version and its quoting block (JSON view)."""

    version: str
    quoting: dict[str, Any]

    def usable(self, name: str) -> Any:
        """The published value of ``name`` when present and finite, else None."""
        value = self.quoting.get(name)
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return None
        return value


@dataclass
class Fallbacks:
    """Collects the fallbacks of one quoting block (see the module docstring)."""

    previous: PreviousSet | None = None
    items: list[dict[str, Any]] = field(default_factory=list)

    def take(self, name: str, reason: str, bound: Any, bound_source: str = "bound") -> Any:
        """The last published ``name`` if usable, else ``bound``; recorded either way."""
        last = None if self.previous is None else self.previous.usable(name)
        if last is not None and self.previous is not None:
            return self.record(name, reason, f"version {self.previous.version}", last)
        return self.record(name, reason, bound_source, bound)

    def record(self, name: str, reason: str, source: str, value: Any) -> Any:
        """Record that ``name`` took ``value`` from ``source`` because ``reason``."""
        self.items.append({"field": name, "reason": reason, "source": source, "value": value})
        return value

    def fields(self) -> list[str]:
        return [item["field"] for item in self.items]
