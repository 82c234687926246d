"""Trader settings: the known instruments, the synthetic generator's grid, the errors."""

from __future__ import annotations

import math

import pytest

from data_lake.sources.synthetic.defaults import DEFAULT_MARKET
from trader.settings import KNOWN_SETTINGS, TraderSettings, UnknownInstrumentError, default_settings
from trader.strategy import glft_depths_reference


def test_synthetic_settings_use_the_generators_tick_and_lot() -> None:
    for config in DEFAULT_MARKET.symbols:
        settings = default_settings("synthetic", config.symbol)
        assert settings.tick_size == config.book.tick_size
        assert settings.lot_size == config.book.lot_size


@pytest.mark.parametrize(
    ("venue", "symbol", "tick", "lot"),
    [("binance", "BTCUSDT", 0.1, 0.001), ("binance", "ETHUSDT", 0.01, 0.001),
     ("hyperliquid", "BTC", 1.0, 1e-5), ("lobster", "GOOG", 0.01, 1.0)],
)
def test_real_venues_grid(venue: str, symbol: str, tick: float, lot: float) -> None:
    settings = default_settings(venue, symbol)
    assert (settings.tick_size, settings.lot_size) == (tick, lot)


def test_hyperliquid_modify_loses_priority_and_binance_keeps_it() -> None:
    assert not default_settings("hyperliquid", "BTC").backtest_config().modify_keeps_priority
    assert default_settings("binance", "BTCUSDT").backtest_config().modify_keeps_priority


def test_unknown_instrument_names_the_known_ones() -> None:
    with pytest.raises(UnknownInstrumentError) as info:
        default_settings("binance", "DOGEUSDT")
    message = str(info.value)
    assert "binance/DOGEUSDT" in message
    for venue, symbol in KNOWN_SETTINGS:
        assert f"{venue}/{symbol}" in message


def test_every_default_gamma_keeps_the_spread_term_near_one_over_kappa() -> None:
    """gamma = 0.1 kappa: c1 = ln(1 + gamma/kappa)/gamma within 5 % of 1/kappa."""
    kappa_of = {"BTC": 0.4, "ETH": 0.5, "SOL": 0.08}
    for (venue, symbol), fields in KNOWN_SETTINGS.items():
        kappa = kappa_of[symbol] if venue == "synthetic" else 0.5  # Binance sample: 0.43-0.65
        gamma = fields["gamma"]
        c1 = math.log(1.0 + gamma / kappa) / gamma
        assert abs(c1 * kappa - 1.0) < 0.05, (venue, symbol)
        bid, _ = glft_depths_reference(0.0, gamma, kappa, 1.0, 1.0)
        assert math.isfinite(bid) and bid > 0


def test_bad_settings_fail_where_they_are_built() -> None:
    base = default_settings("synthetic", "BTC").to_dict()
    for field, value in (("queue_model", "fifo"), ("order_size", 1e-9), ("gamma", -1.0),
                         ("taker_fee_bps", math.nan), ("feed_latency_ns", -1)):
        with pytest.raises(ValueError):
            TraderSettings(**{**base, field: value})
