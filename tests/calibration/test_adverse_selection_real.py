"""Markouts and the adverse-selection fit run on real Binance BTCUSDT and ETHUSDT flow."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from calibration.order_flow.adverse_selection import fit_adverse_selection, markouts


def _flow(real_lake, symbol: str):
    bbo = real_lake.frame("bbo", symbol=symbol)
    bbo = bbo.iloc[np.lexsort((bbo["seq"].to_numpy(), bbo["ts"].to_numpy()))]
    trades = real_lake.frame("trades", symbol=symbol).sort_values("ts", kind="stable")
    mid_ts = bbo["ts"].to_numpy(dtype=np.int64)
    mid = 0.5 * (bbo["bid_px"].to_numpy(float) + bbo["ask_px"].to_numpy(float))
    t_ns = trades["ts"].to_numpy(dtype=np.int64)
    keep = t_ns > mid_ts[0]  # a markout needs a quote before the trade
    return (
        t_ns[keep],
        trades["side"].to_numpy(float)[keep],
        trades["size"].to_numpy(float)[keep],
        trades["price"].to_numpy(float)[keep],
        mid_ts,
        mid,
    )


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT"])
def test_markout_curves_on_real_flow_are_finite(real_lake, symbol):
    t_ns, side, size, _, mid_ts, mid = _flow(real_lake, symbol)
    assert t_ns.size > 5000
    table = markouts(t_ns, side, size, mid_ts, mid)
    for curve in (table.overall, *table.by_side, *table.by_size, *table.by_vol_regime):
        for mean, se in zip(curve.mean_bps, curve.mean_stderr_bps, strict=True):
            assert mean is not None and se is not None
            assert math.isfinite(mean) and math.isfinite(se) and se > 0.0
    assert len(table.by_vol_regime) == 3
    # aggressors are informed on average over the first second on both symbols
    first = table.overall
    assert first.mean_bps[1] is not None and first.mean_stderr_bps[1] is not None
    assert first.mean_bps[1] > 0.0
    json.dumps(table.to_dict(), allow_nan=False)
    # one aggressive order prints several trades at one time: merged, there are fewer
    merged = markouts(t_ns, side, size, mid_ts, mid, merge_sweeps=True)
    assert merged.n_obs < table.n_obs
    assert all(m is not None and math.isfinite(m) for m in merged.overall.mean_bps)


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT"])
def test_adverse_selection_fit_on_real_flow_is_finite(real_lake, symbol):
    t_ns, side, _, price, mid_ts, mid = _flow(real_lake, symbol)
    with warnings.catch_warnings():
        # six minutes of tape may not separate f from m; f*m is still reported
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = fit_adverse_selection(t_ns, side, mid_ts, mid, horizon_s=5.0, trade_price=price)
    values = [v for v in fit.to_dict().values() if isinstance(v, float)]
    assert all(math.isfinite(v) for v in values)
    assert 0.0 < fit.informed_share < 1.0
    assert fit.addon is not None and len(fit.addon.depth_bps) >= 2
    # the quote at the mid is hit by every trade: multiplier 1 there
    assert fit.addon.multiplier[0] == pytest.approx(1.0, abs=0.01)
    assert all(np.isfinite(fit.addon.addon_bps))
    json.dumps(fit.to_dict(), allow_nan=False)
