"""Hour-of-week volume profile: sufficient statistics, fallbacks, expected volume.

The profile tells a market maker how much volume to expect over the next minutes, so
volume-time bars and VPIN buckets keep a constant *fraction of the session's* volume
instead of a fixed size that is too big at 03:00 and too small at the US open. It is
warm-started from prior days (sufficient statistics merge, with forgetting). Times are ns
UTC, volumes in base units, rates in base units per hour. Re-exported by
:mod:`calibration.clock.volume_clock`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from calibration.common.checks import sorted_ns
from calibration.errors import CalibrationError
from calibration.types import Float64Array

__all__ = [
    "EPOCH_HOUR_OF_WEEK",
    "HOURS_PER_WEEK",
    "VolumeProfile",
    "check_sizes",
    "check_ts",
    "hour_of_week",
    "volume_profile",
]

HOURS_PER_WEEK = 168
_NS_PER_HOUR = 3_600_000_000_000
# 1970-01-01 was a Thursday; bin 0 is Monday 00:00-01:00 UTC.
EPOCH_HOUR_OF_WEEK = 3 * 24


def hour_of_week(ts_ns: Any) -> Any:
    """Hour-of-week bin (0 = Monday 00:00-01:00 UTC, 167 = Sunday 23:00) of ns timestamps."""
    return (np.floor_divide(ts_ns, _NS_PER_HOUR) + EPOCH_HOUR_OF_WEEK) % HOURS_PER_WEEK


@dataclass(frozen=True)
class VolumeProfile:
    """Hour-of-week volume profile held as sufficient statistics (168 bins, UTC).

    Attributes
    ----------
    volume : tuple of float
        Traded volume (base units) seen in each hour-of-week bin.
    exposure_hours : tuple of float
        Hours of observation window that fell into each bin (hours, possibly partial).
    n_trades : tuple of float
        Trades seen in each bin (effective count after forgetting in ``merged``).
    min_exposure_hours : float
        A bin with less exposure than this uses its hour-of-day average over all
        weekdays; an hour of day with too little exposure uses the overall average.

    Notes
    -----
    The rate of bin b is ``volume[b] / exposure_hours[b]`` (base units per hour).
    Merging two profiles adds their statistics, so a profile built from 30 prior days and
    updated with today's trades is the same as one built from all 31 days at once.
    """

    volume: tuple[float, ...]
    exposure_hours: tuple[float, ...]
    n_trades: tuple[float, ...]
    min_exposure_hours: float = 1.0

    def __post_init__(self) -> None:
        for name in ("volume", "exposure_hours", "n_trades"):
            values = np.asarray(getattr(self, name), dtype=np.float64)
            if values.shape != (HOURS_PER_WEEK,):
                raise CalibrationError(
                    f"{name} must have {HOURS_PER_WEEK} bins, got {values.shape}"
                )
            if not np.all(np.isfinite(values)) or np.any(values < 0):
                raise CalibrationError(f"{name} must be finite and non-negative")
        if sum(self.exposure_hours) <= 0:
            raise CalibrationError("profile has no observation time (exposure is zero)")
        if not self.min_exposure_hours > 0:
            raise CalibrationError("min_exposure_hours must be > 0")

    @property
    def total_exposure_hours(self) -> float:
        """Hours of history behind the profile."""
        return float(sum(self.exposure_hours))

    @property
    def n_obs(self) -> int:
        """Trades behind the profile (effective, rounded)."""
        return round(sum(self.n_trades))

    def _arrays(self) -> tuple[Float64Array, Float64Array]:
        return np.asarray(self.volume, np.float64), np.asarray(self.exposure_hours, np.float64)

    def _rates_and_source(self) -> tuple[Float64Array, list[str]]:
        volume, exposure = self._arrays()
        overall = volume.sum() / exposure.sum()
        day_volume = volume.reshape(7, 24).sum(axis=0)
        day_exposure = exposure.reshape(7, 24).sum(axis=0)
        rates = np.empty(HOURS_PER_WEEK)
        source: list[str] = []
        for b in range(HOURS_PER_WEEK):
            h = b % 24
            if exposure[b] >= self.min_exposure_hours:
                rates[b], src = volume[b] / exposure[b], "week"
            elif day_exposure[h] >= self.min_exposure_hours:
                rates[b], src = day_volume[h] / day_exposure[h], "day"
            else:
                rates[b], src = overall, "all"
            source.append(src)
        return rates, source

    @property
    def rate_per_hour(self) -> Float64Array:
        """Expected volume per hour in each bin (base units / hour), with fallbacks applied."""
        return self._rates_and_source()[0]

    @property
    def source(self) -> list[str]:
        """Per bin: 'week' (own bin), 'day' (hour-of-day fallback) or 'all' (overall mean)."""
        return self._rates_and_source()[1]

    @property
    def shares(self) -> Float64Array:
        """Share of a week's expected volume traded in each bin (sums to 1)."""
        rates = self.rate_per_hour
        total = rates.sum()
        return rates / total if total > 0 else np.full(HOURS_PER_WEEK, 1.0 / HOURS_PER_WEEK)

    @property
    def hour_of_day_shares(self) -> Float64Array:
        """Share of a day's expected volume traded in each UTC hour (24 bins, sums to 1)."""
        rates = self.rate_per_hour.reshape(7, 24).mean(axis=0)
        total = rates.sum()
        return rates / total if total > 0 else np.full(24, 1.0 / 24)

    @property
    def seasonality_pvalue(self) -> float | None:
        """Chi-square p-value of 'trade counts are flat over the hours of the day'.

        Trades cluster (self-excitation), so counts are over-dispersed against Poisson and
        this p-value is too small; read it as a diagnostic, not a test. None when fewer
        than two hours of the day have been observed or there are no trades.
        """
        counts = np.asarray(self.n_trades).reshape(7, 24).sum(axis=0)
        exposure = self._arrays()[1].reshape(7, 24).sum(axis=0)
        seen = exposure > 0
        if seen.sum() < 2 or counts.sum() <= 0:
            return None
        expected = counts[seen].sum() * exposure[seen] / exposure[seen].sum()
        chi2 = float(np.sum((counts[seen] - expected) ** 2 / expected))
        return float(stats.chi2.sf(chi2, df=int(seen.sum()) - 1))

    def cumulative_volume(self, ts_ns: Any) -> Float64Array:
        """Expected volume traded from an arbitrary origin to each ``ts_ns`` (base units).

        Differences of this function are expected volumes over intervals; it is vectorised
        so sizing thousands of buckets costs one call.
        """
        rates = self.rate_per_hour
        before_bin = np.r_[0.0, np.cumsum(rates)[:-1]]
        ts = np.asarray(ts_ns, dtype=np.int64)
        hours, rest = np.divmod(ts, _NS_PER_HOUR)
        weeks, bins = np.divmod(hours + EPOCH_HOUR_OF_WEEK, HOURS_PER_WEEK)
        return np.asarray(
            weeks * rates.sum() + before_bin[bins] + rates[bins] * (rest / _NS_PER_HOUR),
            dtype=np.float64,
        )

    def expected_volume(self, start_ns: int, horizon_s: float) -> float:
        """Expected volume (base units) traded in ``[start_ns, start_ns + horizon_s)``."""
        if not horizon_s > 0:
            raise CalibrationError(f"horizon_s must be > 0, got {horizon_s}")
        end_ns = int(start_ns) + round(horizon_s * 1e9)
        lo, hi = self.cumulative_volume(np.array([int(start_ns), end_ns]))
        return float(hi - lo)

    def bucket_volume(self, ts_ns: int, *, frac: float = 0.1, horizon_s: float = 3600.0) -> float:
        """Session-aware volume-bucket size: ``frac`` of the volume expected over the horizon.

        With the defaults a bucket holds a tenth of the volume expected in the next hour,
        so there are about ten buckets per hour whatever the session.
        """
        if not frac > 0:
            raise CalibrationError(f"frac must be > 0, got {frac}")
        return frac * self.expected_volume(ts_ns, horizon_s)

    def merged(self, new: VolumeProfile, *, prior_weight: float = 1.0) -> VolumeProfile:
        """Warm start: this profile's statistics times ``prior_weight`` plus ``new``'s.

        ``prior_weight`` < 1 forgets old days geometrically (e.g. 0.97 applied once a day
        halves a day's weight in about 23 days).
        """
        if not 0 <= prior_weight <= 1:
            raise CalibrationError(f"prior_weight must be in [0, 1], got {prior_weight}")
        return VolumeProfile(
            volume=tuple(
                prior_weight * a + b for a, b in zip(self.volume, new.volume, strict=True)
            ),
            exposure_hours=tuple(
                prior_weight * a + b
                for a, b in zip(self.exposure_hours, new.exposure_hours, strict=True)
            ),
            n_trades=tuple(
                prior_weight * a + b for a, b in zip(self.n_trades, new.n_trades, strict=True)
            ),
            min_exposure_hours=new.min_exposure_hours,
        )

    def scaled(self, factor: float) -> VolumeProfile:
        """The same profile with volumes multiplied by ``factor`` (shares unchanged)."""
        if not (np.isfinite(factor) and factor > 0):
            raise CalibrationError(f"scale factor must be finite and > 0, got {factor}")
        return VolumeProfile(
            volume=tuple(factor * v for v in self.volume),
            exposure_hours=self.exposure_hours,
            n_trades=self.n_trades,
            min_exposure_hours=self.min_exposure_hours,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary and statistics (volumes in base units, rates per hour)."""
        rates, source = self._rates_and_source()
        return {
            "volume": [float(v) for v in self.volume],
            "exposure_hours": [float(v) for v in self.exposure_hours],
            "n_trades": [float(v) for v in self.n_trades],
            "rate_per_hour": [float(v) for v in rates],
            "shares": [float(v) for v in self.shares],
            "hour_of_day_shares": [float(v) for v in self.hour_of_day_shares],
            "source": source,
            "min_exposure_hours": float(self.min_exposure_hours),
            "total_exposure_hours": self.total_exposure_hours,
            "n_obs": self.n_obs,
            "seasonality_pvalue": self.seasonality_pvalue,
        }


def check_ts(ts_ns: Any, name: str = "ts_ns") -> np.ndarray:
    return sorted_ns(name, ts_ns, allow_empty=True)


def check_sizes(size: Any, n: int, name: str = "size") -> Float64Array:
    sizes = np.asarray(size, dtype=np.float64)
    if sizes.shape != (n,):
        raise CalibrationError(f"{name} must have shape ({n},), got {sizes.shape}")
    if not np.all(np.isfinite(sizes)) or np.any(sizes < 0):
        idx = int(np.flatnonzero(~np.isfinite(sizes) | (sizes < 0))[0])
        raise CalibrationError(f"{name} must be finite and >= 0; first violation at index {idx}")
    return sizes


def volume_profile(
    ts_ns: Any,
    size: Any,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
    prior: VolumeProfile | None = None,
    prior_weight: float = 1.0,
    min_exposure_hours: float = 1.0,
) -> VolumeProfile:
    """Build (or warm-update) the hour-of-week volume profile from trades.

    Parameters
    ----------
    ts_ns : array of int64
        Trade times, ns UTC, sorted.
    size : array of float
        Trade sizes, base units, >= 0.
    start_ns, end_ns : int, optional
        Observation window (ns UTC). Hours without trades inside it count as quiet hours;
        defaults to the first and last trade.
    prior : VolumeProfile, optional
        Profile from earlier days; its statistics are weighted by ``prior_weight`` and added
        (see ``VolumeProfile.merged``), so the result is never a cold start.
    prior_weight : float
        Weight in [0, 1] of the prior's statistics.
    min_exposure_hours : float
        Exposure below which a bin falls back to its hour-of-day average.

    Returns
    -------
    VolumeProfile
    """
    ts = check_ts(ts_ns)
    sizes = check_sizes(size, ts.size)
    if (start_ns is None or end_ns is None) and ts.size == 0:
        raise CalibrationError("no trades and no observation window: nothing to profile")
    lo = int(ts[0]) if start_ns is None else int(start_ns)
    hi = int(ts[-1]) if end_ns is None else int(end_ns)
    if hi <= lo:
        raise CalibrationError(f"observation window is empty: start_ns={lo}, end_ns={hi}")
    if ts.size and (ts[0] < lo or ts[-1] > hi):
        raise CalibrationError("trades fall outside the observation window [start_ns, end_ns]")

    hours = np.arange(lo // _NS_PER_HOUR, (hi - 1) // _NS_PER_HOUR + 1)
    covered = (
        np.minimum((hours + 1) * _NS_PER_HOUR, hi) - np.maximum(hours * _NS_PER_HOUR, lo)
    ) / _NS_PER_HOUR
    exposure = np.bincount(
        hour_of_week(hours * _NS_PER_HOUR), weights=covered, minlength=HOURS_PER_WEEK
    )
    bins = hour_of_week(ts)
    volume = np.bincount(bins, weights=sizes, minlength=HOURS_PER_WEEK)
    counts = np.bincount(bins, minlength=HOURS_PER_WEEK).astype(np.float64)
    profile = VolumeProfile(
        volume=tuple(float(v) for v in volume),
        exposure_hours=tuple(float(v) for v in exposure),
        n_trades=tuple(float(v) for v in counts),
        min_exposure_hours=min_exposure_hours,
    )
    return profile if prior is None else prior.merged(profile, prior_weight=prior_weight)
