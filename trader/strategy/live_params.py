"""What the live inputs need from a param set: the Hawkes kernel, the reference sigma and
the regime settings, as a frozen dataclass and its packed slots.

The strategy reads its live inputs from the market state (the Hawkes intensity ratios,
the jump regime, the realised-vol scale; ``trader.market_state``), and
:mod:`trader.strategy.live_inputs` keeps those slots current from the events our side
sees, with the numbers held here. They ride at the end of the strategy's packed params
(``trader.strategy.params.P_LIVE_0``), so one vector swaps atomically on a hot reload
and the backtest and the live trader read the same numbers.

Units: intensities in events per second, decays per second, sigma in bps per
sqrt(second), times in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "LIVE_LEN",
    "L_HAWKES_BASE_BUY",
    "L_HAWKES_BASE_SELL",
    "L_HAWKES_DECAY",
    "L_HAWKES_K",
    "L_HAWKES_MU_BUY",
    "L_HAWKES_MU_SELL",
    "L_HAWKES_ON",
    "L_JUMP_HOLD_S",
    "L_JUMP_THRESHOLD",
    "L_RV_HALF_LIFE_S",
    "L_RV_ON",
    "L_RV_SAMPLE_S",
    "L_SCALE_CAP",
    "L_SCALE_FLOOR",
    "L_SIGMA_REF",
    "LiveInputs",
    "RegimeSettings",
    "live_from_quoting",
    "positive_float",
]

# Offsets from trader.strategy.params.P_LIVE_0.
L_HAWKES_ON = 0
"""1 when the Hawkes kernel below is usable."""
L_HAWKES_MU_BUY = 1
"""Baseline intensity of buyer-initiated trades, 1/s."""
L_HAWKES_MU_SELL = 2
L_HAWKES_K = 3
"""Branching matrix row-major, 4 slots: ``K[i, j]`` = type-i events triggered per type-j
event (0 buy, 1 sell), the integral of the kernel."""
L_HAWKES_DECAY = 7
"""Kernel decay, 1/s (the branching-weighted mean of the fitted decays)."""
L_HAWKES_BASE_BUY = 8
"""Stationary mean intensity ``((I - K)^-1 mu)_buy``, 1/s: the ratio's denominator."""
L_HAWKES_BASE_SELL = 9
L_RV_ON = 10
"""1 when the reference sigma is usable (the realised-vol scale and the jump regime)."""
L_SIGMA_REF = 11
"""Calibrated diffusive sigma, bps per sqrt(s): the scale's denominator and the jump unit."""
L_RV_SAMPLE_S = 12
"""Shortest interval between two mid samples of the realised-vol filter, s."""
L_RV_HALF_LIFE_S = 13
"""Half-life of the realised-variance EWMA, s."""
L_SCALE_FLOOR = 14
L_SCALE_CAP = 15
L_JUMP_THRESHOLD = 16
"""A sampled return beyond this many reference sigmas over its interval is a jump."""
L_JUMP_HOLD_S = 17
"""The jump regime lasts this long after the last jump return, s."""
LIVE_LEN = 18


@dataclass(frozen=True)
class RegimeSettings:
    """The trader's settings of the live realised-vol and jump filters.

    Attributes
    ----------
    rv_sample_s : float
        Shortest interval between mid samples, seconds (> 0): longer than the book's
        flicker, so bid-ask bounce does not read as volatility.
    rv_half_life_s : float
        Half-life of the realised-variance EWMA, seconds (> 0).
    sigma_scale_floor, sigma_scale_cap : float
        Bounds of live sigma over the calibrated one. The floor defaults to 1: a quiet
        market never narrows the quotes below what the calibration priced.
    jump_threshold_sigmas : float
        A sampled return beyond this many calibrated sigmas (over its interval) is a jump.
    jump_hold_s : float
        The jump regime lasts this long after the last jump return, seconds.
    live_vpin : bool
        Re-weight the published sigma blend by live VPIN (:mod:`trader.strategy.vpin_live`),
        within the same floor and cap.
    """

    rv_sample_s: float = 5.0
    rv_half_life_s: float = 300.0
    sigma_scale_floor: float = 1.0
    sigma_scale_cap: float = 3.0
    jump_threshold_sigmas: float = 6.0
    jump_hold_s: float = 30.0
    live_vpin: bool = True

    def __post_init__(self) -> None:
        for name in ("rv_sample_s", "rv_half_life_s", "jump_threshold_sigmas", "jump_hold_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"{name} must be finite and > 0, got {value!r}")
        if not (0.0 < self.sigma_scale_floor <= self.sigma_scale_cap < math.inf):
            raise ValueError(
                "need 0 < sigma_scale_floor <= sigma_scale_cap < inf, got "
                f"{self.sigma_scale_floor!r}, {self.sigma_scale_cap!r}"
            )


@dataclass(frozen=True)
class LiveInputs:
    """The calibrated numbers behind the live inputs; None fields switch a filter off.

    Attributes
    ----------
    hawkes_mu_per_s : tuple of float or None
        ``(buy, sell)`` baseline intensities, 1/s.
    hawkes_branching : tuple of tuple of float or None
        2 x 2 branching matrix, ``[i][j]`` = type-i events per type-j event.
    hawkes_decay_per_s : float or None
        Kernel decay, 1/s.
    sigma_ref_bps_per_sqrt_s : float or None
        Calibrated diffusive sigma, bps per sqrt(s).
    regime : RegimeSettings
    """

    hawkes_mu_per_s: tuple[float, float] | None = None
    hawkes_branching: tuple[tuple[float, float], tuple[float, float]] | None = None
    hawkes_decay_per_s: float | None = None
    sigma_ref_bps_per_sqrt_s: float | None = None
    regime: RegimeSettings = RegimeSettings()

    @property
    def hawkes_on(self) -> bool:
        return (
            self.hawkes_mu_per_s is not None
            and self.hawkes_branching is not None
            and self.hawkes_decay_per_s is not None
        )

    def hawkes_baseline(self) -> tuple[float, float]:
        """Stationary mean intensities ``(I - K)^-1 mu``, 1/s (the calm level)."""
        assert self.hawkes_mu_per_s is not None and self.hawkes_branching is not None
        k = np.asarray(self.hawkes_branching, float)
        base = np.linalg.solve(np.eye(2) - k, np.asarray(self.hawkes_mu_per_s, float))
        return float(base[0]), float(base[1])

    def pack(self) -> np.ndarray:
        """The ``LIVE_LEN`` slots appended to the strategy's packed params."""
        out = np.full(LIVE_LEN, np.nan)
        out[L_HAWKES_ON] = 0.0
        if self.hawkes_on:
            assert self.hawkes_mu_per_s is not None and self.hawkes_branching is not None
            out[L_HAWKES_ON] = 1.0
            out[L_HAWKES_MU_BUY], out[L_HAWKES_MU_SELL] = self.hawkes_mu_per_s
            out[L_HAWKES_K : L_HAWKES_K + 4] = np.asarray(self.hawkes_branching, float).ravel()
            out[L_HAWKES_DECAY] = self.hawkes_decay_per_s
            out[L_HAWKES_BASE_BUY], out[L_HAWKES_BASE_SELL] = self.hawkes_baseline()
        out[L_RV_ON] = 0.0 if self.sigma_ref_bps_per_sqrt_s is None else 1.0
        out[L_SIGMA_REF] = self.sigma_ref_bps_per_sqrt_s or math.nan
        r = self.regime
        out[L_RV_SAMPLE_S] = r.rv_sample_s
        out[L_RV_HALF_LIFE_S] = r.rv_half_life_s
        out[L_SCALE_FLOOR] = r.sigma_scale_floor
        out[L_SCALE_CAP] = r.sigma_scale_cap
        out[L_JUMP_THRESHOLD] = r.jump_threshold_sigmas
        out[L_JUMP_HOLD_S] = r.jump_hold_s
        return out


def positive_float(raw: Any) -> float | None:
    """``raw`` as a float when it is a finite number > 0 (not a bool), else None."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    value = float(raw)
    return value if math.isfinite(value) and value > 0.0 else None


def _hawkes(quoting: Mapping[str, Any]) -> tuple[Any, Any, float | None]:
    """The bivariate kernel when every part is usable and stationary, else Nones."""
    mu_raw, k_raw = quoting.get("hawkes_mu_per_s"), quoting.get("hawkes_branching_matrix")
    decay = positive_float(quoting.get("hawkes_decay_per_s"))
    none = (None, None, None)
    if decay is None or not isinstance(mu_raw, Sequence) or not isinstance(k_raw, Sequence):
        return none
    mu = [positive_float(v) for v in mu_raw]
    if len(mu) != 2 or any(v is None for v in mu):
        return none
    try:
        k = np.asarray(k_raw, dtype=float)
    except (TypeError, ValueError):
        return none
    if k.shape != (2, 2) or not np.all(np.isfinite(k)) or np.any(k < 0.0):
        return none
    if float(np.max(np.abs(np.linalg.eigvals(k)))) >= 1.0:
        return none  # explosive: no stationary baseline to compare with
    branching = ((float(k[0, 0]), float(k[0, 1])), (float(k[1, 0]), float(k[1, 1])))
    return (mu[0], mu[1]), branching, decay


def live_from_quoting(
    quoting: Mapping[str, Any], regime: RegimeSettings | None = None
) -> LiveInputs:
    """The live inputs' numbers from a param set's quoting block.

    A missing or unusable Hawkes kernel switches the live intensity off (the quoting
    block's reader already floors the ratio at its fallback, so that widens); the
    reference sigma is the jump-robust diffusive sigma when published, else the smaller
    of the per-side sigmas (the jump unit stays strict, and a larger live/calibrated
    ratio can only widen).
    """
    mu, branching, decay = _hawkes(quoting)
    sigma = positive_float(quoting.get("sigma_diffusion_bps_per_sqrt_s"))
    if sigma is None:
        keys = ("sigma_bid_bps_per_sqrt_s", "sigma_ask_bps_per_sqrt_s", "sigma_bps_per_sqrt_s")
        sides = [positive_float(quoting.get(k)) for k in keys]
        usable = [s for s in sides if s is not None]
        sigma = min(usable) if usable else None
    return LiveInputs(
        hawkes_mu_per_s=mu,
        hawkes_branching=branching,
        hawkes_decay_per_s=decay,
        sigma_ref_bps_per_sqrt_s=sigma,
        regime=regime or RegimeSettings(),
    )
