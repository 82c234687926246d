"""The hour-of-week volume profile a symbol publishes: its own, or a correlated donor's.

A symbol with less than a week of history has seen some hour-of-week bins never; a live
volume clock seeded from those bins would run at the wrong speed there. Such a symbol
borrows the profile of the most correlated symbol of the venue that has a week of
history, rescaled to its own traded volume (:func:`calibration.clock.borrow_profile`).
Donors are read from their ``volume_1h`` derived tables over ``DONOR_HISTORY_DAYS`` and
pass the same quality gate as every other input (docs/architecture.md §5).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from assets.history import HistoryError, load_history
from assets.inputs import CheckedInputs
from assets.model_fits import hourly_profile
from calibration.clock.volume_clock import BorrowedProfile, VolumeProfile, borrow_profile
from calibration.correlation import CorrelationFit
from data_lake.lake import Lake
from data_lake.quality_store import QualityGateError

__all__ = ["DONOR_HISTORY_DAYS", "ProfileChoice", "choose_profile", "donor_correlations"]

#: Days of a donor's history read (four weeks: every hour-of-week bin seen four times).
DONOR_HISTORY_DAYS = 28
#: Half-life of the EWMA correlation that ranks donors, seconds (the slowest published).
DONOR_CORRELATION_HALF_LIFE_S = 3600.0


@dataclass(frozen=True)
class ProfileChoice:
    """The profile to publish, and the donor partitions read to choose it."""

    borrowed: BorrowedProfile
    inputs: CheckedInputs
    skipped: dict[str, str]  # donor symbol -> why it could not be read


def donor_correlations(fit: CorrelationFit | None, symbol: str) -> dict[str, float]:
    """Correlation of ``symbol`` with every other symbol at the slowest EWMA half-life
    (the one closest to ``DONOR_CORRELATION_HALF_LIFE_S``); empty without a fit."""
    if fit is None or symbol not in fit.symbols or not fit.estimates:
        return {}
    est = min(fit.estimates, key=lambda e: abs(e.half_life_s - DONOR_CORRELATION_HALF_LIFE_S))
    i = fit.symbols.index(symbol)
    out = {}
    for j, other in enumerate(fit.symbols):
        value = est.correlation[i][j]
        if other != symbol and value is not None and math.isfinite(value):
            out[other] = float(value)
    return out


def choose_profile(
    lake: Lake,
    venue: str,
    symbol: str,
    day: dt.date,
    own: VolumeProfile,
    correlations: dict[str, float],
    *,
    min_history_hours: float = 168.0,
) -> ProfileChoice:
    """Keep ``own`` with a week of history; else borrow from the best gated donor.

    Donors are only read when the own profile is short, so a symbol with history reads
    nothing more. A donor whose history cannot be read (never ingested, a failed or stale
    check) is skipped and named in ``skipped``, never used unchecked.
    """
    empty = CheckedInputs(records=())
    if own.total_exposure_hours >= min_history_hours:
        return ProfileChoice(borrow_profile(own, {}, {}), empty, {})
    donors: dict[str, VolumeProfile] = {}
    inputs = empty
    skipped: dict[str, str] = {}
    for other in sorted(correlations):
        try:
            history = load_history(lake, venue, other, day, DONOR_HISTORY_DAYS)
        except (HistoryError, QualityGateError) as exc:
            skipped[other] = str(exc)
            continue
        profile = hourly_profile(history.volume_1h)
        if profile is not None:
            donors[other] = profile
            inputs = inputs + history.inputs
    borrowed = borrow_profile(
        own, donors, correlations, min_history_hours=min_history_hours
    )
    return ProfileChoice(borrowed, inputs if borrowed.source_symbol else empty, skipped)
