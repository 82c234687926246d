"""The backtest's configuration: venue rules, queue model, latency, fees, attribution.

Everything the jitted loop needs is packed into one float64 vector (named slots below),
so the loop's signature does not grow with each new knob.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CROSS_FILL",
    "CROSS_IGNORE",
    "LATENCY_CONSTANT",
    "LATENCY_RECORDED",
    "LATENCY_RECORDED_FEED",
    "QUEUE_PROB_LOG",
    "QUEUE_PROB_POWER",
    "QUEUE_RISK_AVERSE",
    "STP_CANCEL_OLDEST",
    "STP_REJECT_NEW",
    "TIF_ALO",
    "TIF_GTC",
    "TIF_IOC",
    "BacktestConfig",
]

QUEUE_RISK_AVERSE = 0
"""Only trades at our level advance us; a shrinking level only clips queue_ahead."""
QUEUE_PROB_POWER = 1
"""hftbacktest's ProbQueueModel with f(x) = x**n (``queue_param`` = n)."""
QUEUE_PROB_LOG = 2
"""hftbacktest's ProbQueueModel with f(x) = log(1 + x)."""

CROSS_FILL = 0
"""The book trading through our price with no trade printed fills us at our price."""
CROSS_IGNORE = 1
"""Only trades fill resting orders."""

STP_CANCEL_OLDEST = 0
"""A new order that would cross our own resting order cancels the resting one."""
STP_REJECT_NEW = 1
"""A new order that would cross our own resting order is rejected."""

TIF_GTC = 0
TIF_IOC = 1
TIF_ALO = 2
"""Add-liquidity-only (post-only): rejected if it would cross at arrival."""

LATENCY_CONSTANT = 0
"""Feed, entry and response latencies are the configured constants."""
LATENCY_RECORDED = 1
"""Feed latency per event is its recorded ``recv_ts - ts``; entry and response latency
are the recorded feed latency of the latest event seen, plus the configured constants."""
LATENCY_RECORDED_FEED = 2
"""Feed latency per event is its recorded ``recv_ts - ts``; entry and response latency
are the configured constants (hftbacktest's recorded ``local_ts`` with a constant order
latency)."""

# Slots of the packed config vector read by the jitted loop.
C_TICK = 0
C_LOT = 1
C_MAX_MODIFY_TICKS = 2
C_QUEUE_MODEL = 3
C_QUEUE_PARAM = 4
C_CROSS_RULE = 5
C_STP_RULE = 6
C_MODIFY_KEEPS_PRIORITY = 7
C_MAKER_FEE_BPS = 8
C_TAKER_FEE_BPS = 9
C_MAX_POSITION = 10
C_TIF = 11
C_LATENCY_MODE = 12
C_REQUOTE_ON_BOOK = 13
C_REQUOTE_TOLERANCE_BPS = 14
C_LEN = 15

# Integer (ns) slots, kept in int64 because epoch ns exceed float64's exact range.
CI_FEED_LATENCY = 0
CI_ENTRY_LATENCY = 1
CI_RESPONSE_LATENCY = 2
CI_REQUOTE_INTERVAL = 3
CI_EQUITY_INTERVAL = 4
CI_REQUOTE_PHASE = 5
CI_LEN = 6


@dataclass(frozen=True)
class BacktestConfig:
    """Venue rules and simulator choices for one backtest.

    Parameters
    ----------
    tick, lot : float
        Price increment (quote currency) and size increment (base units). Wanted bids
        are rounded down and asks up to the tick, sizes down to the lot.
    max_modify_ticks : float
        Passed to :func:`trader.order_policy.requote_action`.
    requote_tolerance_bps : float
        An open order within this many bps of the wanted price (and of the wanted size)
        is kept (``keep_within_ticks`` of :func:`trader.order_policy.requote_action`).
    queue_model : int
        ``QUEUE_RISK_AVERSE``, ``QUEUE_PROB_POWER`` or ``QUEUE_PROB_LOG``.
    queue_param : float
        Exponent n of ``QUEUE_PROB_POWER`` (> 0); ignored otherwise.
    cross_rule : int
        ``CROSS_FILL`` or ``CROSS_IGNORE``.
    stp_rule : int
        ``STP_CANCEL_OLDEST`` or ``STP_REJECT_NEW``.
    modify_keeps_priority : bool
        A size-down modify at the same price keeps queue priority. False on Hyperliquid,
        where every modify is a new order for queue purposes. A price change or a size
        increase always loses priority.
    maker_fee_bps, taker_fee_bps : float
        Fees in bps of notional; negative is a rebate.
    max_position : float
        Position limit, base units: the loop trims wanted sizes so that filling every
        order on a side cannot take |position| past it. ``inf`` for none.
    tif : int
        Time in force of the quotes: ``TIF_GTC``, ``TIF_IOC`` or ``TIF_ALO``.
    latency_mode : int
        ``LATENCY_CONSTANT``, ``LATENCY_RECORDED`` or ``LATENCY_RECORDED_FEED``. The
        recorded feed latency is ``recv_ts - ts`` less the recording's clock offset: when
        some ``recv_ts`` precede their ``ts`` (the recorder's clock runs behind the
        venue's), every latency is shifted up by one constant so the smallest is 0, as
        hftbacktest's ``correct_local_timestamp`` does.
    feed_latency_ns, entry_latency_ns, response_latency_ns : int
        Exchange -> us (market data), us -> exchange (orders), exchange -> us (acks and
        fills), ns. Added on top of the recorded latency in ``LATENCY_RECORDED`` mode
        (except the feed's, which is then the recorded one alone); in
        ``LATENCY_RECORDED_FEED`` the feed's is ignored and the order latencies are
        these constants.
    requote_on_book : bool
        Requote when a book or bbo update reaches us.
    requote_interval_ns : int
        Also requote on this timer in our local clock, ns; 0 for none.
    requote_phase_ns : int
        The timer fires at local times ``phase + k * interval`` (``0 <= phase <
        interval``); the first firing is the first such time after the first event
        reaches us.
    equity_interval_ns : int
        Cadence of the equity curve samples, ns (exchange time).
    markout_horizon_ns : int
        Horizon h of the adverse-selection markout, ns.
    """

    tick: float
    lot: float
    max_modify_ticks: float = 2.0
    requote_tolerance_bps: float = 0.0
    queue_model: int = QUEUE_RISK_AVERSE
    queue_param: float = 2.0
    cross_rule: int = CROSS_FILL
    stp_rule: int = STP_CANCEL_OLDEST
    modify_keeps_priority: bool = False
    maker_fee_bps: float = 0.0
    taker_fee_bps: float = 0.0
    max_position: float = float("inf")
    tif: int = TIF_ALO
    latency_mode: int = LATENCY_CONSTANT
    feed_latency_ns: int = 0
    entry_latency_ns: int = 0
    response_latency_ns: int = 0
    requote_on_book: bool = True
    requote_interval_ns: int = 0
    requote_phase_ns: int = 0
    equity_interval_ns: int = 1_000_000_000
    markout_horizon_ns: int = 1_000_000_000

    def __post_init__(self) -> None:
        for name in ("tick", "lot"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"BacktestConfig.{name} must be finite and > 0, got {value}")
        if not self.max_modify_ticks >= 0:
            raise ValueError(f"max_modify_ticks must be >= 0, got {self.max_modify_ticks}")
        if not (np.isfinite(self.requote_tolerance_bps) and self.requote_tolerance_bps >= 0):
            raise ValueError(
                f"requote_tolerance_bps must be finite and >= 0, got {self.requote_tolerance_bps}"
            )
        choices = {
            "queue_model": (QUEUE_RISK_AVERSE, QUEUE_PROB_POWER, QUEUE_PROB_LOG),
            "cross_rule": (CROSS_FILL, CROSS_IGNORE),
            "stp_rule": (STP_CANCEL_OLDEST, STP_REJECT_NEW),
            "tif": (TIF_GTC, TIF_IOC, TIF_ALO),
            "latency_mode": (LATENCY_CONSTANT, LATENCY_RECORDED, LATENCY_RECORDED_FEED),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"BacktestConfig.{name} must be one of {allowed}")
        if self.queue_model == QUEUE_PROB_POWER and not (
            np.isfinite(self.queue_param) and self.queue_param > 0
        ):
            raise ValueError(f"queue_param (power n) must be finite and > 0: {self.queue_param}")
        for name in ("maker_fee_bps", "taker_fee_bps"):
            if not np.isfinite(getattr(self, name)):
                raise ValueError(f"BacktestConfig.{name} must be finite")
        if not self.max_position > 0:
            raise ValueError(f"max_position must be > 0, got {self.max_position}")
        for name in (
            "feed_latency_ns", "entry_latency_ns", "response_latency_ns",
            "requote_interval_ns", "markout_horizon_ns",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"BacktestConfig.{name} must be >= 0")
        if self.requote_phase_ns < 0 or (
            self.requote_interval_ns > 0 and self.requote_phase_ns >= self.requote_interval_ns
        ):
            raise ValueError(
                f"requote_phase_ns must be in [0, requote_interval_ns), got {self.requote_phase_ns}"
            )
        if self.equity_interval_ns <= 0:
            raise ValueError(f"equity_interval_ns must be > 0, got {self.equity_interval_ns}")
        if not self.requote_on_book and self.requote_interval_ns == 0:
            raise ValueError("no requote trigger: set requote_on_book or requote_interval_ns")

    def packed(self) -> tuple[np.ndarray, np.ndarray]:
        """The float64 and int64 vectors the jitted loop reads (``C_*``, ``CI_*`` slots)."""
        cfg = np.zeros(C_LEN)
        cfg[C_TICK] = self.tick
        cfg[C_LOT] = self.lot
        cfg[C_MAX_MODIFY_TICKS] = self.max_modify_ticks
        cfg[C_QUEUE_MODEL] = self.queue_model
        cfg[C_QUEUE_PARAM] = self.queue_param
        cfg[C_CROSS_RULE] = self.cross_rule
        cfg[C_STP_RULE] = self.stp_rule
        cfg[C_MODIFY_KEEPS_PRIORITY] = float(self.modify_keeps_priority)
        cfg[C_MAKER_FEE_BPS] = self.maker_fee_bps
        cfg[C_TAKER_FEE_BPS] = self.taker_fee_bps
        cfg[C_MAX_POSITION] = self.max_position
        cfg[C_TIF] = self.tif
        cfg[C_LATENCY_MODE] = self.latency_mode
        cfg[C_REQUOTE_ON_BOOK] = float(self.requote_on_book)
        cfg[C_REQUOTE_TOLERANCE_BPS] = self.requote_tolerance_bps
        cfg_ns = np.zeros(CI_LEN, dtype=np.int64)
        cfg_ns[CI_FEED_LATENCY] = self.feed_latency_ns
        cfg_ns[CI_ENTRY_LATENCY] = self.entry_latency_ns
        cfg_ns[CI_RESPONSE_LATENCY] = self.response_latency_ns
        cfg_ns[CI_REQUOTE_INTERVAL] = self.requote_interval_ns
        cfg_ns[CI_EQUITY_INTERVAL] = self.equity_interval_ns
        cfg_ns[CI_REQUOTE_PHASE] = self.requote_phase_ns
        return cfg, cfg_ns
