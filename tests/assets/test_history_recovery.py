"""The multi-day fits recover the default market's planted dynamics from its history.

Eight chained synthetic days per symbol and seed (the trailing window ``make run``
calibrates on), derived into the stored tables, then fitted by the pipeline's own
fitters: Heston and the funding OU within three of their own standard errors of the
planted values, and the hour-of-week profile complete and shaped like the planted one.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from assets.derived import derive_day
from assets.features import DayFeatures
from assets.history import HISTORY_DAYS, History
from assets.inputs import CheckedInputs
from assets.model_fits import MODEL_FITTERS
from data_lake.sources.synthetic import DEFAULT_MARKET, generate_symbol_day
from data_lake.sources.synthetic.config import SECONDS_PER_YEAR

pytestmark = pytest.mark.slow

START = dt.date(2026, 1, 5)
SEEDS = (7, 8, 9)


def _features(symbol: str, seed: int) -> DayFeatures:
    """The fit day's features with its trailing window, as the pipeline builds them."""
    state = None
    rv, hours, funding = [], [], []
    days = [START + dt.timedelta(days=i) for i in range(HISTORY_DAYS)]
    trades = pd.DataFrame()
    for day in days:
        result = generate_symbol_day(symbol, day, seed=seed, state=state)
        state = result.end_state
        trades = result.tables["trades"].to_pandas()
        bbo = result.tables["bbo"].to_pandas()
        quotes = pd.DataFrame({"ts": bbo["ts"], "mid": 0.5 * (bbo["bid_px"] + bbo["ask_px"])})
        tables = derive_day(day, trades, quotes)
        rv.append(tables["rv_5m"].to_pandas())
        hours.append(tables["volume_1h"].to_pandas())
        funding.append(result.tables["funding"].to_pandas())
    history = History(
        venue="synthetic",
        symbol=symbol,
        days=tuple(days),
        inputs=CheckedInputs(),
        rv_5m=pd.concat(rv, ignore_index=True),
        volume_1h=pd.concat(hours, ignore_index=True),
    )
    empty = pd.DataFrame()
    return DayFeatures(
        venue="synthetic",
        symbol=symbol,
        day=days[-1],
        trades=trades,
        quotes=empty,
        book_levels={},
        funding=pd.concat(funding, ignore_index=True),  # the funding window
        bars_1m=empty,
        volume_bars=empty,
        history=history,
    )


@pytest.fixture(scope="module")
def fits() -> dict[tuple[str, int], dict[str, object]]:
    out: dict[tuple[str, int], dict[str, object]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for symbol in DEFAULT_MARKET.names:
            for seed in SEEDS:
                f = _features(symbol, seed)
                out[symbol, seed] = {
                    m: MODEL_FITTERS[m](f) for m in ("heston", "funding", "volume_profile")
                }
    return out


def _within(est: float | None, se: float | None, truth: float, k: float = 3.0) -> bool:
    assert est is not None and se is not None and math.isfinite(se) and se > 0
    return abs(est - truth) <= k * se


@pytest.mark.parametrize("symbol", DEFAULT_MARKET.names)
def test_heston_is_identified_and_recovers_the_planted_dynamics(
    fits: dict[tuple[str, int], dict[str, object]], symbol: str
) -> None:
    truth = DEFAULT_MARKET.symbol(symbol).heston
    for seed in SEEDS:
        h = fits[symbol, seed]["heston"]
        assert h.identifiable, (symbol, seed, h.reason)  # type: ignore[attr-defined]
        for name in ("kappa", "theta", "xi", "rho"):
            est, se = getattr(h, name), getattr(h, f"{name}_stderr")
            assert _within(est, se, getattr(truth, name)), (symbol, seed, name, est, se)


@pytest.mark.parametrize("symbol", DEFAULT_MARKET.names)
def test_funding_ou_is_identified_and_recovers_the_planted_process(
    fits: dict[tuple[str, int], dict[str, object]], symbol: str
) -> None:
    truth = DEFAULT_MARKET.symbol(symbol).funding
    for seed in SEEDS:
        f = fits[symbol, seed]["funding"]
        assert f.identifiable, (symbol, seed)  # type: ignore[attr-defined]
        assert f.n_obs == HISTORY_DAYS * 24  # type: ignore[attr-defined]
        kappa = truth.kappa_per_s * SECONDS_PER_YEAR
        assert _within(f.kappa, f.kappa_stderr, kappa), (symbol, seed, f.kappa)  # type: ignore[attr-defined]
        assert _within(f.theta, f.theta_stderr, truth.theta), (symbol, seed, f.theta)  # type: ignore[attr-defined]


@pytest.mark.parametrize("symbol", DEFAULT_MARKET.names)
def test_volume_profile_fills_every_bin_with_the_planted_shape(
    fits: dict[tuple[str, int], dict[str, object]], symbol: str
) -> None:
    planted = np.asarray(DEFAULT_MARKET.symbol(symbol).hawkes.hourly_profile)
    planted = planted / planted.sum()
    for seed in SEEDS:
        p = fits[symbol, seed]["volume_profile"]
        assert p.source == ["week"] * 168  # type: ignore[attr-defined]
        # Eight days: every bin seen once, the fit day's Monday twice.
        assert p.total_exposure_hours == HISTORY_DAYS * 24  # type: ignore[attr-defined]
        shares = p.hour_of_day_shares  # type: ignore[attr-defined]
        assert np.corrcoef(shares, planted)[0, 1] > 0.9, (symbol, seed)
