"""fit_hawkes runs once on real trades: Binance BTCUSDT (ms stamps) and LOBSTER GOOG."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from calibration.errors import IdentifiabilityWarning
from calibration.hawkes import fit_hawkes


@pytest.mark.parametrize("symbol", ["BTCUSDT", "GOOG"])
def test_buy_sell_hawkes_fits_real_trades_with_finite_estimates_and_stderr(real_lake, symbol):
    trades = real_lake.frame("trades", symbol=symbol).sort_values("ts", kind="stable")
    assert len(trades) > 1000
    times = trades["ts"].to_numpy(dtype=np.int64) / 1e9
    sells = trades["side"].to_numpy() == -1  # component 0 = buy aggressor, 1 = sell aggressor
    with warnings.catch_warnings():
        # a cross-excitation on its 0 bound is a legitimate outcome on real flow
        warnings.simplefilter("ignore", IdentifiabilityWarning)
        fit = fit_hawkes(times, sells)

    assert fit.dim == 2 and fit.converged
    assert fit.n_merged > 0  # one aggressive order printing against several resting orders
    assert fit.n_obs + fit.n_merged == len(trades)
    for est in (fit.mu, fit.alpha, fit.beta):
        assert np.all(np.isfinite(est))
    assert np.all(fit.mu > 0.0) and np.all(fit.beta > 0.0)
    assert 0.0 < fit.branching_ratio < 1.0
    assert np.all(np.isfinite(fit.stderr["mu"])) and np.all(fit.stderr["mu"] > 0.0)
    excited = fit.alpha > 0.0
    assert np.all(np.isfinite(fit.stderr["alpha"][excited]))
    assert np.all(np.isfinite(fit.stderr["beta"][excited]))
    assert np.all((fit.ks_pvalue >= 0.0) & (fit.ks_pvalue <= 1.0))
    json.dumps(fit.to_dict(), allow_nan=False)
