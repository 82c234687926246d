"""The live micro-price reproduces the published forecast on the rows it was fitted on."""

from __future__ import annotations

import dataclasses
import inspect
import math

import numpy as np
import pytest

from assets.param_building import _microprice_fields
from calibration.common.asof import trailing_realized_vol
from calibration.order_flow.microprice import fit_microprice
from calibration.order_flow.microprice_features import book_imbalance, flow_imbalance
from tests.calibration.test_microprice import simulate_book
from tests.trader.strategy.builders import MID, live_params
from trader.market_state import S_FAIR_PX, S_MID, new_state
from trader.strategy import quote_depths
from trader.strategy.microprice_live import (
    FLOW_WINDOW_S,
    VOL_WINDOW_S,
    MicropriceLive,
    microprice_from_quoting,
    microprice_observe_book,
    microprice_observe_trade,
    write_fair_price,
)
from trader.strategy.params import P_MP_0

NS = 1_000_000_000


def test_the_live_windows_are_the_fits_defaults():
    defaults = inspect.signature(fit_microprice).parameters
    assert defaults["flow_window_s"].default == FLOW_WINDOW_S
    assert defaults["vol_window_s"].default == VOL_WINDOW_S


def _fitted(seed: int):
    ts, bp, bs, ap, az = simulate_book(seed, n=6000, dt_s=0.1)
    rng = np.random.default_rng(seed)
    n_tr = 5000
    trade_ts = np.sort(rng.integers(0, int(ts[-1]), n_tr)).astype(np.int64)
    side = rng.choice([-1.0, 1.0], n_tr)
    size = rng.lognormal(0.0, 1.0, n_tr)
    fit = fit_microprice(ts, bp, bs, ap, az, trade_ts_ns=trade_ts, trade_side=side,
                         trade_size=size, horizon_s=0.3, sample_interval_s=0.1)
    return (ts, bp, bs, ap, az), (trade_ts, side, size), fit


def _reference_forecast(fit, book, trades, query_ts):
    """The published rule (assets.validation_scores.microprice_r2): global coefficients,
    replaced by the regime's where published and the trailing vol is known."""
    ts, bp, bs, ap, az = book
    row = np.searchsorted(ts, query_ts, side="right") - 1
    cols = []
    for name in fit.feature_names:
        if name.startswith("imbalance_l"):
            cols.append(book_imbalance(bs[row], az[row], int(name.removeprefix("imbalance_l"))))
        else:
            cols.append(flow_imbalance(query_ts, trades[0], trades[1], trades[2], FLOW_WINDOW_S))
    x = np.column_stack(cols)
    pred = fit.intercept_bps + x @ np.asarray(fit.coef_bps)
    mid = 0.5 * (bp[:, 0] + ap[:, 0])
    vol = trailing_realized_vol(ts, mid, query_ts + 1, VOL_WINDOW_S)
    edges = np.asarray(fit.regime_edges_bps_per_sqrt_s)
    regime = np.searchsorted(edges[1:-1], vol, side="right")
    for r, c in enumerate(fit.regime_coef_bps):
        sel = (regime == r) & np.isfinite(vol)
        if c is not None:
            pred[sel] = fit.intercept_bps + x[sel] @ np.asarray(c)
    return pred, mid[row]


@pytest.mark.parametrize("seed", [0, 1])
def test_the_live_fair_price_follows_the_published_forecast(seed):
    book, trades, fit = _fitted(seed)
    ts, bp, bs, ap, az = book
    assert not fit.use_fallback
    assert fit.feature_names[-1] == "flow_imbalance"
    quoting = {**_microprice_fields(fit), "microprice_fallback_to_mid": False}
    live = microprice_from_quoting(quoting, use_microprice=True)
    assert live.feature_codes[-1] == -1.0
    params = dataclasses.replace(live_params(), microprice=live).to_array()
    state = new_state()
    # Query 50 ms after each row (between rows), over the day after the vol warm-up.
    query = ts[400:-1] + 50_000_000
    pred, mid = _reference_forecast(fit, book, trades, query)
    live_fair = np.empty(query.size)
    i_row = i_tr = 0
    for q, t_q in enumerate(query):
        while i_tr < trades[0].size and trades[0][i_tr] <= t_q:
            microprice_observe_trade(state, params, P_MP_0, trades[0][i_tr] / NS,
                                     int(trades[1][i_tr]), trades[2][i_tr])
            i_tr += 1
        while i_row < ts.size and ts[i_row] <= t_q:
            state[S_MID] = 0.5 * (bp[i_row, 0] + ap[i_row, 0])
            microprice_observe_book(state, params, P_MP_0, ts[i_row] / NS, i_row, bs, az)
            i_row += 1
        write_fair_price(state, params, P_MP_0, t_q / NS)
        live_fair[q] = state[S_FAIR_PX]
    live_bps = (live_fair / mid - 1.0) * 1e4
    # Bucketed windows cover the fit's to within a bucket (50 ms of flow, 1 s of vol), so
    # most samples match exactly and the rest differ by a fraction of the forecast.
    exact = np.isclose(live_bps, pred, rtol=1e-6, atol=1e-9)
    assert exact.mean() > 0.5
    scale = np.std(pred)
    assert np.quantile(np.abs(live_bps - pred), 0.95) < 0.25 * scale
    assert np.corrcoef(live_bps, pred)[0, 1] > 0.97


def test_the_kernel_centres_on_the_fair_price_clamped_inside_the_touch():
    live = MicropriceLive(feature_codes=(1.0,), intercept_bps=0.0, coef_bps=(2.0,))
    params = dataclasses.replace(live_params(), use_microprice=True, microprice=live).to_array()
    state = new_state()
    state[S_MID] = MID
    from trader.market_state import S_BEST_ASK, S_BEST_BID

    state[S_BEST_BID], state[S_BEST_ASK] = MID - 0.05, MID + 0.05
    bid_sz = np.array([[3.0, 1.0]])
    ask_sz = np.array([[1.0, 1.0]])  # imbalance_l1 = 0.5 -> +1 bps
    microprice_observe_book(state, params, P_MP_0, 1.0, 0, bid_sz, ask_sz)
    write_fair_price(state, params, P_MP_0, 1.0)
    assert state[S_FAIR_PX] == pytest.approx(MID * (1 + 1e-4))
    centre, *_ = quote_depths(state, params)
    assert centre == pytest.approx(MID + 0.01)


@pytest.mark.parametrize(
    "change",
    [
        {"microprice_feature_names": ["imbalance_l1", "spread"]},  # unknown to the trader
        {"microprice_coef_bps": [1.0]},  # one short
        {"microprice_coef_bps": [1.0, math.nan]},
        {"microprice_intercept_bps": None},
    ],
)
def test_an_unusable_forecast_leaves_the_centre_on_the_mid(change):
    quoting = {
        "microprice_feature_names": ["imbalance_l1", "flow_imbalance"],
        "microprice_coef_bps": [1.0, 0.5],
        "microprice_intercept_bps": 0.0,
    }
    assert microprice_from_quoting(quoting, True).feature_codes == (1.0, -1.0)
    assert microprice_from_quoting(quoting, False).feature_codes == ()
    assert microprice_from_quoting({**quoting, **change}, True).feature_codes == ()
