"""Volatility for quoting: multi-scale RV/BV tables, jump regime and the effective sigma.

Entry points (docs/architecture.md §4): ``realized_variance``, ``bipower_variation``, ``jump_test``
(re-exported from :mod:`calibration.volatility.realized`), ``estimate_volatility`` (every scale in
one table) and ``sigma_effective`` (the regime-aware blend the trader quotes with).

Units: ``sigma_*_bps`` in bps per sqrt(second); ``*_bps2`` realised variances over the
window; ``*_rate_bps2_s`` variance per second; ``*_annualised`` decimal, 365-day year.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from calibration.errors import CalibrationError
from calibration.volatility.realized import JumpTest as JumpTest
from calibration.volatility.realized import (
    SampledReturns,
    TwoScaleRV,
    annualise_sigma,
    bipower_variation,
    clock_time_returns,
    jsonable,
    jump_test,
    realized_semivariance,
    realized_variance,
    tripower_quarticity,
    two_scale_realized_variance,
    validate_prices,
    volume_time_returns,
)
from calibration.volatility.return_tails import StudentTFit, fit_student_t

__all__ = [
    "JUMP_SHARE_SATURATION",
    "JumpTest",
    "ScaleEstimate",
    "SigmaEffective",
    "StudentTFit",
    "TwoScaleRV",
    "VolatilityEstimate",
    "bipower_variation",
    "estimate_volatility",
    "fit_student_t",
    "jump_test",
    "realized_semivariance",
    "realized_variance",
    "scale_estimate",
    "sigma_effective",
    "signature_flat_scale",
    "two_scale_realized_variance",
]

JUMP_SHARE_SATURATION = 0.5
"""Jump share of variance at which the blend puts full weight on the jump part."""

# Variance constant of BV: pi^2/4 + pi - 3 (BNS 2006); of RV: 2.
_NU_BV = math.pi**2 / 4.0 + math.pi - 3.0
# Above this share of exactly-zero returns the Student-t fit is skipped (None).
_MAX_ZERO_SHARE_T = 0.2


@dataclass(frozen=True)
class SigmaEffective:
    """Regime-aware sigma for quoting, bps per sqrt(second).

    Attributes
    ----------
    sigma_bps : symmetric blend ``sqrt(clean^2 + w (total^2 - clean^2)+)``.
    sigma_bid_bps : for bids (hurt by falls): the clean part plus ``w`` times the downside
        jump variance ``(down^2 - clean^2)+``, from downside semivariance.
    sigma_ask_bps : for asks (hurt by rallies): same with the upside semivariance.
    weight : ``w`` in [0, 1], weight on the jump part; rises with jump share and toxicity.
    """

    sigma_bps: float
    sigma_bid_bps: float
    sigma_ask_bps: float
    weight: float
    jump_share: float
    toxicity: float
    sigma_clean_bps: float
    sigma_total_bps: float
    sigma_annualised: float

    def to_dict(self) -> dict[str, Any]:
        return dict(jsonable(asdict(self)))


def sigma_effective(
    sigma_clean_bps: float,
    sigma_total_bps: float,
    *,
    sigma_up_bps: float | None = None,
    sigma_down_bps: float | None = None,
    toxicity: float = 0.0,
    jump_share_saturation: float = JUMP_SHARE_SATURATION,
) -> SigmaEffective:
    """Blend the jump-free and total sigma by jump share and flow toxicity.

    Parameters
    ----------
    sigma_clean_bps : ``sqrt(BV / T)``, diffusive sigma, bps per sqrt(second).
    sigma_total_bps : ``sqrt(RV / T)``, sigma including jumps.
    sigma_up_bps, sigma_down_bps : ``sqrt(2 RS+ / T)`` and ``sqrt(2 RS- / T)``; each equals
        the total sigma when moves are symmetric. Default: the total sigma.
    toxicity : in [0, 1] (e.g. VPIN): informed flow makes jumps the risk that matters.
    jump_share_saturation : jump share at which the jump part gets full weight.

    Notes
    -----
    ``s = clip(1 - clean^2/total^2, 0, 1)``, ``w = 1 - (1 - min(1, s / s_sat)) (1 - tox)``,
    which is non-decreasing in both s and toxicity. Variances (not sigmas) are blended
    because variance is additive across the diffusive and jump parts.
    """
    for name, val in (("sigma_clean_bps", sigma_clean_bps), ("sigma_total_bps", sigma_total_bps)):
        if not (math.isfinite(val) and val >= 0):
            raise CalibrationError(f"{name} must be finite and non-negative; got {val}")
    if not 0.0 <= toxicity <= 1.0:
        raise CalibrationError(f"toxicity must be in [0, 1]; got {toxicity}")
    if not jump_share_saturation > 0:
        raise CalibrationError("jump_share_saturation must be positive")
    clean2, total2 = sigma_clean_bps**2, sigma_total_bps**2
    share = min(max(1.0 - clean2 / total2, 0.0), 1.0) if total2 > 0 else 0.0
    w = 1.0 - (1.0 - min(1.0, share / jump_share_saturation)) * (1.0 - toxicity)
    up2 = total2 if sigma_up_bps is None else sigma_up_bps**2
    down2 = total2 if sigma_down_bps is None else sigma_down_bps**2
    sigma = math.sqrt(clean2 + w * max(total2 - clean2, 0.0))
    return SigmaEffective(
        sigma_bps=sigma,
        sigma_bid_bps=math.sqrt(clean2 + w * max(down2 - clean2, 0.0)),
        sigma_ask_bps=math.sqrt(clean2 + w * max(up2 - clean2, 0.0)),
        weight=w,
        jump_share=share,
        toxicity=float(toxicity),
        sigma_clean_bps=float(sigma_clean_bps),
        sigma_total_bps=float(sigma_total_bps),
        sigma_annualised=annualise_sigma(sigma),
    )


@dataclass(frozen=True)
class ScaleEstimate:
    """Realised measures of one return series (one clock-time or volume-time scale).

    Attributes
    ----------
    label : ``"10s"`` (clock) or ``"vol2.5"`` (volume bars of 2.5 units).
    rv_bps2, bv_bps2 : realised variance and bipower variation over the window, bps^2, with
        asymptotic standard errors (RV from realised quarticity, BV from tripower).
    rs_up_bps2, rs_down_bps2 : realised semivariances.
    sigma_total_bps, sigma_clean_bps : ``sqrt(RV/T)``, ``sqrt(BV/T)``, bps per sqrt(s), with
        their delta-method standard errors (``sigma_clean_stderr_bps`` is None when BV is 0).
    sigma_up_bps, sigma_down_bps : ``sqrt(2 RS±/T)``.
    jump : the BNS test and jump-direction summary (signed jump share, up/down jump var).
    student_t : fat-tail fit of these returns (None when not requested, fewer than 50
        returns, or more than 20 % of them exactly zero from price discreteness).
    """

    label: str
    clock: str
    interval: float
    n_returns: int
    duration_s: float
    rv_bps2: float
    rv_stderr_bps2: float
    bv_bps2: float
    bv_stderr_bps2: float
    rs_up_bps2: float
    rs_down_bps2: float
    rv_rate_bps2_s: float
    bv_rate_bps2_s: float
    sigma_total_bps: float
    sigma_total_stderr_bps: float
    sigma_clean_bps: float
    sigma_clean_stderr_bps: float | None
    sigma_up_bps: float
    sigma_down_bps: float
    sigma_total_annualised: float
    sigma_clean_annualised: float
    jump: JumpTest
    student_t: StudentTFit | None

    def sigma_effective(self, toxicity: float = 0.0) -> SigmaEffective:
        """The regime-aware blend for this scale (see :func:`sigma_effective`)."""
        return sigma_effective(
            self.sigma_clean_bps,
            self.sigma_total_bps,
            sigma_up_bps=self.sigma_up_bps,
            sigma_down_bps=self.sigma_down_bps,
            toxicity=toxicity,
        )

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("jump", "student_t")}
        out["jump"] = self.jump.to_dict()
        out["student_t"] = None if self.student_t is None else self.student_t.to_dict()
        return dict(jsonable(out))


def scale_estimate(sampled: SampledReturns, *, fit_t: bool = True) -> ScaleEstimate:
    """All realised measures of one sampled return series (at least 10 returns)."""
    r = sampled.returns_bps
    jt = jump_test(r)
    rv, bv = jt.rv_bps2, jt.bv_bps2
    n, duration = r.size, sampled.duration_s
    if duration <= 0:
        raise CalibrationError(f"scale {sampled.label} spans zero time")
    tq = tripower_quarticity(r)
    rv_se = math.sqrt(2.0 / 3.0 * float(np.sum(r**4)))
    bv_se = math.sqrt(_NU_BV * tq / n)
    up, down = realized_semivariance(r)
    sig_t, sig_c = math.sqrt(rv / duration), math.sqrt(bv / duration)
    t_fit: StudentTFit | None = None
    # A continuous t cannot describe the point mass at zero that tick discreteness puts in
    # short-interval returns (it runs df to its lower bound): fit only where zeros are rare.
    if fit_t and n >= 50 and np.count_nonzero(r == 0.0) <= _MAX_ZERO_SHARE_T * n:
        t_fit = fit_student_t(r)
    return ScaleEstimate(
        label=sampled.label,
        clock=sampled.clock,
        interval=sampled.interval,
        n_returns=int(n),
        duration_s=float(duration),
        rv_bps2=rv,
        rv_stderr_bps2=rv_se,
        bv_bps2=bv,
        bv_stderr_bps2=bv_se,
        rs_up_bps2=up,
        rs_down_bps2=down,
        rv_rate_bps2_s=rv / duration,
        bv_rate_bps2_s=bv / duration,
        sigma_total_bps=sig_t,
        sigma_total_stderr_bps=rv_se / (2.0 * duration * sig_t),
        sigma_clean_bps=sig_c,
        sigma_clean_stderr_bps=bv_se / (2.0 * duration * sig_c) if sig_c > 0 else None,
        sigma_up_bps=math.sqrt(2.0 * up / duration),
        sigma_down_bps=math.sqrt(2.0 * down / duration),
        sigma_total_annualised=annualise_sigma(sig_t),
        sigma_clean_annualised=annualise_sigma(sig_c),
        jump=jt,
        student_t=t_fit,
    )


@dataclass(frozen=True)
class VolatilityEstimate:
    """Multi-scale volatility table plus the noise-robust tick estimate and quoting sigma.

    Attributes
    ----------
    scales : one ``ScaleEstimate`` per usable scale, clock scales first.
    skipped : scale label -> reason it was not estimated (e.g. too few returns).
    two_scale : two-scale RV on every tick (None when too few ticks).
    primary_label : the scale ``sigma_effective`` was computed on.
    sigma_effective : regime-aware sigma at the primary scale with ``toxicity``.
    """

    n_prices: int
    duration_s: float
    scales: tuple[ScaleEstimate, ...]
    skipped: dict[str, str]
    two_scale: TwoScaleRV | None
    primary_label: str
    sigma_effective: SigmaEffective

    def scale(self, label: str) -> ScaleEstimate:
        """The estimate with this label (``"1s"``, ``"vol2.5"``...)."""
        for s in self.scales:
            if s.label == label:
                return s
        raise KeyError(f"no scale {label!r}; have {[s.label for s in self.scales]}")

    def to_dict(self) -> dict[str, Any]:
        return dict(
            jsonable(
                {
                    "n_prices": self.n_prices,
                    "duration_s": self.duration_s,
                    "scales": [s.to_dict() for s in self.scales],
                    "skipped": dict(self.skipped),
                    "two_scale": None if self.two_scale is None else self.two_scale.to_dict(),
                    "primary_label": self.primary_label,
                    "sigma_effective": self.sigma_effective.to_dict(),
                }
            )
        )


def signature_flat_scale(scales: Sequence[ScaleEstimate], z: float = 2.0) -> ScaleEstimate:
    """The shortest of ``scales`` whose sigma agrees with the longest's within ``z`` s.e.

    A variance-ratio check on the signature plot: where returns are autocorrelated at a
    scale (informed moves ramping over tens of seconds, bid-ask bounce), its realised
    variance per second differs from the long-horizon rate that inventory is exposed to,
    and the next longer scale is taken. Compares ``sigma_total_bps`` with the two
    scales' standard errors in quadrature; the longest scale is the fallback.
    """
    ordered = sorted(scales, key=lambda s: s.interval)
    ref = ordered[-1]
    for s in ordered[:-1]:
        se = math.hypot(s.sigma_total_stderr_bps, ref.sigma_total_stderr_bps)
        if abs(s.sigma_total_bps - ref.sigma_total_bps) <= z * se:
            return s
    return ref


def estimate_volatility(
    ts_ns: Any,
    prices: Any,
    *,
    sizes: Any = None,
    scales_s: Sequence[float] = (1.0, 10.0, 60.0),
    volume_bars: Sequence[float] = (),
    primary_scale_s: float = 10.0,
    signature_z: float | None = None,
    toxicity: float = 0.0,
    fit_t: bool = True,
    min_returns: int = 20,
) -> VolatilityEstimate:
    """RV, BV, semivariance, jump test and Student-t at every scale, plus TSRV and sigma_eff.

    Parameters
    ----------
    ts_ns : int64 ns timestamps, sorted; prices : trade prices or mids (positive).
    sizes : traded sizes, needed for ``volume_bars``.
    scales_s : clock-time sampling intervals, seconds (previous-tick sampling).
    volume_bars : volume-time bar sizes, in the units of ``sizes``.
    primary_scale_s : clock scale for ``sigma_effective`` (falls back to the first usable).
    signature_z : when given, the primary scale moves to a longer clock scale while its
        sigma disagrees with the longest scale's by more than this many s.e.
        (:func:`signature_flat_scale`).
    toxicity : in [0, 1], passed to :func:`sigma_effective`.
    min_returns : scales with fewer returns are skipped (reason recorded).

    Raises
    ------
    CalibrationError
        Malformed input, or no scale has ``min_returns`` returns.
    """
    ts, px = validate_prices(ts_ns, prices, min_points=3)
    if volume_bars and sizes is None:
        raise CalibrationError("volume_bars need sizes")
    samples: list[tuple[str, Any]] = []
    for s in scales_s:
        samples.append((f"{s:g}s", lambda s=s: clock_time_returns(ts, px, s)))
    for v in volume_bars:
        samples.append((f"vol{v:g}", lambda v=v: volume_time_returns(ts, px, sizes, v)))
    scales: list[ScaleEstimate] = []
    skipped: dict[str, str] = {}
    for label, make in samples:
        try:
            sampled = make()
            if sampled.returns_bps.size < min_returns:
                raise CalibrationError(
                    f"{sampled.returns_bps.size} returns < min_returns={min_returns}"
                )
            scales.append(scale_estimate(sampled, fit_t=fit_t))
        except CalibrationError as exc:
            skipped[label] = str(exc)
    if not scales:
        raise CalibrationError(f"no scale could be estimated: {skipped}")
    two: TwoScaleRV | None = None
    try:
        two = two_scale_realized_variance(ts, px)
    except CalibrationError as exc:
        skipped["two_scale"] = str(exc)
    clock_scales = [s for s in scales if s.clock == "clock"]
    primary = next(
        (s for s in clock_scales if s.interval == primary_scale_s),
        clock_scales[0] if clock_scales else scales[0],
    )
    if signature_z is not None and primary in clock_scales:
        longer = [s for s in clock_scales if s.interval >= primary.interval]
        primary = signature_flat_scale(longer, signature_z)
    return VolatilityEstimate(
        n_prices=int(px.size),
        duration_s=(int(ts[-1]) - int(ts[0])) / 1e9,
        scales=tuple(scales),
        skipped=skipped,
        two_scale=two,
        primary_label=primary.label,
        sigma_effective=primary.sigma_effective(toxicity),
    )
