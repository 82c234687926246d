"""Stoikov's (2018) micro-price: the limit of expected future mids given imbalance and spread.

Non-parametric alternative to the ridge micro-price. The state is (spread in ticks,
top-of-book imbalance bucket); from the sampled book we estimate a Markov chain of state
transitions and mid changes, and compute ``G*(state)``, the expected total mid change
until the mid's expectation stops moving, in ticks. The micro-price is ``mid + G* tick``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from calibration.common.asof import BPS
from calibration.common.newey_west import hac_mean, newey_west_rule_lags
from calibration.errors import CalibrationError, ConvergenceWarning
from calibration.order_flow.microprice_features import sample_book, validate_book
from calibration.types import Float64Array, Int64Array

__all__ = ["StoikovMicroprice", "fit_stoikov_microprice"]

#: (I - Q) this ill-conditioned means some state never sees a mid change.
_MAX_CONDITION = 1e12


@dataclass(frozen=True)
class StoikovMicroprice:
    """Stoikov micro-price adjustment table and its out-of-sample score.

    Attributes
    ----------
    g_star_ticks : tuple of (tuple of float or None)
        ``G*`` per spread (1..n_spread ticks, rows) and imbalance bucket (columns), ticks;
        None for states never visited in the training sample (the micro-price is the
        mid there).
    imbalance_edges : tuple of float
        Inner edges of the imbalance buckets, imbalance = bid_sz / (bid_sz + ask_sz).
    tick_size : float
        Price tick, price units.
    n_terms : int
        Terms of ``sum_i B^i G1`` summed.
    converged : bool
        Whether the last term fell below the tolerance.
    n_transitions : int
        Training transitions used (before symmetrisation).
    n_discarded : int
        Transitions dropped: spread outside 1..n_spread ticks or a mid jump beyond
        ``max_move_ticks``.
    oos_r2, oos_r2_stderr : float
        ``1 - SSE / sum(y^2)`` of the predicted mid change (``G*`` tick, in bps) against
        the realised change over ``horizon_s`` on the held-out tail, and its HAC error.
        ``G*`` targets the eventual move, not the ``horizon_s`` move, so it is a fair
        comparison with the ridge fit only at horizons where the move has played out.
    n_test : int
        Held-out samples scored.
    horizon_s, sample_interval_s : float
        Scoring horizon and chain step, seconds.
    """

    g_star_ticks: tuple[tuple[float | None, ...], ...]
    imbalance_edges: tuple[float, ...]
    tick_size: float
    n_terms: int
    converged: bool
    n_transitions: int
    n_discarded: int
    oos_r2: float
    oos_r2_stderr: float
    n_test: int
    horizon_s: float
    sample_interval_s: float

    def adjustment_ticks(
        self, imbalance: npt.ArrayLike, spread_ticks: npt.ArrayLike
    ) -> Float64Array:
        """``G*`` for each (imbalance, spread) pair, ticks; 0 for unknown states."""
        table = np.array(
            [[np.nan if g is None else g for g in row] for row in self.g_star_ticks]
        )
        return _lookup(table, np.asarray(self.imbalance_edges), imbalance, spread_ticks)

    def microprice(
        self,
        bid_px: npt.ArrayLike,
        bid_sz: npt.ArrayLike,
        ask_px: npt.ArrayLike,
        ask_sz: npt.ArrayLike,
    ) -> Float64Array:
        """Micro-price from top-of-book arrays (or first column of level arrays), price units."""
        bp, ap = _top(bid_px), _top(ask_px)
        imb = _imbalance(_top(bid_sz), _top(ask_sz))
        adj = self.adjustment_ticks(imb, (ap - bp) / self.tick_size)
        return np.asarray(0.5 * (bp + ap) + adj * self.tick_size, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable plain-Python view."""
        out: dict[str, Any] = {}
        for key in self.__dataclass_fields__:
            value = getattr(self, key)
            if key == "g_star_ticks":
                value = [list(row) for row in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[key] = value
        return out


def _lookup(
    table: Float64Array, edges: Float64Array, imbalance: npt.ArrayLike, spread_ticks: npt.ArrayLike
) -> Float64Array:
    """Table value per (imbalance, spread in ticks); 0 outside the table or where NaN."""
    imb = np.atleast_1d(np.asarray(imbalance, dtype=np.float64))
    spr = np.rint(np.atleast_1d(np.asarray(spread_ticks, dtype=np.float64))).astype(np.int64)
    imb, spr = np.broadcast_arrays(imb, spr)
    bucket = np.searchsorted(edges, imb, side="right")
    rows = np.clip(spr - 1, 0, table.shape[0] - 1)
    vals = table[rows, bucket]
    ok = (spr >= 1) & (spr <= table.shape[0]) & np.isfinite(vals)
    return np.where(ok, np.where(ok, vals, 0.0), 0.0)


def _top(values: npt.ArrayLike) -> Float64Array:
    arr = np.asarray(values, dtype=np.float64)
    return arr[:, 0] if arr.ndim == 2 else np.atleast_1d(arr)


def _imbalance(bid_sz: Float64Array, ask_sz: Float64Array) -> Float64Array:
    total = bid_sz + ask_sz
    return np.where(total > 0, bid_sz / np.where(total > 0, total, 1.0), 0.5)


def _infer_tick(spread: Float64Array) -> float:
    positive = spread[spread > 0]
    if positive.size == 0:
        raise CalibrationError("no positive spread to infer the tick size from; pass tick_size")
    tick = float(np.min(positive))
    # snap to the decimal the prices are quoted in (float noise in bid/ask differences)
    digits = max(0, -math.floor(math.log10(tick)) + 3)
    return round(tick, digits)


def _transition_counts(
    state: Int64Array, next_state: Int64Array, move_idx: Int64Array, n_states: int, n_moves: int
) -> tuple[Float64Array, Float64Array, Float64Array]:
    stay = move_idx < 0
    n_q = np.zeros((n_states, n_states))
    np.add.at(n_q, (state[stay], next_state[stay]), 1.0)
    n_r1 = np.zeros((n_states, n_moves))
    np.add.at(n_r1, (state[~stay], move_idx[~stay]), 1.0)
    n_r2 = np.zeros((n_states, n_states))
    np.add.at(n_r2, (state[~stay], next_state[~stay]), 1.0)
    return n_q, n_r1, n_r2


def fit_stoikov_microprice(
    book_ts_ns: npt.ArrayLike,
    bid_px: npt.ArrayLike,
    bid_sz: npt.ArrayLike,
    ask_px: npt.ArrayLike,
    ask_sz: npt.ArrayLike,
    *,
    tick_size: float | None = None,
    n_imbalance: int = 10,
    n_spread: int = 2,
    max_move_ticks: float = 1.0,
    sample_interval_s: float = 0.1,
    horizon_s: float = 0.3,
    test_fraction: float = 0.3,
    max_terms: int = 500,
    tol: float = 1e-8,
) -> StoikovMicroprice:
    """Estimate Stoikov's micro-price on a regular sampling grid.

    Parameters
    ----------
    book_ts_ns : array of int64
        Snapshot times, ns, sorted.
    bid_px, bid_sz, ask_px, ask_sz : array
        Book levels (n, levels) or top of book (n,); only the best level is used.
    tick_size : float, optional
        Price tick; default the smallest positive quoted spread.
    n_imbalance : int
        Imbalance buckets (quantiles of the symmetrised imbalance).
    n_spread : int
        Spread states, 1..n_spread ticks; samples with wider spreads are dropped.
    max_move_ticks : float
        Largest mid change per step kept, ticks (larger jumps are dropped, as in Stoikov).
    sample_interval_s : float
        Chain step, seconds.
    horizon_s : float
        Horizon of the out-of-sample score, seconds.
    test_fraction : float
        Share of samples held out at the end.
    max_terms, tol : int, float
        Series ``G* = sum_i B^i G1`` stops when the newest term is below ``tol`` ticks.

    Returns
    -------
    StoikovMicroprice

    Raises
    ------
    CalibrationError
        On malformed books, too few transitions (< 100), or a chain in which some visited
        state never sees a mid change (``I - Q`` singular).

    Warns
    -----
    ConvergenceWarning
        When the series has not converged after ``max_terms`` terms.

    Notes
    -----
    With ``Q`` the transitions between states without a mid change, ``R1`` the
    probabilities of each mid change ``K`` (half-tick steps) and ``R2`` the state after a
    change, ``G1 = (I - Q)^-1 R1 K`` is the expected next mid change and
    ``B = (I - Q)^-1 R2`` the state at that change; ``G* = sum_i B^i G1``. The data are
    symmetrised (imbalance -> 1 - imbalance, change -> -change), which makes ``G*``
    antisymmetric and the series converge.

    References
    ----------
    Stoikov, S. (2018). The micro-price: a high-frequency estimator of future prices.
    Quantitative Finance 18(12), 1959-1966.
    """
    book = validate_book(book_ts_ns, bid_px, bid_sz, ask_px, ask_sz)
    bid, ask = book.bid_px[:, 0], book.ask_px[:, 0]
    tick = _infer_tick(ask - bid) if tick_size is None else float(tick_size)
    if tick <= 0:
        raise CalibrationError(f"tick_size must be positive, got {tick}")
    sampled = sample_book(book, horizon_s, sample_interval_s)
    row = sampled.row
    n_obs = row.size
    n_test = round(test_fraction * n_obs)
    n_train = n_obs - n_test
    imb = _imbalance(book.bid_sz[row, 0], book.ask_sz[row, 0])
    spread = np.rint((ask[row] - bid[row]) / tick).astype(np.int64)
    mid = sampled.mid

    pooled = np.concatenate([imb[:n_train], 1.0 - imb[:n_train]])
    edges = np.quantile(pooled, np.linspace(0, 1, n_imbalance + 1)[1:-1])
    bucket = np.searchsorted(edges, imb, side="right").astype(np.int64)
    state = (spread - 1) * n_imbalance + bucket
    valid_state = (spread >= 1) & (spread <= n_spread)

    half_steps = np.rint(np.diff(mid) / tick * 2.0).astype(np.int64)
    max_half = math.floor(max_move_ticks * 2 + 1e-9)
    moves = np.array([k for k in range(-max_half, max_half + 1) if k != 0], dtype=np.int64)
    src = np.arange(n_train - 1)
    keep = valid_state[src] & valid_state[src + 1] & (np.abs(half_steps[src]) <= max_half)
    src = src[keep]
    n_transitions = int(src.size)
    if n_transitions < 100:
        raise CalibrationError(f"only {n_transitions} usable transitions; need at least 100")
    hs = half_steps[src]
    move_idx = np.where(hs == 0, -1, np.searchsorted(moves, hs)).astype(np.int64)
    mirror_move = np.where(hs == 0, -1, np.searchsorted(moves, -hs)).astype(np.int64)
    s0, s1 = state[src], state[src + 1]
    mirror = (spread[src] - 1) * n_imbalance + (n_imbalance - 1 - bucket[src])
    mirror1 = (spread[src + 1] - 1) * n_imbalance + (n_imbalance - 1 - bucket[src + 1])
    n_states = n_spread * n_imbalance
    n_q, n_r1, n_r2 = _transition_counts(
        np.concatenate([s0, mirror]), np.concatenate([s1, mirror1]),
        np.concatenate([move_idx, mirror_move]), n_states, moves.size,
    )
    total = n_q.sum(axis=1) + n_r1.sum(axis=1)
    seen = np.flatnonzero(total > 0)
    q = n_q[np.ix_(seen, seen)] / total[seen, None]
    r1 = n_r1[seen] / total[seen, None]
    r2 = n_r2[np.ix_(seen, seen)] / total[seen, None]
    a = np.eye(seen.size) - q
    if np.linalg.cond(a) > _MAX_CONDITION:
        raise CalibrationError(
            "some visited (spread, imbalance) state never sees a mid change; "
            "use fewer imbalance buckets or a longer sample"
        )
    g1 = np.linalg.solve(a, r1 @ (moves / 2.0))
    b = np.linalg.solve(a, r2)
    g_star, term = g1.copy(), g1.copy()
    n_terms, converged = 1, False
    for n_terms in range(2, max_terms + 1):  # noqa: B007 - n_terms is reported
        term = b @ term
        g_star += term
        if float(np.max(np.abs(term))) < tol:
            converged = True
            break
    if not converged:
        warnings.warn(
            f"Stoikov series did not converge in {max_terms} terms "
            f"(last term {float(np.max(np.abs(term))):.2e} ticks)",
            ConvergenceWarning,
            stacklevel=2,
        )
    table = np.full(n_states, np.nan)
    table[seen] = g_star
    grid = table.reshape(n_spread, n_imbalance)

    if n_test < 20:
        raise CalibrationError(f"only {n_test} held-out samples; need at least 20")
    y = sampled.target_bps[n_train:]
    denom = float(np.mean(y * y))
    if denom <= 0.0:
        raise CalibrationError("the mid never moved over the horizon in the held-out sample")
    adj = _lookup(grid, edges, imb[n_train:], spread[n_train:])
    pred = adj * tick / mid[n_train:] * BPS
    n_lags = max(math.ceil(horizon_s / sample_interval_s), 1) + newey_west_rule_lags(n_test)
    gain, gain_se = hac_mean(y * y - (y - pred) ** 2, n_lags)
    return StoikovMicroprice(
        g_star_ticks=tuple(
            tuple(None if not math.isfinite(v) else float(v) for v in r) for r in grid
        ),
        imbalance_edges=tuple(float(e) for e in edges),
        tick_size=tick,
        n_terms=n_terms,
        converged=converged,
        n_transitions=n_transitions,
        n_discarded=int(n_train - 1 - n_transitions),
        oos_r2=gain / denom,
        oos_r2_stderr=gain_se / denom,
        n_test=n_test,
        horizon_s=float(horizon_s),
        sample_interval_s=float(sample_interval_s),
    )
