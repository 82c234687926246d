"""Ridge and Stoikov micro-prices run on real Binance BTCUSDT and ETHUSDT books."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from calibration.order_flow.microprice import fit_microprice
from calibration.order_flow.stoikov import fit_stoikov_microprice

LEVELS = 5


def _book(real_lake, symbol: str):
    book = real_lake.frame("book", symbol=symbol)
    book = book.iloc[np.lexsort((book["seq"].to_numpy(), book["ts"].to_numpy()))]

    def levels(col: str) -> np.ndarray:
        return np.array([np.asarray(v, dtype=float)[:LEVELS] for v in book[col]])

    bid_px, bid_sz, ask_px, ask_sz = (levels(c) for c in ("bid_px", "bid_sz", "ask_px", "ask_sz"))
    full = np.isfinite(bid_px).all(1) & np.isfinite(ask_px).all(1)
    full &= np.isfinite(bid_sz).all(1) & np.isfinite(ask_sz).all(1)
    ts = book["ts"].to_numpy(dtype=np.int64)
    return ts[full], bid_px[full], bid_sz[full], ask_px[full], ask_sz[full]


def _trades(real_lake, symbol: str):
    trades = real_lake.frame("trades", symbol=symbol).sort_values("ts", kind="stable")
    return (
        trades["ts"].to_numpy(dtype=np.int64),
        trades["side"].to_numpy(float),
        trades["size"].to_numpy(float),
    )


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT"])
def test_ridge_microprice_on_real_book_is_finite(real_lake, symbol):
    ts, bid_px, bid_sz, ask_px, ask_sz = _book(real_lake, symbol)
    t_ns, side, size = _trades(real_lake, symbol)
    fit = fit_microprice(
        ts, bid_px, bid_sz, ask_px, ask_sz,
        trade_ts_ns=t_ns, trade_side=side, trade_size=size, horizon_s=0.3,
    )
    assert fit.feature_names == (
        "imbalance_l1", "imbalance_l3", "imbalance_l5", "flow_imbalance"
    )
    for value in (*fit.coef_bps, *fit.ols_coef_stderr_bps, fit.oos_r2, fit.oos_r2_stderr,
                  fit.condition_number):
        assert math.isfinite(value)
    assert fit.use_fallback == (fit.oos_r2 < fit.r2_floor)
    fair = fit.fair_price(bid_px[-50:], bid_sz[-50:], ask_px[-50:], ask_sz[-50:],
                          flow_imbalance=np.zeros(50))
    assert np.all(np.isfinite(fair))
    json.dumps(fit.to_dict(), allow_nan=False)


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT"])
def test_ridge_and_stoikov_on_real_bbo_are_finite(real_lake, symbol):
    bbo = real_lake.frame("bbo", symbol=symbol)
    bbo = bbo.iloc[np.lexsort((bbo["seq"].to_numpy(), bbo["ts"].to_numpy()))]
    ts = bbo["ts"].to_numpy(dtype=np.int64)
    cols = [bbo[c].to_numpy(float) for c in ("bid_px", "bid_sz", "ask_px", "ask_sz")]
    ridge = fit_microprice(ts, *cols, horizon_s=0.3)
    assert ridge.feature_names == ("imbalance_l1",) and math.isfinite(ridge.oos_r2)
    stoikov = fit_stoikov_microprice(ts, *cols, horizon_s=0.3)
    assert stoikov.converged and math.isfinite(stoikov.oos_r2)
    one_tick = [g for g in stoikov.g_star_ticks[0] if g is not None]
    assert len(one_tick) >= 5 and max(abs(g) for g in one_tick) <= 0.5
    micro = stoikov.microprice(*cols)
    assert np.all((micro >= cols[0] - 1e-9) & (micro <= cols[2] + 1e-9))
    json.dumps(stoikov.to_dict(), allow_nan=False)
