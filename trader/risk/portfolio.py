"""Portfolio risk across symbols, from the published correlation and hedge ratios.

Each published set carries ``models.correlation`` (:mod:`calibration.correlation`): the
symbols of the fit, EWMA estimates at several half-lives (``correlation`` matrices,
indexed like ``symbols``), a ``hedge_symbol`` and each symbol's ``hedge_ratios`` on it
(notional of the hedge per unit notional of the symbol, one per half-life). With the
quoting volatility ``sigma_i`` (``quoting.sigma_bps_per_sqrt_s``) of each symbol and the
notional positions ``x_i = position_i x mark_i`` (quote currency):

- **1-hour risk**: the standard deviation of the portfolio's P&L over one hour,
  ``sqrt(x' S x)`` with ``S_ij = rho_ij s_i s_j``, ``s_i = sigma_i 1e-4 sqrt(3600)``
  (the 1-hour return std as a fraction), quote currency;
- **beta net notional**: ``sum_i beta_i x_i``, the position in notional of the hedge
  symbol that would hedge the book (``beta = 1`` for the hedge symbol), quote currency.

The correlation used is the estimate whose half-life is nearest one hour. A pair no
document gives a valid correlation for (missing, not finite, outside [-1, 1]) is taken at
its worst case, which gives no hedge credit: correlation 1 between same-sign exposures
and -1 between opposite-sign ones (their risks add). A symbol without a valid hedge ratio
gets ``beta = s_i / s_hedge`` (the beta at correlation 1). Every such assumption is kept
in :attr:`PortfolioModel.notes` and logged by whoever builds the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from data_lake.registry import ParamSet

__all__ = ["HORIZON_S", "PortfolioModel", "model_of_sets", "portfolio_model"]

HORIZON_S = 3600.0
"""Horizon of the risk measure, seconds."""


@dataclass(frozen=True)
class PortfolioModel:
    """Volatilities, correlations and hedge ratios of the symbols a trader runs.

    Attributes
    ----------
    symbols : tuple of str
        Order of every vector and matrix.
    sigma_horizon : tuple of float
        Std of each symbol's return over :data:`HORIZON_S`, as a fraction.
    correlation : tuple of tuples of float or None
        Return correlations; None where unknown (worst case, module docstring).
    beta : tuple of float
        Hedge ratio of each symbol on ``hedge_symbol`` (notional per notional).
    hedge_symbol : str or None
        The symbol the betas are on: the first set's (in symbol order) that names one;
        None when none does (the betas are then those at correlation 1 on the first
        symbol).
    notes : tuple of str
        Every assumption made in place of a missing or invalid published figure.
    """

    symbols: tuple[str, ...]
    sigma_horizon: tuple[float, ...]
    correlation: tuple[tuple[float | None, ...], ...]
    beta: tuple[float, ...]
    hedge_symbol: str | None
    notes: tuple[str, ...] = ()

    def variance(self, notional: Sequence[float]) -> float:
        """Variance of the portfolio's P&L over the horizon, (quote currency)^2."""
        s = self.sigma_horizon
        rho = self.correlation
        total = 0.0
        n = len(s)
        for i in range(n):
            xi = notional[i] * s[i]
            if xi == 0.0:
                continue
            total += xi * xi
            for j in range(i + 1, n):
                xj = notional[j] * s[j]
                r = rho[i][j]
                # Unknown: worst case, the two risks add whatever their signs.
                total += 2.0 * (abs(xi * xj) if r is None else r * xi * xj)
        return max(total, 0.0)

    def variance_moved(self, notional: Sequence[float], variance: float, i: int,
                       new_notional: float) -> float:
        """:meth:`variance` with ``notional[i]`` replaced by ``new_notional``, from the
        current ``variance`` in O(n) (the guard asks it for every symbol and side)."""
        s, row = self.sigma_horizon, self.correlation[i]
        old, new = notional[i] * s[i], new_notional * s[i]
        cross_old = cross_new = 0.0
        for j in range(len(s)):
            if j == i:
                continue
            xj = notional[j] * s[j]
            r = row[j]
            if r is None:
                cross_old += abs(old * xj)
                cross_new += abs(new * xj)
            else:
                cross_old += r * old * xj
                cross_new += r * new * xj
        return max(variance + new * new - old * old + 2.0 * (cross_new - cross_old), 0.0)

    def risk(self, notional: Sequence[float]) -> float:
        """Std of the portfolio's P&L over the horizon, quote currency."""
        return math.sqrt(self.variance(notional))

    def beta_net(self, notional: Sequence[float]) -> float:
        """Net notional in units of the hedge symbol, quote currency (signed)."""
        return math.fsum(b * x for b, x in zip(self.beta, notional, strict=True))

    def to_dict(self) -> dict[str, Any]:
        """JSON form (run summary, ``trader status``)."""
        return {"symbols": list(self.symbols), "horizon_s": HORIZON_S,
                "sigma_horizon": list(self.sigma_horizon),
                "correlation": [list(row) for row in self.correlation],
                "beta": list(self.beta), "hedge_symbol": self.hedge_symbol,
                "notes": list(self.notes)}


def _valid_rho(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    v = float(value)
    if not math.isfinite(v) or abs(v) > 1.0 + 1e-9:
        return None
    return max(-1.0, min(1.0, v))


def _nearest_estimate(block: Mapping[str, Any]) -> tuple[int, Mapping[str, Any]] | None:
    """(index, estimate) of the EWMA estimate whose half-life is nearest the horizon."""
    estimates = block.get("estimates")
    if not isinstance(estimates, list):
        return None
    best: tuple[float, int, Mapping[str, Any]] | None = None
    for k, est in enumerate(estimates):
        if not isinstance(est, Mapping):
            continue
        half_life = est.get("half_life_s")
        if not isinstance(half_life, int | float) or not half_life > 0:
            continue
        distance = abs(math.log(float(half_life) / HORIZON_S))
        if best is None or distance < best[0]:
            best = (distance, k, est)
    return None if best is None else (best[1], best[2])


def _pair_rho(block: Mapping[str, Any], a: str, b: str) -> float | None:
    """The correlation of (a, b) in one document's correlation block, if valid."""
    names = block.get("symbols")
    chosen = _nearest_estimate(block)
    if not isinstance(names, list) or a not in names or b not in names or chosen is None:
        return None
    matrix = chosen[1].get("correlation")
    i, j = names.index(a), names.index(b)
    try:
        return _valid_rho(matrix[i][j])  # type: ignore[index]
    except (TypeError, IndexError, KeyError):
        return None


def _hedge_ratio(block: Mapping[str, Any], symbol: str, hedge: str) -> float | None:
    if block.get("hedge_symbol") != hedge:
        return None
    ratios = block.get("hedge_ratios")
    chosen = _nearest_estimate(block)
    if not isinstance(ratios, Mapping) or chosen is None:
        return None
    values = ratios.get(symbol)
    try:
        value = values[chosen[0]]  # type: ignore[index]
    except (TypeError, IndexError, KeyError):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def portfolio_model(
    sigma_bps_per_sqrt_s: Mapping[str, float],
    correlation_blocks: Mapping[str, Mapping[str, Any]],
) -> PortfolioModel:
    """The model of the symbols in ``sigma_bps_per_sqrt_s``, in that order.

    Parameters
    ----------
    sigma_bps_per_sqrt_s : mapping of symbol -> float
        Each symbol's quoting volatility, bps per sqrt(second), finite and > 0.
    correlation_blocks : mapping of symbol -> mapping
        Each symbol's published ``models.correlation`` ({} or absent when it has none).
        A pair is read from the first symbol's block that holds both, in symbol order.

    Raises
    ------
    ValueError
        A volatility is not finite and positive (the param set gate never lets one
        through; a hand-written set might).
    """
    symbols = tuple(sigma_bps_per_sqrt_s)
    notes: list[str] = []
    sigma: list[float] = []
    for name in symbols:
        value = float(sigma_bps_per_sqrt_s[name])
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name}: quoting.sigma_bps_per_sqrt_s must be finite and > 0 "
                             f"for the portfolio risk, got {value}; fix or republish its set")
        sigma.append(value * 1e-4 * math.sqrt(HORIZON_S))
    blocks = [correlation_blocks.get(name) or {} for name in symbols]
    n = len(symbols)
    rho: list[list[float | None]] = [[1.0 if i == j else None for j in range(n)]
                                     for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            found = next((r for block in blocks
                          if (r := _pair_rho(block, symbols[i], symbols[j])) is not None), None)
            if found is None:
                notes.append(f"no valid published correlation of {symbols[i]} and "
                             f"{symbols[j]}: taken as 1 between same-sign exposures and -1 "
                             "between opposite ones (no hedge credit)")
            rho[i][j] = rho[j][i] = found
    hedges = [str(b["hedge_symbol"]) for b in blocks if isinstance(b.get("hedge_symbol"), str)]
    # Each symbol's set may hedge on another symbol (each fit picks its own): the first
    # set that names one, in symbol order, sets the unit of the beta net notional.
    hedge: str | None = hedges[0] if hedges else None
    if hedge is None:
        notes.append("no set names a hedge symbol: betas on "
                     f"{symbols[0] if symbols else '-'} at correlation 1")
    reference = hedge if hedge is not None else (symbols[0] if symbols else None)
    s_ref = (sigma[symbols.index(reference)]
             if reference is not None and reference in symbols else None)
    beta: list[float] = []
    for k, name in enumerate(symbols):
        if name == reference:
            beta.append(1.0)
            continue
        ratio = None if hedge is None else next(
            (r for block in blocks if (r := _hedge_ratio(block, name, hedge)) is not None),
            None)
        if ratio is None:
            fallback = sigma[k] / s_ref if s_ref else 1.0
            if hedge is not None:
                notes.append(f"no valid published hedge ratio of {name} on {hedge}: "
                             f"{fallback:.4g} (the beta at correlation 1)")
            ratio = fallback
        beta.append(ratio)
    return PortfolioModel(symbols, tuple(sigma), tuple(tuple(r) for r in rho), tuple(beta),
                          hedge, tuple(notes))


def model_of_sets(sets: Mapping[str, ParamSet]) -> PortfolioModel:
    """:func:`portfolio_model` of the param sets the trader quotes, by symbol (in order)."""
    return portfolio_model(
        {name: doc.quoting.sigma_bps_per_sqrt_s for name, doc in sets.items()},
        {name: doc.estimates("correlation") for name, doc in sets.items()},
    )
