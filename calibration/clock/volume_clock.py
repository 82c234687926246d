"""Volume clock: hour-of-week volume profile, session-aware bucket size, VPIN.

The profile tells a market maker how much volume to expect over the next minutes, so
volume-time bars and VPIN buckets keep a constant *fraction of the session's* volume
instead of a fixed size that is too big at 03:00 and too small at the US open. It is
warm-started from prior days (sufficient statistics merge, with forgetting) and, for a
thin symbol, borrowed from the most correlated liquid symbol until its own history is
long enough.

The profile itself lives in :mod:`calibration.clock.week_profile` and VPIN in
:mod:`calibration.clock.vpin`; both are re-exported here. This module chooses which profile a
symbol uses (own or borrowed).

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

from calibration.clock.vpin import VPINResult, vpin
from calibration.clock.week_profile import (
    HOURS_PER_WEEK,
    VolumeProfile,
    hour_of_week,
    volume_profile,
)
from calibration.errors import CalibrationError

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
