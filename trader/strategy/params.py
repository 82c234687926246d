"""The strategy's parameters: a validated frozen dataclass and its packed float64 twin.

:class:`StrategyParams` is what a person reads and a test builds; :meth:`StrategyParams.
to_array` packs it into the flat vector that the jitted kernel
:func:`trader.strategy.glft.glft_quote` reads through the ``P_*`` slot constants below
(numba cannot take a dataclass). :func:`from_quoting` builds one from a param set's
quoting block, replacing every unusable field by a stated conservative value.

Units
-----
Depths, spreads and add-ons are in bps of mid; sigma in bps per sqrt(second); ``A`` in
fills per second; ``kappa`` per bps; sizes in base units; prices in quote currency.

``gamma`` is the risk aversion per bps of P&L on one ``order_size`` of inventory: the
closed form is written for a unit order size (Guéant, Lehalle and Fernandez-Tapia 2013,
section 5, with ``Delta = 1``) and inventory is counted in orders, ``q = inventory /
order_size``. Measuring P&L in bps of mid per order keeps ``gamma / kappa``
dimensionless and the same number meaningful for BTC and for a low-priced coin.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trader.strategy.live_params import LIVE_LEN, LiveInputs, RegimeSettings, live_from_quoting
from trader.strategy.microprice_live import MP_LEN, MicropriceLive, microprice_from_quoting
from trader.strategy.quoting_fields import FUNDING_FALLBACK_ABS_PER_HOUR, read_quoting_block
from trader.strategy.vpin_live import VPIN_LEN, VpinLive

__all__ = [
    "AS_CURVE_POINTS",
    "MAX_HALF_SPREAD_LIMIT_BPS",
    "PARAMS_LEN",
    "P_AS_ADDON_0",
    "P_AS_DEPTH_0",
    "P_A_ASK",
    "P_A_BID",
    "P_CARRY_HORIZON_S",
    "P_FUNDING_PER_HOUR",
    "P_FUNDING_UNCERTAINTY_PER_HOUR",
    "P_GAMMA",
    "P_HAWKES_MIN_RATIO",
    "P_HAWKES_TOXICITY_BPS",
    "P_HAWKES_WIDENING",
    "P_JUMP_WIDENING",
    "P_KAPPA_ASK",
    "P_KAPPA_BID",
    "P_LIVE_0",
    "P_LOT_SIZE",
    "P_MAX_HALF_SPREAD_BPS",
    "P_MAX_POSITION",
    "P_MIN_HALF_SPREAD_BPS",
    "P_MP_0",
    "P_ORDER_SIZE",
    "P_SIGMA_ASK",
    "P_SIGMA_BID",
    "P_STUDENT_T_DF",
    "P_TICK_SIZE",
    "P_USE_MICROPRICE",
    "P_VPIN_0",
    "StrategyParams",
    "from_quoting",
]

P_GAMMA = 0
"""Risk aversion, per bps of P&L per order size (see the module docstring)."""
P_ORDER_SIZE = 1
"""Quote size, base units."""
P_MAX_POSITION = 2
"""Largest |inventory|, base units."""
P_TICK_SIZE = 3
P_LOT_SIZE = 4
P_KAPPA_BID = 5
"""Fill-intensity decay on the bid, per bps."""
P_KAPPA_ASK = 6
P_A_BID = 7
"""Fill intensity at zero depth on the bid, fills per second."""
P_A_ASK = 8
P_SIGMA_BID = 9
"""Downside volatility, bps per sqrt(s): a falling price hurts a long, which the bid adds."""
P_SIGMA_ASK = 10
"""Upside volatility, bps per sqrt(s): drives the ask."""
P_STUDENT_T_DF = 11
"""Degrees of freedom of the return law; inf is Gaussian."""
P_HAWKES_WIDENING = 12
"""Extra depth per unit of intensity ratio above 1, as a fraction of the side's half-spread."""
P_HAWKES_MIN_RATIO = 13
"""Floor on the live intensity ratio (1 normally; above 1 when the Hawkes fit failed)."""
P_JUMP_WIDENING = 14
"""Multiplier of the half-spread while a jump is in progress (>= 1)."""
P_FUNDING_PER_HOUR = 15
"""Calibrated funding, fraction per hour (positive: longs pay); used when the live one is NaN."""
P_FUNDING_UNCERTAINTY_PER_HOUR = 16
"""Bound on |funding| when the calibrated rate is unusable: widens both sides instead of leaning."""
P_CARRY_HORIZON_S = 17
"""Expected holding time of inventory, seconds: funding over it is the centre shift."""
P_USE_MICROPRICE = 18
"""1 to centre on the state's fair price when finite, 0 to centre on the mid."""
P_MIN_HALF_SPREAD_BPS = 19
P_MAX_HALF_SPREAD_BPS = 20
AS_CURVE_POINTS = 8
"""Points of the adverse-selection add-on curve; shorter curves are padded with NaN."""
P_AS_DEPTH_0 = 21
"""First of ``AS_CURVE_POINTS`` increasing depths, bps."""
P_AS_ADDON_0 = P_AS_DEPTH_0 + AS_CURVE_POINTS
"""First of ``AS_CURVE_POINTS`` add-ons, bps, at the depths above."""
P_LIVE_0 = P_AS_ADDON_0 + AS_CURVE_POINTS
"""First of the live inputs' ``LIVE_LEN`` slots (``trader.strategy.live_params``)."""
P_MP_0 = P_LIVE_0 + LIVE_LEN
"""First of the live micro-price's ``MP_LEN`` slots (``trader.strategy.microprice_live``)."""
P_HAWKES_TOXICITY_BPS = P_MP_0 + MP_LEN
"""Calibrated extra depth per unit excess intensity, bps; NaN: widen by ``P_HAWKES_WIDENING``."""
P_VPIN_0 = P_HAWKES_TOXICITY_BPS + 1
"""First of live VPIN's ``VPIN_LEN`` slots (``trader.strategy.vpin_live``)."""
PARAMS_LEN = P_VPIN_0 + VPIN_LEN

MAX_HALF_SPREAD_LIMIT_BPS = 5000.0
"""Upper limit of ``max_half_spread_bps``: a bid 50 % under the mid still has a positive price."""


def _finite(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")


def _positive(name: str, value: float) -> None:
    _finite(name, value)
    if value <= 0.0:
        raise ValueError(f"{name} must be > 0, got {value!r}")


@dataclass(frozen=True)
class StrategyParams:
    """Everything the GLFT quoter needs for one symbol, validated at construction.

    Attributes
    ----------
    gamma : float
        Risk aversion, per bps of P&L per ``order_size`` of inventory; >= 0 (0 is the
        risk-neutral limit: half-spread ``1 / kappa`` and no inventory skew).
    order_size, max_position : float
        Quote size and the largest |inventory|, base units; ``lot_size <= order_size``.
    tick_size, lot_size : float
        Price increment (quote currency) and size increment (base units).
    kappa_bid_per_bps, kappa_ask_per_bps : float
        Decay of the fill intensity ``A exp(-kappa * depth_bps)`` per side, per bps; > 0.
    A_bid_per_s, A_ask_per_s : float
        Fill intensity at zero depth per side, fills per second; > 0.
    sigma_bid_bps_per_sqrt_s, sigma_ask_bps_per_sqrt_s : float
        Downside (bid) and upside (ask) semi-volatility, bps per sqrt(second); > 0.
    student_t_df : float
        Degrees of freedom of the return law, > 0; ``inf`` is Gaussian.
    as_addon_depth_bps, as_addon_bps : tuple of float
        Adverse-selection add-on curve: 1 to ``AS_CURVE_POINTS`` strictly increasing
        depths >= 0 and the add-on (>= 0) at each, bps; interpolated linearly at the quoted
        depth, flat beyond the ends.
    hawkes_widening_per_excess_ratio : float
        Extra depth on the side being hit per unit of live intensity ratio above 1, as a
        fraction of that side's half-spread; >= 0.
    hawkes_min_ratio : float
        Floor on the live intensity ratio, >= 1 (above 1 only as a fallback).
    hawkes_toxicity_bps_per_excess : float
        Calibrated extra depth on the side being hit per unit of live intensity ratio
        above 1, bps (the burst toxicity); NaN when not calibrated, and the side then
        widens by ``hawkes_widening_per_excess_ratio`` of its half-spread instead.
    jump_widening_multiplier : float
        Half-spread multiplier while a jump is in progress, >= 1.
    funding_rate_per_hour : float
        Calibrated funding, fraction of notional per hour, |rate| <= 0.04; used when the
        live rate in the state is NaN.
    funding_uncertainty_per_hour : float
        When > 0, both sides widen by the funding over the carry horizon at this rate
        (used instead of a lean when the calibrated rate is unusable); >= 0.
    carry_horizon_s : float
        Expected holding time of inventory, seconds, >= 0.
    use_microprice : bool
        Centre on the state's fair price when finite; else on the mid.
    min_half_spread_bps, max_half_spread_bps : float
        Clamps of each side's depth from the centre, ``0 < min <= max <=
        MAX_HALF_SPREAD_LIMIT_BPS``.
    fallbacks : tuple of str
        ``"field: reason -> value used"`` for each field replaced by a conservative value.
    live : LiveInputs
        The Hawkes kernel and reference sigma the live inputs are computed with
        (:mod:`trader.strategy.live_inputs`); the default has every live filter off, so
        the state's neutral values stand (ratio 1, no jump, calibrated vol).
    microprice : MicropriceLive
        The published micro-price forecast the live fair price is computed with; the
        default is off (NaN fair price: the centre stays on the mid).
    vpin : VpinLive
        Live VPIN's volume clock and the published sigma blend it re-weights
        (:mod:`trader.strategy.vpin_live`); the default is off (scales 1).
    """

    gamma: float
    order_size: float
    max_position: float
    tick_size: float
    lot_size: float
    kappa_bid_per_bps: float
    kappa_ask_per_bps: float
    A_bid_per_s: float
    A_ask_per_s: float
    sigma_bid_bps_per_sqrt_s: float
    sigma_ask_bps_per_sqrt_s: float
    student_t_df: float = math.inf
    as_addon_depth_bps: tuple[float, ...] = (0.0,)
    as_addon_bps: tuple[float, ...] = (0.0,)
    hawkes_widening_per_excess_ratio: float = 0.5
    hawkes_min_ratio: float = 1.0
    hawkes_toxicity_bps_per_excess: float = math.nan
    jump_widening_multiplier: float = 2.0
    funding_rate_per_hour: float = 0.0
    funding_uncertainty_per_hour: float = 0.0
    carry_horizon_s: float = 3600.0
    use_microprice: bool = False
    min_half_spread_bps: float = 0.1
    max_half_spread_bps: float = 50.0
    fallbacks: tuple[str, ...] = field(default=())
    live: LiveInputs = field(default=LiveInputs())
    microprice: MicropriceLive = field(default=MicropriceLive())
    vpin: VpinLive = field(default=VpinLive())

    def __post_init__(self) -> None:
        _finite("gamma", self.gamma)
        if self.gamma < 0.0:
            raise ValueError(f"gamma must be >= 0, got {self.gamma!r}")
        for name in (
            "order_size",
            "max_position",
            "tick_size",
            "lot_size",
            "kappa_bid_per_bps",
            "kappa_ask_per_bps",
            "A_bid_per_s",
            "A_ask_per_s",
            "sigma_bid_bps_per_sqrt_s",
            "sigma_ask_bps_per_sqrt_s",
            "min_half_spread_bps",
            "max_half_spread_bps",
        ):
            _positive(name, getattr(self, name))
        if self.lot_size > self.order_size:
            raise ValueError(
                f"order_size ({self.order_size}) must be at least one lot ({self.lot_size})"
            )
        if math.isnan(self.student_t_df) or self.student_t_df <= 0.0:
            raise ValueError(f"student_t_df must be > 0 (inf: Gaussian), got {self.student_t_df}")
        self._check_curve()
        for name, low in (
            ("hawkes_widening_per_excess_ratio", 0.0),
            ("hawkes_min_ratio", 1.0),
            ("jump_widening_multiplier", 1.0),
            ("funding_uncertainty_per_hour", 0.0),
            ("carry_horizon_s", 0.0),
        ):
            value = getattr(self, name)
            _finite(name, value)
            if value < low:
                raise ValueError(f"{name} must be >= {low}, got {value!r}")
        tox = self.hawkes_toxicity_bps_per_excess
        if not (math.isnan(tox) or (math.isfinite(tox) and tox >= 0.0)):
            raise ValueError(f"hawkes_toxicity_bps_per_excess must be NaN or >= 0, got {tox!r}")
        _finite("funding_rate_per_hour", self.funding_rate_per_hour)
        if abs(self.funding_rate_per_hour) > 0.04:
            raise ValueError(
                f"|funding_rate_per_hour| must be <= 0.04 (a fraction per hour, not bps), "
                f"got {self.funding_rate_per_hour!r}"
            )
        if self.min_half_spread_bps > self.max_half_spread_bps:
            raise ValueError(
                f"min_half_spread_bps ({self.min_half_spread_bps}) exceeds "
                f"max_half_spread_bps ({self.max_half_spread_bps})"
            )
        if self.max_half_spread_bps > MAX_HALF_SPREAD_LIMIT_BPS:
            raise ValueError(
                f"max_half_spread_bps must be <= {MAX_HALF_SPREAD_LIMIT_BPS}, "
                f"got {self.max_half_spread_bps!r}"
            )

    def _check_curve(self) -> None:
        depths, addons = self.as_addon_depth_bps, self.as_addon_bps
        if not 1 <= len(depths) <= AS_CURVE_POINTS or len(addons) != len(depths):
            raise ValueError(
                f"the add-on curve needs 1 to {AS_CURVE_POINTS} depths and as many add-ons, "
                f"got {len(depths)} depths and {len(addons)} add-ons"
            )
        for i, (depth, addon) in enumerate(zip(depths, addons, strict=True)):
            if not (math.isfinite(depth) and depth >= 0.0):
                raise ValueError(f"as_addon_depth_bps[{i}] must be finite and >= 0, got {depth}")
            if not (math.isfinite(addon) and addon >= 0.0):
                raise ValueError(f"as_addon_bps[{i}] must be finite and >= 0, got {addon}")
            if i and depth <= depths[i - 1]:
                raise ValueError(
                    f"as_addon_depth_bps must be strictly increasing; first violation at {i}"
                )

    def to_array(self) -> np.ndarray:
        """The packed float64 vector of length ``PARAMS_LEN`` read by the jitted kernel."""
        packed = np.full(PARAMS_LEN, np.nan)
        packed[P_GAMMA] = self.gamma
        packed[P_ORDER_SIZE] = self.order_size
        packed[P_MAX_POSITION] = self.max_position
        packed[P_TICK_SIZE] = self.tick_size
        packed[P_LOT_SIZE] = self.lot_size
        packed[P_KAPPA_BID] = self.kappa_bid_per_bps
        packed[P_KAPPA_ASK] = self.kappa_ask_per_bps
        packed[P_A_BID] = self.A_bid_per_s
        packed[P_A_ASK] = self.A_ask_per_s
        packed[P_SIGMA_BID] = self.sigma_bid_bps_per_sqrt_s
        packed[P_SIGMA_ASK] = self.sigma_ask_bps_per_sqrt_s
        packed[P_STUDENT_T_DF] = self.student_t_df
        packed[P_HAWKES_WIDENING] = self.hawkes_widening_per_excess_ratio
        packed[P_HAWKES_MIN_RATIO] = self.hawkes_min_ratio
        packed[P_JUMP_WIDENING] = self.jump_widening_multiplier
        packed[P_FUNDING_PER_HOUR] = self.funding_rate_per_hour
        packed[P_FUNDING_UNCERTAINTY_PER_HOUR] = self.funding_uncertainty_per_hour
        packed[P_CARRY_HORIZON_S] = self.carry_horizon_s
        packed[P_USE_MICROPRICE] = 1.0 if self.use_microprice else 0.0
        packed[P_MIN_HALF_SPREAD_BPS] = self.min_half_spread_bps
        packed[P_MAX_HALF_SPREAD_BPS] = self.max_half_spread_bps
        n = len(self.as_addon_depth_bps)
        packed[P_AS_DEPTH_0 : P_AS_DEPTH_0 + n] = self.as_addon_depth_bps
        packed[P_AS_ADDON_0 : P_AS_ADDON_0 + n] = self.as_addon_bps
        packed[P_LIVE_0:P_MP_0] = self.live.pack()
        packed[P_MP_0:P_HAWKES_TOXICITY_BPS] = self.microprice.pack()
        packed[P_HAWKES_TOXICITY_BPS] = self.hawkes_toxicity_bps_per_excess
        packed[P_VPIN_0:] = self.vpin.pack()
        return packed


def from_quoting(
    quoting: Mapping[str, Any],
    *,
    gamma: float,
    order_size: float,
    max_position: float,
    tick_size: float,
    lot_size: float,
    hawkes_widening_per_excess_ratio: float = 0.5,
    jump_widening_multiplier: float = 2.0,
    carry_horizon_s: float = 3600.0,
    min_half_spread_bps: float = 0.1,
    max_half_spread_bps: float = 50.0,
    microprice_min_r2: float = 0.0,
    funding_fallback_abs_per_hour: float = FUNDING_FALLBACK_ABS_PER_HOUR,
    regime: RegimeSettings | None = None,
    vpin: VpinLive | None = None,
) -> StrategyParams:
    """Strategy params from a param set's quoting block, with conservative fallbacks.

    Parameters
    ----------
    quoting : mapping
        The ``quoting`` block of a param set: the raw JSON, or
        ``ParamSet.quoting.model_dump(exclude_unset=True)`` (so a schema 1 document's
        absent schema 2 fields stay absent). Schema 1 fields are read; the per-side
        sigma, ``student_t_df``, the add-on curve, ``hawkes_mu_per_s``,
        ``hawkes_branching_matrix`` and ``microprice_coef_bps`` of schema 2 are read when
        present and otherwise derived from the schema 1 fields; present but None (the fit
        failed) takes the conservative fallback below.
    gamma, order_size, max_position, tick_size, lot_size : float
        Trader settings (see :class:`StrategyParams`), not part of the calibration.
    hawkes_widening_per_excess_ratio, jump_widening_multiplier, carry_horizon_s : float
        Adjustment settings (see :class:`StrategyParams`).
    min_half_spread_bps, max_half_spread_bps : float
        Depth clamps, bps.
    microprice_min_r2 : float
        Centre on the fair price only when its out-of-sample R^2 exceeds this.
    funding_fallback_abs_per_hour : float
        Bound on |funding| that widens both sides when the calibrated rate is unusable.
    regime : RegimeSettings, optional
        Settings of the live realised-vol and jump filters (defaults when None); the
        Hawkes kernel and the reference sigma come from ``quoting``
        (:func:`trader.strategy.live_params.live_from_quoting`).
    vpin : VpinLive, optional
        Live VPIN's numbers (:func:`trader.strategy.vpin_live.vpin_live_from`, which also
        needs the set's models and window); off when None.

    Returns
    -------
    StrategyParams
        With ``fallbacks`` naming each replaced field, why, and the value used.

    Notes
    -----
    Every fallback widens (or leaves unchanged) both half-spreads at zero inventory, and
    the side that would add to inventory at any inventory, relative to any valid value
    of the field (funding: any rate within ``funding_fallback_abs_per_hour``), so a failed
    fit can only make the quoter more cautious. The side that reduces inventory follows
    the closed form: a larger sigma or a smaller kappa or A also steepens the inventory
    skew, which makes that side more eager to unload, as the model prescribes for more
    risk. The fallbacks:

    ========================  ==========================================================
    field                     fallback
    ========================  ==========================================================
    sigma (either side)       the larger of the other usable sigmas, else 50 bps/sqrt(s)
                              (the schema's sanity bound)
    kappa (either side)       1e-3 per bps (the sanity floor: depth 1/kappa = 1000 bps)
    A (either side)           1e-3 fills/s (smaller A, larger inventory term)
    student_t_df              2 (infinite variance: the fat-tail factor's cap)
    add-on curve / add-on     bad points take the curve's largest add-on; no usable
                              add-on at all: ``max_half_spread_bps`` (quote at the clamp)
    Hawkes fit                live-ratio floor 2 (quote as in a moderate burst)
    burst toxicity            widen by ``hawkes_widening_per_excess_ratio`` of the
                              half-spread per unit excess (the setting) instead
    funding rate              no lean, both sides widened by the funding over the carry
                              horizon at ``funding_fallback_abs_per_hour``
    micro-price               centre on the mid (the no-model centre)
    ========================  ==========================================================
    """
    fields = read_quoting_block(
        quoting,
        max_half_spread_bps=max_half_spread_bps,
        microprice_min_r2=microprice_min_r2,
        funding_fallback_abs_per_hour=funding_fallback_abs_per_hour,
        curve_points=AS_CURVE_POINTS,
    )
    return StrategyParams(
        gamma=gamma,
        order_size=order_size,
        max_position=max_position,
        tick_size=tick_size,
        lot_size=lot_size,
        hawkes_widening_per_excess_ratio=hawkes_widening_per_excess_ratio,
        jump_widening_multiplier=jump_widening_multiplier,
        carry_horizon_s=carry_horizon_s,
        min_half_spread_bps=min_half_spread_bps,
        max_half_spread_bps=max_half_spread_bps,
        live=live_from_quoting(quoting, regime),
        microprice=microprice_from_quoting(quoting, bool(fields["use_microprice"])),
        vpin=vpin or VpinLive(),
        **fields,
    )
