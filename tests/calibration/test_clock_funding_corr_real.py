"""Volume clock, correlation and funding run once on the real samples (Binance, Hyperliquid).

The Binance USD-M sample is ~343 s of BTCUSDT and ETHUSDT on 2024-08-08 23:54-00:00 UTC;
the bounds below are loose sanity ranges, not estimates to reproduce.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from calibration.clock.volume_clock import volume_profile, vpin
from calibration.correlation import ewma_covariance
from calibration.errors import CalibrationError
from calibration.funding import fit_funding_ou


def _trades(real_lake, symbol: str):
    frame = real_lake.frame("trades", symbol=symbol).sort_values("ts", kind="stable")
    if frame.empty:
        pytest.skip(f"no {symbol} trades in the real lake")
    return (
        frame["ts"].to_numpy(np.int64),
        frame["price"].to_numpy(np.float64),
        frame["size"].to_numpy(np.float64),
        frame["side"].to_numpy(np.int64),
    )


def test_volume_profile_and_vpin_on_binance_btcusdt(real_lake) -> None:
    ts, price, size, side = _trades(real_lake, "BTCUSDT")
    profile = volume_profile(ts, size)
    # Six minutes: one hour-of-week bin, under the 1 h exposure floor, so every bin uses
    # the overall rate; the warm start is what would fix this in production.
    assert profile.n_obs == ts.size
    assert 0.05 < profile.total_exposure_hours < 0.2
    assert set(profile.source) == {"all"}
    hourly = profile.rate_per_hour[0]
    assert hourly == pytest.approx(size.sum() / profile.total_exposure_hours, rel=1e-9)
    json.dumps(profile.to_dict(), allow_nan=False)

    # ~200 buckets of 1/800 of the sample's volume; sized by the profile instead.
    by_side = vpin(ts, price, size, side, bucket_volume=size.sum() / 200, window=50)
    by_bvc = vpin(ts, price, size, bucket_volume=size.sum() / 200, window=50)
    by_profile = vpin(ts, price, size, side, bucket_volume=profile, bucket_frac=0.0005)
    for result in (by_side, by_bvc, by_profile):
        assert 0.0 <= result.latest <= 1.0
        assert 0.0 < result.latest_percentile <= 1.0
        assert result.n_buckets >= 150
        json.dumps(result.to_dict(), allow_nan=False)
    # Sub-second buckets on Binance are dominated by single sweeps: strongly one-sided.
    assert 0.4 < np.mean(by_side.vpin) < 0.95


def test_btc_eth_correlation_and_hedge_ratio_on_binance(real_lake) -> None:
    btc = _trades(real_lake, "BTCUSDT")
    eth = _trades(real_lake, "ETHUSDT")
    fit = ewma_covariance(
        {"BTCUSDT": (btc[0], btc[1]), "ETHUSDT": (eth[0], eth[1])}, hedge_symbol="BTCUSDT"
    )
    assert 300 <= fit.n_obs <= 350
    for est in fit.estimates:
        rho = est.correlation[0][1]
        assert 0.3 < rho < 0.95, (est.half_life_s, rho)
        assert 0.2 < est.betas[1][0] < 1.2
        assert all(0.2 < v < 10.0 for v in est.volatility_bps_per_sqrt_s)
    assert fit.hedge_ratios["ETHUSDT"][-1] == fit.estimates[-1].betas[1][0]
    json.dumps(fit.to_dict(), allow_nan=False)


@pytest.mark.parametrize("symbol", ["BTCUSDT", "BTC"])
def test_funding_fit_refuses_the_samples_too_few_prints(real_lake, symbol: str) -> None:
    funding = real_lake.frame("funding", symbol=symbol)
    assert len(funding) < 30, "the real samples were expected to hold almost no funding prints"
    with pytest.raises(CalibrationError, match=r"funding OU needs at least 30 rates, got \d+"):
        fit_funding_ou(funding["ts"].to_numpy(np.int64), funding["rate"].to_numpy(np.float64))
