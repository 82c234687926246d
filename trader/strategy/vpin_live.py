"""Live VPIN on a volume clock seeded from the published hour-of-week profile, and the
sigma blend it chooses.

The calibration prices each side's sigma as a blend of the diffusive and the jump
variance, weighted by the day's jump share and by flow toxicity, VPIN at the window's
end (:func:`calibration.volatility.sigma.sigma_effective`)::

    w = 1 - (1 - min(1, s / s_sat)) (1 - VPIN)
    sigma_side^2 = clean^2 + w (side^2 - clean^2)+

Live, the same blend is recomputed with the VPIN of the flow we see, so toxic flow moves
the quotes towards the jump-inclusive sigma as it happens:

- **Volume clock.** Trades fill volume buckets; a bucket holds a fixed fraction of the
  volume the published hour-of-week profile expects over the next hour from the
  bucket's start (``VolumeProfile.bucket_volume``), scaled so that a bucket at the
  calibrated day's average rate holds ``volume_bucket_size``. The clock thus ticks
  faster in busy sessions, as the fit's buckets did. Without a usable profile the
  bucket is ``volume_bucket_size`` throughout.
- **VPIN** is ``sum |V_buy - V_sell| / sum V`` over the last ``window`` buckets
  (:func:`calibration.clock.vpin.vpin`); a trade larger than the room left in a bucket
  is split across buckets in proportion, as the fit splits it.
- **Seeded.** Before the first live bucket the ring holds ``window`` buckets of
  ``volume_bucket_size`` at the published VPIN, so the blend starts exactly at the
  published sigmas and live buckets replace the seed one by one.
- **Sigma scales.** ``S_VPIN_SCALE_{BID,ASK}`` are the live blend over the published
  one, held within the regime settings' ``[floor, cap]`` (floor 1 by default: calm flow
  never narrows the quotes below what the calibration priced).

The published per-side jump variances are recovered from the published blend:
``(side^2 - clean^2)+ = (sigma_side^2 - clean^2) / w_published``.

Units: volumes in base units, sigmas in bps per sqrt(second), times in seconds since
the epoch, VPIN dimensionless in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from calibration.clock.week_profile import EPOCH_HOUR_OF_WEEK, HOURS_PER_WEEK
from calibration.volatility.sigma import JUMP_SHARE_SATURATION
from trader.market_state import (
    S_VP_BUCKET_BUY,
    S_VP_BUCKET_VOL,
    S_VP_HEAD,
    S_VP_IMB_0,
    S_VP_TARGET,
    S_VP_VOL_0,
    S_VPIN,
    S_VPIN_SCALE_ASK,
    S_VPIN_SCALE_BID,
    VPIN_MAX_WINDOW,
)
from trader.strategy.live_params import positive_float

__all__ = [
    "VPIN_LEN",
    "VpinLive",
    "vpin_live_from",
    "vpin_observe_trade",
]

# Offsets from trader.strategy.params.P_VPIN_0.
V_ON = 0
"""1 when live VPIN drives the sigma blend."""
V_WINDOW = 1
"""Buckets per VPIN value."""
V_BUCKET = 2
"""Bucket volume at the calibrated day's average rate, base units."""
V_PROFILE_ON = 3
"""1 when buckets are sized by the hour-of-week profile."""
V_PROFILE_FRAC = 4
"""Bucket = this fraction of the profile's expected volume over the next hour."""
V_TOX_SEED = 5
"""Published VPIN (at the calibration window's end): the seed of the ring."""
V_CLEAN2 = 6
"""Diffusive variance, bps^2 per second."""
V_SHARE_W = 7
"""``min(1, jump share / saturation)``: the jump weight at zero toxicity."""
V_JUMP_BID = 8
"""Downside jump variance ``(down^2 - clean^2)+``, bps^2 per second."""
V_JUMP_ASK = 9
V_SIGMA_BID_REF = 10
"""Published bid sigma (the blend at the seed VPIN), bps per sqrt(s)."""
V_SIGMA_ASK_REF = 11
V_FLOOR = 12
V_CAP = 13
V_RATE_0 = 14
"""First of the profile's 168 hourly rates, base units per hour (Monday 00:00 UTC first)."""
VPIN_LEN = V_RATE_0 + HOURS_PER_WEEK

_DEFAULT_WINDOW = 50  # calibration.clock.vpin.vpin's default, the paper's


@dataclass(frozen=True)
class VpinLive:
    """What live VPIN needs from a param set; ``off_reason`` set means off (neutral).

    Attributes
    ----------
    window : int
        Buckets per VPIN value (1 to ``VPIN_MAX_WINDOW``).
    bucket_volume : float
        Bucket size at the calibrated day's average rate, base units.
    rate_per_hour : tuple of float
        Hour-of-week expected volume, base units per hour (168; empty: fixed buckets).
    profile_frac : float
        Bucket = ``profile_frac`` x the profile's expected volume over the next hour.
    seed_vpin : float
        Published VPIN, in [0, 1].
    sigma_clean, sigma_bid, sigma_ask : float
        Published diffusive and per-side blended sigmas, bps per sqrt(s).
    share_weight : float
        ``min(1, jump share / JUMP_SHARE_SATURATION)``.
    jump_var_bid, jump_var_ask : float
        Per-side jump variances, bps^2 per second.
    floor, cap : float
        Bounds of the live blend over the published one.
    """

    window: int = _DEFAULT_WINDOW
    bucket_volume: float = math.nan
    rate_per_hour: tuple[float, ...] = ()
    profile_frac: float = math.nan
    seed_vpin: float = math.nan
    sigma_clean: float = math.nan
    sigma_bid: float = math.nan
    sigma_ask: float = math.nan
    share_weight: float = math.nan
    jump_var_bid: float = math.nan
    jump_var_ask: float = math.nan
    floor: float = 1.0
    cap: float = 3.0
    off_reason: str | None = "not configured"

    @property
    def on(self) -> bool:
        return self.off_reason is None

    def pack(self) -> np.ndarray:
        """The ``VPIN_LEN`` slots appended to the strategy's packed params."""
        out = np.full(VPIN_LEN, np.nan)
        out[V_ON] = 1.0 if self.on else 0.0
        out[V_WINDOW] = self.window
        out[V_BUCKET] = self.bucket_volume
        profile = len(self.rate_per_hour) == HOURS_PER_WEEK
        out[V_PROFILE_ON] = 1.0 if profile else 0.0
        out[V_PROFILE_FRAC] = self.profile_frac
        out[V_TOX_SEED] = self.seed_vpin
        out[V_CLEAN2] = self.sigma_clean**2
        out[V_SHARE_W] = self.share_weight
        out[V_JUMP_BID] = self.jump_var_bid
        out[V_JUMP_ASK] = self.jump_var_ask
        out[V_SIGMA_BID_REF] = self.sigma_bid
        out[V_SIGMA_ASK_REF] = self.sigma_ask
        out[V_FLOOR] = self.floor
        out[V_CAP] = self.cap
        if profile:
            out[V_RATE_0:] = self.rate_per_hour
        return out


def _profile_rates(models: Mapping[str, Any]) -> tuple[float, ...]:
    """The profile the calibration chose (own or borrowed), else its own; () if unusable."""
    choice = models.get("volume_profile_choice")
    candidates = []
    if isinstance(choice, Mapping) and isinstance(choice.get("profile"), Mapping):
        candidates.append(choice["profile"])
    if isinstance(models.get("volume_profile"), Mapping):
        candidates.append(models["volume_profile"])
    for profile in candidates:
        raw = profile.get("rate_per_hour")
        try:
            rates = np.asarray(raw, dtype=float)
        except (TypeError, ValueError):
            continue
        if (
            rates.shape == (HOURS_PER_WEEK,)
            and np.all(np.isfinite(rates))
            and np.all(rates >= 0.0)
            and rates.sum() > 0.0
        ):
            return tuple(float(r) for r in rates)
    return ()


def _expected_day_volume(rates: tuple[float, ...], end_ns: int) -> float:
    """Expected volume over the 24 hours before ``end_ns`` under the profile, base units."""
    r = np.asarray(rates)
    cum = np.r_[0.0, np.cumsum(np.r_[r, r])]

    def at(ts_ns: int) -> float:
        hours, rest = divmod(ts_ns, 3_600_000_000_000)
        b = (hours + EPOCH_HOUR_OF_WEEK) % HOURS_PER_WEEK
        return float(cum[b] + r[b] * rest / 3_600_000_000_000)

    start = at(end_ns - 24 * 3_600_000_000_000)
    end = at(end_ns)
    # The day wraps the week at most once: add a week's volume when it does.
    return end - start if end >= start else end + float(r.sum()) - start


def vpin_live_from(
    quoting: Mapping[str, Any],
    models: Mapping[str, Any],
    window_end_ns: int | None,
    *,
    floor: float = 1.0,
    cap: float = 3.0,
) -> VpinLive:
    """Live VPIN's numbers from a param set (its quoting block, models and window end).

    Off (``off_reason`` says why) when the bucket size, the published VPIN or any of the
    sigmas the blend is recovered from is missing: the quotes then keep the published
    blend. A missing or degenerate profile keeps VPIN on with fixed buckets.
    """
    bucket = positive_float(quoting.get("volume_bucket_size"))
    raw_tox = quoting.get("vpin_toxicity")
    tox = (
        float(raw_tox)
        if isinstance(raw_tox, int | float) and not isinstance(raw_tox, bool)
        else math.nan
    )
    sigmas = {
        k: positive_float(quoting.get(f"sigma_{k}_bps_per_sqrt_s"))
        for k in ("diffusion", "total", "bid", "ask")
    }
    vpin_model = models.get("vpin")
    window = _DEFAULT_WINDOW
    if isinstance(vpin_model, Mapping):
        raw = vpin_model.get("window")
        if isinstance(raw, int) and not isinstance(raw, bool):
            window = raw
    reason = None
    if bucket is None:
        reason = "no volume_bucket_size"
    elif not 0.0 <= tox <= 1.0:
        reason = "no published vpin_toxicity in [0, 1]"
    elif any(v is None for v in sigmas.values()):
        missing = [k for k, v in sigmas.items() if v is None]
        reason = f"sigma blend not published ({', '.join(missing)})"
    elif not 1 <= window <= VPIN_MAX_WINDOW:
        reason = f"vpin window {window} outside [1, {VPIN_MAX_WINDOW}]"
    if reason is not None:
        return VpinLive(floor=floor, cap=cap, off_reason=reason)
    assert bucket is not None
    clean, total = sigmas["diffusion"], sigmas["total"]
    bid, ask = sigmas["bid"], sigmas["ask"]
    assert clean is not None and total is not None and bid is not None and ask is not None
    clean2, total2 = clean * clean, total * total
    share = min(max(1.0 - clean2 / total2, 0.0), 1.0)
    share_w = min(1.0, share / JUMP_SHARE_SATURATION)
    w_pub = 1.0 - (1.0 - share_w) * (1.0 - tox)
    if w_pub > 1e-12:
        jump_bid = max(bid * bid - clean2, 0.0) / w_pub
        jump_ask = max(ask * ask - clean2, 0.0) / w_pub
    else:  # the published blend carries no jump part to recover: the symmetric one
        jump_bid = jump_ask = max(total2 - clean2, 0.0)
    rates = _profile_rates(models)
    frac = math.nan
    if rates and window_end_ns is not None:
        day = _expected_day_volume(rates, int(window_end_ns))
        frac = bucket * 24.0 / day if day > 0.0 else math.nan
    if not math.isfinite(frac):
        rates = ()
    return VpinLive(
        window=window,
        bucket_volume=bucket,
        rate_per_hour=rates,
        profile_frac=frac,
        seed_vpin=tox,
        sigma_clean=clean,
        sigma_bid=bid,
        sigma_ask=ask,
        share_weight=share_w,
        jump_var_bid=jump_bid,
        jump_var_ask=jump_ask,
        floor=floor,
        cap=cap,
        off_reason=None,
    )


@njit(cache=True, inline="always")
def _bucket_target(params: np.ndarray, base: int, t_s: float) -> float:
    """Volume of a bucket starting at ``t_s``, base units (the profile's, else fixed)."""
    if params[base + V_PROFILE_ON] == 1.0:
        hours = t_s / 3600.0
        h = math.floor(hours)
        into = hours - h
        b = int((h + EPOCH_HOUR_OF_WEEK) % HOURS_PER_WEEK)
        nxt = (b + 1) % HOURS_PER_WEEK
        # Expected volume over [t, t + 1 h): the rest of this hour and the start of the next.
        expected = params[base + V_RATE_0 + b] * (1.0 - into) + params[base + V_RATE_0 + nxt] * into
        target = params[base + V_PROFILE_FRAC] * expected
        if target > 0.0:
            return target
    return params[base + V_BUCKET]


@njit(cache=True, inline="always")
def _write_scales(state: np.ndarray, params: np.ndarray, base: int, window: int) -> None:
    imb = 0.0
    vol = 0.0
    for i in range(window):
        imb += state[S_VP_IMB_0 + i]
        vol += state[S_VP_VOL_0 + i]
    v = min(max(imb / vol, 0.0), 1.0) if vol > 0.0 else params[base + V_TOX_SEED]
    state[S_VPIN] = v
    w = 1.0 - (1.0 - params[base + V_SHARE_W]) * (1.0 - v)
    clean2 = params[base + V_CLEAN2]
    lo, hi = params[base + V_FLOOR], params[base + V_CAP]
    bid = math.sqrt(clean2 + w * params[base + V_JUMP_BID]) / params[base + V_SIGMA_BID_REF]
    ask = math.sqrt(clean2 + w * params[base + V_JUMP_ASK]) / params[base + V_SIGMA_ASK_REF]
    state[S_VPIN_SCALE_BID] = min(max(bid, lo), hi)
    state[S_VPIN_SCALE_ASK] = min(max(ask, lo), hi)


@njit(cache=True, inline="always")
def _seed(state: np.ndarray, params: np.ndarray, base: int, window: int, t_s: float) -> None:
    bucket = params[base + V_BUCKET]
    for i in range(VPIN_MAX_WINDOW):
        on = i < window
        state[S_VP_VOL_0 + i] = bucket if on else 0.0
        state[S_VP_IMB_0 + i] = params[base + V_TOX_SEED] * bucket if on else 0.0
    state[S_VP_HEAD] = 0.0
    state[S_VP_BUCKET_VOL] = 0.0
    state[S_VP_BUCKET_BUY] = 0.0
    state[S_VP_TARGET] = _bucket_target(params, base, t_s)


@njit(cache=True)
def vpin_observe_trade(
    state: np.ndarray, params: np.ndarray, base: int, t_s: float, side: int, size: float
) -> None:
    """A trade reaches us (``side`` +1 buyer-initiated; ``size`` base units): fill the
    volume buckets, and on each completed bucket update VPIN and the sigma scales.
    ``base`` is ``P_VPIN_0``."""
    if params[base + V_ON] != 1.0 or not (size > 0.0 and math.isfinite(size)):
        return
    window = int(params[base + V_WINDOW])
    if not state[S_VP_TARGET] > 0.0:  # NaN: first trade (or after a swap that reset it)
        _seed(state, params, base, window, t_s)
        _write_scales(state, params, base, window)
    left = size
    closed = 0
    while left > 0.0:
        target = state[S_VP_TARGET]
        room = target - state[S_VP_BUCKET_VOL]
        if left < room:
            state[S_VP_BUCKET_VOL] += left
            if side > 0:
                state[S_VP_BUCKET_BUY] += left
            break
        if closed >= 2 * window:
            # One print spanning more buckets than the window fills it with one side:
            # the rest only moves the bucket boundary, so keep its remainder.
            left = left % target
            continue
        buy = state[S_VP_BUCKET_BUY] + (room if side > 0 else 0.0)
        head = int(state[S_VP_HEAD]) % window
        state[S_VP_IMB_0 + head] = abs(2.0 * buy - target)
        state[S_VP_VOL_0 + head] = target
        state[S_VP_HEAD] = (head + 1) % window
        state[S_VP_BUCKET_VOL] = 0.0
        state[S_VP_BUCKET_BUY] = 0.0
        state[S_VP_TARGET] = _bucket_target(params, base, t_s)
        left -= room
        closed += 1
        _write_scales(state, params, base, window)
