"""Per-venue, per-symbol trader settings: what the calibration does not decide.

A param set says how the market behaves (volatility, fill intensity, adverse selection);
:class:`TraderSettings` says how we trade it: risk aversion, order size and position
limit, the venue's tick, lot, fees and latency, the requote cadence and the simulator's
queue model. :func:`default_settings` holds one entry per known ``(venue, symbol)``;
anything else is refused with the list of known ones (docs/architecture.md §2, trader).

Units: sizes in base units, prices in quote currency, fees in bps of notional (negative
is a rebate), times in int64 nanoseconds, gamma per bps of P&L per order size
(:mod:`trader.strategy.params`).

Choosing gamma. The GLFT half-spread at zero inventory is ``c1 + sigma c2 / 2`` with
``c1 = ln(1 + gamma/kappa) / gamma`` and the skew per order of inventory ``sigma c2``
(:func:`trader.strategy.glft_depths_reference`). With ``gamma = 0.1 kappa`` the
spread term ``c1`` stays within 5 % of the risk-neutral ``1 / kappa`` (the spread is set
by how fast fills decay with depth, which the calibration measures), while the skew
(``sigma c2`` with ``c2 ~ sqrt(gamma e / (2 A kappa))``) moves the unloading side most
of the way to the touch by the time inventory reaches ``max_position``, so the quoter
leans before it hits the limit. Each default gamma below is 0.1 times the symbol's
typical kappa: the synthetic generator's planted depth decay (BTC 0.4/bps, ETH's
power law about 0.5/bps at its mean depth, SOL 0.08/bps), and for the real venues the
order of magnitude fitted on their samples (a one-tick spread of a few hundredths of a
bps fills within about 1 bps: kappa about 1/bps).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from trader.sim.config import (
    LATENCY_CONSTANT,
    LATENCY_RECORDED,
    QUEUE_PROB_LOG,
    QUEUE_PROB_POWER,
    QUEUE_RISK_AVERSE,
    BacktestConfig,
)
from trader.strategy.live_params import RegimeSettings

__all__ = [
    "KNOWN_SETTINGS",
    "TraderSettings",
    "UnknownInstrumentError",
    "default_settings",
]

_MS = 1_000_000
_S = 1_000_000_000

_QUEUE_MODELS = {
    "risk_averse": QUEUE_RISK_AVERSE,
    "prob_power": QUEUE_PROB_POWER,
    "prob_log": QUEUE_PROB_LOG,
}
_LATENCY_MODES = {"constant": LATENCY_CONSTANT, "recorded": LATENCY_RECORDED}


class UnknownInstrumentError(KeyError):
    """No default settings for a ``(venue, symbol)``; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class TraderSettings:
    """How we trade one instrument on one venue.

    Attributes
    ----------
    venue, symbol : str
        Lake partition keys (``"binance"``, ``"BTCUSDT"``).
    gamma : float
        Risk aversion per bps of P&L per order size, >= 0 (module docstring: how chosen).
    order_size : float
        Quote size, base units (a multiple of ``lot_size``).
    max_position : float
        Largest |inventory|, base units.
    tick_size : float
        Price increment, quote currency.
    lot_size : float
        Size increment, base units.
    maker_fee_bps, taker_fee_bps : float
        Fees in bps of notional; negative is a rebate.
    feed_latency_ns, entry_latency_ns, response_latency_ns : int
        Exchange -> us (market data), us -> exchange (orders), exchange -> us (acks,
        fills), ns.
    latency_mode : str
        ``"constant"`` (the three above) or ``"recorded"`` (the feed latency of each event
        is its recorded ``recv_ts - ts``; the others add it to their constants).
    requote_interval_ns : int
        Requote timer in our clock, ns (we also requote on every book update); 0 for none.
    markout_horizon_ns : int
        Horizon of the adverse-selection markout in the P&L attribution, ns.
    equity_interval_ns : int
        Sampling step of the equity curve, ns.
    queue_model : str
        ``"risk_averse"`` (only trades at our price advance us: a lower bound on fills),
        ``"prob_power"`` or ``"prob_log"`` (hftbacktest's probabilistic queue models).
    queue_param : float
        Exponent n of ``"prob_power"``, > 0; ignored by the others.
    modify_keeps_priority : bool
        A size-down modify at the same price keeps queue priority (False on Hyperliquid).
    requote_tolerance_bps : float
        Keep an open order within this many bps of the wanted price (the simulator's and
        the order manager's requote tolerance); 0.25 bps is ~10 % of a typical half-spread.
    min_half_spread_bps, max_half_spread_bps : float
        The strategy's clamps of each side's depth from the centre, bps.
    hawkes_widening_per_excess_ratio, jump_widening_multiplier, carry_horizon_s : float
        The strategy's adjustment settings (:class:`trader.strategy.StrategyParams`);
        the horizon in seconds.
    regime : RegimeSettings
        The live realised-vol and jump filters (:mod:`trader.strategy.live_inputs`).
    """

    venue: str
    symbol: str
    gamma: float
    order_size: float
    max_position: float
    tick_size: float
    lot_size: float
    maker_fee_bps: float = 0.0
    taker_fee_bps: float = 0.0
    feed_latency_ns: int = 5 * _MS
    entry_latency_ns: int = 5 * _MS
    response_latency_ns: int = 5 * _MS
    latency_mode: str = "constant"
    requote_interval_ns: int = 100 * _MS
    markout_horizon_ns: int = 5 * _S
    equity_interval_ns: int = 1 * _S
    queue_model: str = "risk_averse"
    queue_param: float = 2.0
    modify_keeps_priority: bool = True
    requote_tolerance_bps: float = 0.25
    min_half_spread_bps: float = 0.1
    max_half_spread_bps: float = 50.0
    hawkes_widening_per_excess_ratio: float = 0.5
    jump_widening_multiplier: float = 2.0
    carry_horizon_s: float = 3600.0
    regime: RegimeSettings = field(default_factory=RegimeSettings)

    def __post_init__(self) -> None:
        if self.queue_model not in _QUEUE_MODELS:
            raise ValueError(
                f"queue_model {self.queue_model!r} is not one of {sorted(_QUEUE_MODELS)}"
            )
        if self.latency_mode not in _LATENCY_MODES:
            raise ValueError(
                f"latency_mode {self.latency_mode!r} is not one of {sorted(_LATENCY_MODES)}"
            )
        for name in ("order_size", "max_position", "tick_size", "lot_size"):
            value = getattr(self, name)
            if not value > 0 or value == float("inf"):
                raise ValueError(f"{name} must be finite and > 0, got {value!r}")
        if not self.gamma >= 0 or self.gamma == float("inf"):
            raise ValueError(f"gamma must be finite and >= 0, got {self.gamma!r}")
        if self.order_size < self.lot_size or self.max_position < self.order_size:
            raise ValueError(
                f"need lot_size <= order_size <= max_position, got {self.lot_size}, "
                f"{self.order_size}, {self.max_position}"
            )
        # The simulator's own checks (fees finite, latencies >= 0, ...) run here too, so
        # a bad settings object fails where it is built, not at the first backtest.
        self.backtest_config()

    def strategy_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`trader.strategy.from_quoting` set by the trader."""
        return {
            "gamma": self.gamma,
            "order_size": self.order_size,
            "max_position": self.max_position,
            "tick_size": self.tick_size,
            "lot_size": self.lot_size,
            "hawkes_widening_per_excess_ratio": self.hawkes_widening_per_excess_ratio,
            "jump_widening_multiplier": self.jump_widening_multiplier,
            "carry_horizon_s": self.carry_horizon_s,
            "min_half_spread_bps": self.min_half_spread_bps,
            "max_half_spread_bps": self.max_half_spread_bps,
            "regime": self.regime,
        }

    def backtest_config(self) -> BacktestConfig:
        """The simulator's :class:`trader.sim.BacktestConfig` for these settings."""
        return BacktestConfig(
            tick=self.tick_size,
            lot=self.lot_size,
            queue_model=_QUEUE_MODELS[self.queue_model],
            queue_param=self.queue_param,
            modify_keeps_priority=self.modify_keeps_priority,
            requote_tolerance_bps=self.requote_tolerance_bps,
            maker_fee_bps=self.maker_fee_bps,
            taker_fee_bps=self.taker_fee_bps,
            max_position=self.max_position,
            latency_mode=_LATENCY_MODES[self.latency_mode],
            feed_latency_ns=self.feed_latency_ns,
            entry_latency_ns=self.entry_latency_ns,
            response_latency_ns=self.response_latency_ns,
            requote_on_book=True,
            requote_interval_ns=self.requote_interval_ns,
            equity_interval_ns=self.equity_interval_ns,
            markout_horizon_ns=self.markout_horizon_ns,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, every field."""
        return asdict(self)

    def to_json(self) -> str:
        """Sorted-key JSON of :meth:`to_dict` (stored with each backtest run)."""
        return json.dumps(self.to_dict(), sort_keys=True)


# Synthetic venue: tick and lot are the generator's (data_lake/sources/synthetic/defaults.py;
# the trader may not import the importers, so tests/trader/test_settings.py pins them equal).
# No fee schedule exists there: zero fees keep the attribution about the calibration.
_SYNTHETIC = {
    "BTC": {"gamma": 0.04, "order_size": 0.01, "max_position": 0.1,
            "tick_size": 0.1, "lot_size": 1e-5},
    "ETH": {"gamma": 0.05, "order_size": 0.3, "max_position": 3.0,
            "tick_size": 0.001, "lot_size": 1e-4},
    "SOL": {"gamma": 0.008, "order_size": 5.0, "max_position": 50.0,
            "tick_size": 0.001, "lot_size": 1e-3},
}
# Binance USD-M futures: base-tier fees 2.0 bps maker, 5.0 bps taker; a size-down modify
# keeps priority. Hyperliquid perps: base tier 1.5 / 4.5 bps, a modify is a new order
# for queue purposes, and a block-based chain answers slower than a matching engine.
_REAL: dict[tuple[str, str], dict[str, Any]] = {
    ("binance", "BTCUSDT"): {"gamma": 0.05, "order_size": 0.01, "max_position": 0.1,
                             "tick_size": 0.1, "lot_size": 0.001,
                             "maker_fee_bps": 2.0, "taker_fee_bps": 5.0},
    ("binance", "ETHUSDT"): {"gamma": 0.05, "order_size": 0.3, "max_position": 3.0,
                             "tick_size": 0.01, "lot_size": 0.001,
                             "maker_fee_bps": 2.0, "taker_fee_bps": 5.0},
    ("hyperliquid", "BTC"): {"gamma": 0.05, "order_size": 0.01, "max_position": 0.1,
                             "tick_size": 1.0, "lot_size": 1e-5,
                             "maker_fee_bps": 1.5, "taker_fee_bps": 4.5,
                             "modify_keeps_priority": False,
                             "entry_latency_ns": 50 * _MS, "response_latency_ns": 50 * _MS},
    # LOBSTER's Nasdaq sample (GOOG, 2012-06-21): a cent tick, round lots of shares, an
    # add-liquidity rebate of about $0.0025 and a take fee of about $0.003 per share at
    # about $580 (0.4 and 0.5 bps), no funding; colocated latencies.
    ("lobster", "GOOG"): {"gamma": 0.05, "order_size": 100.0, "max_position": 1000.0,
                          "tick_size": 0.01, "lot_size": 1.0,
                          "maker_fee_bps": -0.4, "taker_fee_bps": 0.5,
                          "feed_latency_ns": 1 * _MS, "entry_latency_ns": 1 * _MS,
                          "response_latency_ns": 1 * _MS},
}

KNOWN_SETTINGS: dict[tuple[str, str], dict[str, Any]] = {
    **{("synthetic", symbol): fields for symbol, fields in _SYNTHETIC.items()},
    **_REAL,
}
"""The fields of each known ``(venue, symbol)``; the rest take the dataclass defaults."""


def default_settings(venue: str, symbol: str) -> TraderSettings:
    """The default :class:`TraderSettings` of one instrument.

    Raises
    ------
    UnknownInstrumentError
        ``(venue, symbol)`` has no defaults; the message lists the known pairs and says
        how to trade another one.
    """
    fields = KNOWN_SETTINGS.get((venue, symbol))
    if fields is None:
        known = ", ".join(f"{v}/{s}" for v, s in sorted(KNOWN_SETTINGS))
        raise UnknownInstrumentError(
            f"no trader settings for {venue}/{symbol}; known: {known}. Add an entry to "
            "trader.settings.KNOWN_SETTINGS or build a TraderSettings yourself."
        )
    return TraderSettings(venue=venue, symbol=symbol, **fields)
