"""Volatility and Heston once on real samples: Binance BTCUSDT (~6 min) and LOBSTER GOOG (day)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from calibration.errors import IdentifiabilityWarning
from calibration.volatility import VolatilityEstimate, estimate_volatility
from calibration.volatility.stochastic_vol import fit_heston


def _trades(real_lake: Any, symbol: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tr = real_lake.frame("trades", symbol=symbol)
    return tr["ts"].to_numpy(), tr["price"].to_numpy(), tr["size"].to_numpy()


def _mid(real_lake: Any, symbol: str) -> tuple[np.ndarray, np.ndarray]:
    bbo = real_lake.frame("bbo", symbol=symbol)
    return bbo["ts"].to_numpy(), ((bbo["bid_px"] + bbo["ask_px"]) / 2.0).to_numpy()


def _sane(est: VolatilityEstimate) -> None:
    json.dumps(est.to_dict(), allow_nan=False)
    for s in est.scales:
        assert 0.05 < s.sigma_total_annualised < 3.0, s.label
        assert 0.0 < s.sigma_clean_bps <= 1.5 * s.sigma_total_bps, s.label
        assert math.isfinite(s.jump.statistic) and 0.0 <= s.jump.p_value <= 1.0
    eff = est.sigma_effective
    assert eff.sigma_clean_bps <= eff.sigma_bps <= max(eff.sigma_total_bps, eff.sigma_clean_bps)


def test_btcusdt_volatility_from_trades_and_mid(real_lake: Any) -> None:
    ts, px, size = _trades(real_lake, "BTCUSDT")
    trades = estimate_volatility(ts, px, sizes=size, volume_bars=(float(size.sum()) / 200,))
    mid = estimate_volatility(*_mid(real_lake, "BTCUSDT"))
    _sane(trades)
    _sane(mid)
    # ~343 s of data: 60-s bars are too few and say so
    assert "60s" in trades.skipped and [s.label for s in mid.scales] == ["1s", "10s"]
    t10, m10 = trades.scale("10s"), mid.scale("10s")
    se = math.hypot(t10.sigma_total_stderr_bps, m10.sigma_total_stderr_bps)
    assert abs(t10.sigma_total_bps - m10.sigma_total_bps) < 3 * se
    two = trades.two_scale
    assert two is not None
    assert abs(two.sigma_bps - t10.sigma_total_bps) < 3 * math.hypot(
        two.sigma_stderr_bps, t10.sigma_total_stderr_bps
    )
    # volume bars: enough non-zero returns for a tail fit, and the tails are fat
    vol = next(s for s in trades.scales if s.clock == "volume")
    assert vol.student_t is not None
    assert 1.5 < vol.student_t.df < 30


def test_goog_volatility_day_from_trades_and_mid(real_lake: Any) -> None:
    ts, px, size = _trades(real_lake, "GOOG")
    trades = estimate_volatility(ts, px, sizes=size, volume_bars=(float(size.sum()) / 200,))
    mid = estimate_volatility(*_mid(real_lake, "GOOG"))
    _sane(trades)
    _sane(mid)
    assert [s.label for s in mid.scales] == ["1s", "10s", "60s"]
    t60, m60 = trades.scale("60s"), mid.scale("60s")
    assert abs(t60.sigma_total_bps - m60.sigma_total_bps) < 3 * math.hypot(
        t60.sigma_total_stderr_bps, m60.sigma_total_stderr_bps
    )
    # 1-s trade returns are mostly zeros (tick discreteness): no t fit there; 60 s has one
    assert trades.scale("1s").student_t is None
    assert m60.student_t is not None and 2.0 < m60.student_t.df < 30


def test_heston_on_six_minutes_of_btcusdt_reports_it_cannot_identify_kappa(
    real_lake: Any,
) -> None:
    ts, px, _ = _trades(real_lake, "BTCUSDT")
    for rv_interval_s in (300.0, 60.0):
        with pytest.warns(IdentifiabilityWarning):
            fit = fit_heston(ts, px, rv_interval_s=rv_interval_s)
        assert not fit.identifiable
        assert fit.reason is not None and "RV intervals" in fit.reason
        assert fit.kappa is None and fit.xi is None and fit.rho is None
        assert fit.garch is None
        assert 0.05 < math.sqrt(fit.theta) < 3.0
        json.dumps(fit.to_dict(), allow_nan=False)


def test_heston_on_a_goog_day_of_five_minute_rv_is_not_identified(real_lake: Any) -> None:
    ts, px, _ = _trades(real_lake, "GOOG")
    with pytest.warns(IdentifiabilityWarning):
        fit = fit_heston(ts, px)
    assert not fit.identifiable and fit.kappa is None
    assert fit.n_obs == 77
