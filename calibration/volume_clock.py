"""Volume clock: hour-of-week volume profile, session-aware bucket size, VPIN.

The profile tells a market maker how much volume to expect over the next minutes, so
volume-time bars and VPIN buckets keep a constant *fraction of the session's* volume
instead of a fixed size that is too big at 03:00 and too small at the US open. It is
warm-started from prior days (sufficient statistics merge, with forgetting) and, for a
thin symbol, borrowed from the most correlated liquid symbol until its own history is
long enough.

References
----------
Easley, D., Lopez de Prado, M. M., O'Hara, M. (2012). Flow toxicity and liquidity in a
high-frequency world. Review of Financial Studies 25(5), 1457-1493.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from calibration.errors import CalibrationError
from calibration.types import Float64Array

__all__ = [
    "HOURS_PER_WEEK",
    "BorrowedProfile",
    "VPINResult",
    "VolumeProfile",
    "borrow_profile",
    "hour_of_week",
    "volume_profile",
    "vpin",
]

HOURS_PER_WEEK = 168
_NS_PER_HOUR = 3_600_000_000_000
# 1970-01-01 was a Thursday; bin 0 is Monday 00:00-01:00 UTC.
_EPOCH_HOUR_OF_WEEK = 3 * 24
# VPIN refuses sample/bucket combinations that would make absurdly many buckets.
_MAX_BUCKETS = 2_000_000


def hour_of_week(ts_ns: Any) -> Any:
    """Hour-of-week bin (0 = Monday 00:00-01:00 UTC, 167 = Sunday 23:00) of ns timestamps."""
    return (np.floor_divide(ts_ns, _NS_PER_HOUR) + _EPOCH_HOUR_OF_WEEK) % HOURS_PER_WEEK


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
        weeks, bins = np.divmod(hours + _EPOCH_HOUR_OF_WEEK, HOURS_PER_WEEK)
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


def _check_ts(ts_ns: Any, name: str = "ts_ns") -> np.ndarray:
    ts = np.asarray(ts_ns)
    if ts.ndim != 1:
        raise CalibrationError(f"{name} must be one-dimensional, got shape {ts.shape}")
    if ts.size and not np.issubdtype(ts.dtype, np.integer):
        raise CalibrationError(f"{name} must be integer nanoseconds, got dtype {ts.dtype}")
    ts = ts.astype(np.int64)
    bad = np.flatnonzero(np.diff(ts) < 0)
    if bad.size:
        raise CalibrationError(f"{name} must be sorted; first violation at index {bad[0] + 1}")
    return ts


def _check_sizes(size: Any, n: int, name: str = "size") -> Float64Array:
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
    ts = _check_ts(ts_ns)
    sizes = _check_sizes(size, ts.size)
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


@dataclass(frozen=True)
class BorrowedProfile:
    """The profile a symbol should use, and whose it is.

    Attributes
    ----------
    profile : VolumeProfile
        Own profile, or the donor's rescaled to this symbol's volume level.
    source_symbol : str or None
        Donor symbol, or None when the own profile is used.
    correlation : float or None
        Correlation with the donor (None when own).
    scale : float
        Volume multiplier applied to the donor (1.0 when own).
    own_exposure_hours : float
        Own history, hours.
    sufficient : bool
        Whether the returned profile rests on enough history (own or donor).
    reason : str
        Why this profile was chosen.
    """

    profile: VolumeProfile
    source_symbol: str | None
    correlation: float | None
    scale: float
    own_exposure_hours: float
    sufficient: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "profile": self.profile.to_dict(),
            "source_symbol": self.source_symbol,
            "correlation": self.correlation,
            "scale": float(self.scale),
            "own_exposure_hours": float(self.own_exposure_hours),
            "sufficient": self.sufficient,
            "reason": self.reason,
        }


def borrow_profile(
    own: VolumeProfile,
    candidates: Mapping[str, VolumeProfile],
    correlations: Mapping[str, float],
    *,
    min_history_hours: float = float(HOURS_PER_WEEK),
    min_correlation: float = 0.5,
) -> BorrowedProfile:
    """Use the own profile once it has enough history, else borrow a liquid neighbour's.

    Parameters
    ----------
    own : VolumeProfile
        The sparse symbol's profile (must contain some volume, to set the level).
    candidates : mapping of symbol -> VolumeProfile
        Liquid symbols' profiles.
    correlations : mapping of symbol -> float
        Return correlation of each candidate with the own symbol; candidates without an
        entry are ignored.
    min_history_hours : float
        Sufficiency threshold, hours of observation. The default (168 h, one week) is the
        least history in which every hour-of-week bin can have been seen once.
    min_correlation : float
        A donor must be at least this correlated with the own symbol.

    Returns
    -------
    BorrowedProfile
        The donor (highest correlation among sufficient candidates) with its volumes
        rescaled so that, over the hours the own symbol was observed, it predicts the
        own symbol's traded volume: ``scale = own volume / donor's expected volume``.
    """
    own_hours = own.total_exposure_hours
    if own_hours >= min_history_hours:
        return BorrowedProfile(
            profile=own,
            source_symbol=None,
            correlation=None,
            scale=1.0,
            own_exposure_hours=own_hours,
            sufficient=True,
            reason="own history sufficient",
        )
    eligible = [
        (float(correlations[sym]), sym)
        for sym, prof in candidates.items()
        if sym in correlations
        and np.isfinite(correlations[sym])
        and correlations[sym] >= min_correlation
        and prof.total_exposure_hours >= min_history_hours
    ]
    if not eligible:
        return BorrowedProfile(
            profile=own,
            source_symbol=None,
            correlation=None,
            scale=1.0,
            own_exposure_hours=own_hours,
            sufficient=False,
            reason=f"own history {own_hours:.1f} h < {min_history_hours:.1f} h and no "
            f"candidate with correlation >= {min_correlation} and enough history; own profile kept",
        )
    corr, donor = max(eligible)
    own_volume = float(sum(own.volume))
    donor_rates = candidates[donor].rate_per_hour
    predicted = float(np.dot(donor_rates, np.asarray(own.exposure_hours)))
    if own_volume <= 0 or predicted <= 0:
        raise CalibrationError(
            f"cannot scale {donor}'s profile: own volume {own_volume} and donor's expected "
            f"volume {predicted} over the own window must both be > 0"
        )
    scale = own_volume / predicted
    return BorrowedProfile(
        profile=candidates[donor].scaled(scale),
        source_symbol=donor,
        correlation=corr,
        scale=scale,
        own_exposure_hours=own_hours,
        sufficient=True,
        reason=f"own history {own_hours:.1f} h < {min_history_hours:.1f} h; borrowed {donor} "
        f"(correlation {corr:.2f}) scaled by {scale:.4g}",
    )


@dataclass(frozen=True)
class VPINResult:
    """VPIN over volume buckets (Easley, Lopez de Prado, O'Hara 2012).

    Attributes
    ----------
    vpin : tuple of float
        VPIN after each bucket once ``window`` buckets exist (dimensionless, in [0, 1]).
    bucket_end_ns : tuple of int
        Time (ns UTC) of the trade that completed each VPIN bucket.
    bucket_volumes : tuple of float
        Size of each bucket (base units); constant unless a profile sized them.
    latest : float
        Last VPIN value.
    latest_percentile : float
        Empirical CDF of the VPIN series at the latest value, in [0, 1].
    window : int
        Buckets per VPIN value.
    n_buckets : int
        Completed buckets.
    classification : str
        'side' (aggressor side given) or 'bvc' (bulk volume classification).
    n_obs : int
        Trades used.
    """

    vpin: tuple[float, ...]
    bucket_end_ns: tuple[int, ...]
    bucket_volumes: tuple[float, ...]
    latest: float
    latest_percentile: float
    window: int
    n_buckets: int
    classification: str
    n_obs: int

    def to_dict(self) -> dict[str, Any]:
        """Summary (the series itself stays on the object: it can be long)."""
        series = np.asarray(self.vpin)
        return {
            "latest": float(self.latest),
            "latest_percentile": float(self.latest_percentile),
            "mean": float(series.mean()),
            "p50": float(np.quantile(series, 0.5)),
            "p95": float(np.quantile(series, 0.95)),
            "window": self.window,
            "n_buckets": self.n_buckets,
            "mean_bucket_volume": float(np.mean(self.bucket_volumes)),
            "classification": self.classification,
            "n_obs": self.n_obs,
        }


def _bulk_classify(
    ts: np.ndarray, price: Float64Array, sizes: Float64Array, bar_s: float
) -> tuple[np.ndarray, Float64Array, Float64Array]:
    """Bulk volume classification on time bars: buy share = Phi(dlogP / sd(dlogP))."""
    bar = (ts - ts[0]) // round(bar_s * 1e9)
    starts = np.flatnonzero(np.r_[True, np.diff(bar) != 0])
    ends = np.r_[starts[1:], ts.size] - 1
    bar_volume = np.add.reduceat(sizes, starts)
    log_close = np.log(price[ends])
    change = np.diff(log_close, prepend=np.log(price[0]))
    sd = float(np.std(change[1:])) if change.size > 2 else 0.0
    buy_share = stats.norm.cdf(change / sd) if sd > 0 else np.full(change.size, 0.5)
    return ts[ends], bar_volume, bar_volume * buy_share


def vpin(
    ts_ns: Any,
    price: Any,
    size: Any,
    side: Any = None,
    *,
    bucket_volume: float | VolumeProfile,
    window: int = 50,
    bucket_frac: float = 0.1,
    bucket_horizon_s: float = 3600.0,
    bar_s: float = 1.0,
) -> VPINResult:
    """Volume-synchronised probability of informed trading over volume buckets.

    Parameters
    ----------
    ts_ns, price, size : arrays
        Trades: ns UTC (sorted), price (> 0), size (base units, >= 0).
    side : array of {+1, -1}, optional
        Aggressor side. Without it, volume is split by bulk volume classification on
        ``bar_s``-second bars (buy share = standard normal CDF of the bar's log price change
        over its standard deviation).
    bucket_volume : float or VolumeProfile
        Fixed bucket size (base units), or a profile: each bucket then holds
        ``bucket_frac`` of the volume the profile expects over ``bucket_horizon_s`` from the
        bucket's start, so the clock speeds up in busy sessions.
    window : int
        Buckets per VPIN value (the paper uses 50).

    Returns
    -------
    VPINResult

    Notes
    -----
    ``VPIN_k = sum_{j=k-n+1..k} |V_j^B - V_j^S| / sum_{j=k-n+1..k} V_j``. Trades are split
    across bucket boundaries in proportion to their size.
    """
    ts = _check_ts(ts_ns)
    if ts.size < 2:
        raise CalibrationError(f"VPIN needs trades; got {ts.size}")
    sizes = _check_sizes(size, ts.size)
    prices = np.asarray(price, dtype=np.float64)
    if prices.shape != ts.shape or not np.all(np.isfinite(prices) & (prices > 0)):
        raise CalibrationError("price must be finite, > 0 and the same length as ts_ns")
    if window < 1:
        raise CalibrationError(f"window must be >= 1, got {window}")
    if side is not None:
        sides = np.asarray(side)
        if sides.shape != ts.shape or not np.all(np.isin(sides, (-1, 1))):
            raise CalibrationError("side must be +1 (buy aggressor) or -1 for every trade")
        unit_ts, unit_vol, unit_buy = ts, sizes, np.where(sides > 0, sizes, 0.0)
        classification = "side"
    else:
        if not bar_s > 0:
            raise CalibrationError(f"bar_s must be > 0, got {bar_s}")
        unit_ts, unit_vol, unit_buy = _bulk_classify(ts, prices, sizes, bar_s)
        classification = "bvc"

    cum_vol = np.cumsum(unit_vol)
    total = float(cum_vol[-1])
    if total <= 0:
        raise CalibrationError("total traded volume is zero")
    if isinstance(bucket_volume, VolumeProfile):
        if not (bucket_frac > 0 and bucket_horizon_s > 0):
            raise CalibrationError("bucket_frac and bucket_horizon_s must be > 0")
        horizon_ns = round(bucket_horizon_s * 1e9)
        # Bucket size if a bucket started at each unit: frac of the next horizon's volume.
        size_at = bucket_frac * (
            bucket_volume.cumulative_volume(unit_ts + horizon_ns)
            - bucket_volume.cumulative_volume(unit_ts)
        )
        if not np.all(size_at > 0):
            raise CalibrationError("the profile expects zero volume somewhere in the sample")
        edges_list: list[float] = []
        edge = 0.0
        while True:
            step = float(
                size_at[min(int(np.searchsorted(cum_vol, edge, "right")), size_at.size - 1)]
            )
            if edge + step > total:
                break
            if len(edges_list) >= _MAX_BUCKETS:
                raise CalibrationError(
                    f"bucket_frac {bucket_frac} makes over {_MAX_BUCKETS} buckets"
                )
            edge += step
            edges_list.append(edge)
        edges = np.asarray(edges_list)
    else:
        if not (np.isfinite(bucket_volume) and bucket_volume > 0):
            raise CalibrationError(f"bucket_volume must be finite and > 0, got {bucket_volume}")
        n_full = int(total // bucket_volume)
        if n_full > _MAX_BUCKETS:
            raise CalibrationError(f"bucket_volume {bucket_volume} makes {n_full} buckets")
        edges = bucket_volume * np.arange(1, n_full + 1, dtype=np.float64)
    if edges.size < window:
        raise CalibrationError(
            f"only {edges.size} full volume buckets (total volume {total:.6g}); VPIN needs "
            f"window={window}: lower the bucket volume or the window, or give more trades"
        )
    cum_buy_at = np.interp(edges, np.r_[0.0, cum_vol], np.r_[0.0, np.cumsum(unit_buy)])
    bucket_vol = np.diff(edges, prepend=0.0)
    bucket_buy = np.diff(cum_buy_at, prepend=0.0)
    imbalance = np.abs(2.0 * bucket_buy - bucket_vol)
    kernel = np.ones(window)
    series = np.convolve(imbalance, kernel, "valid") / np.convolve(bucket_vol, kernel, "valid")
    series = np.clip(series, 0.0, 1.0)
    end_idx = np.minimum(np.searchsorted(cum_vol, edges, side="left"), unit_ts.size - 1)
    latest = float(series[-1])
    return VPINResult(
        vpin=tuple(float(v) for v in series),
        bucket_end_ns=tuple(int(t) for t in unit_ts[end_idx][window - 1 :]),
        bucket_volumes=tuple(float(v) for v in bucket_vol),
        latest=latest,
        latest_percentile=float(np.mean(series <= latest)),
        window=window,
        n_buckets=int(edges.size),
        classification=classification,
        n_obs=int(ts.size),
    )
