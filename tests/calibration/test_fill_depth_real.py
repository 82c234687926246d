"""Fill-depth fit runs on the real Binance BTCUSDT/ETHUSDT samples (trades against the BBO)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from calibration.fill_depth import fit_fill_depth_sides
from calibration.fill_depth.book_depth import book_depth_kappa, trade_depths_bps
from data_lake.lake import Lake


def _depths(real_lake: Lake, symbol: str):
    trades = real_lake.frame("trades", symbol=symbol).sort_values(["ts", "trade_id"],
                                                                   kind="stable")
    bbo = real_lake.frame("bbo", symbol=symbol).sort_values(["ts", "seq"], kind="stable")
    return trade_depths_bps(
        trades["ts"].to_numpy(), trades["price"].to_numpy(), trades["side"].to_numpy(),
        bbo["ts"].to_numpy(), book_bid_px=bbo["bid_px"].to_numpy(),
        book_ask_px=bbo["ask_px"].to_numpy(),
    )


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT"])
def test_fill_depth_fits_each_side_on_binance(real_lake: Lake, symbol: str) -> None:
    td = _depths(real_lake, symbol)
    # exchange-time alignment: almost every order prints at or beyond the prevailing mid
    assert td.n_negative < 0.01 * td.depth_bps.size
    usable = td.usable()
    fits = fit_fill_depth_sides(usable.depth_bps, usable.side, window_s=usable.window_s,
                                n_boot=50, seed=0)
    for side in (fits.bid, fits.ask, fits.pooled):
        assert side.source == "trades" and side.fit is not None
        assert side.best in {"exponential", "power_law", "lognormal"}
        assert side.kappa > 0.0 and side.kappa_glft > 0.0
        assert side.A is not None and side.A > 0.0
        assert side.A_glft is not None and side.A_glft > 0.0
    json.dumps(fits.to_dict(), allow_nan=False)


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT"])
def test_book_depth_kappa_runs_on_binance_l2(real_lake: Lake, symbol: str) -> None:
    book = real_lake.frame("book", symbol=symbol)
    sample = book.iloc[:: max(1, len(book) // 200)]

    def stack(col: str) -> np.ndarray:
        return np.vstack([np.asarray(v, dtype=np.float64) for v in sample[col]])

    fit = book_depth_kappa(stack("bid_px"), stack("bid_sz"), stack("ask_px"), stack("ask_sz"))
    assert fit.kappa > 0.0 and fit.kappa_bid > 0.0 and fit.kappa_ask > 0.0
    assert fit.n_snapshots == len(sample)
