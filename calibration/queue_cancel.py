"""Where in the queue cancellations fall: the probabilistic queue model fitted to L3 events.

The simulator's probabilistic queue models (hftbacktest's ``ProbQueueModel``,
trader/sim/queue.py ``prob_behind``) split a level's cancelled size between the front
and the back of our order: the share ahead of us is ``f(front) / (f(front) + f(back))``
with ``f(x) = x**n`` (power) or ``f(x) = log(1 + x)`` (log), front and back the displayed
size ahead of and behind our order just before the cancel (base units).

Level-3 events reveal each cancel's position (calibration/queue_replay.py). For each
(cancel, reference order) pair the event "the cancel is ahead of the reference" is
Bernoulli with that probability, so:

- power: ``P(ahead) = sigmoid(n log(front / back))``, a logistic regression on
  ``log(front / back)`` without intercept; the log-likelihood is concave in n and the
  MLE is the root of the score. Pairs with front or back 0 are certain under both
  models (they carry no information) and are left out.
- log: no free parameter; its log-likelihood on the same pairs.

Standard error of n: the pairs of one cancel share its position, so they are not
independent. The reported ``power_n_stderr`` is the cluster-robust (sandwich) error
with one cluster per cancel, ``I^-1 sqrt(sum_c s_c^2)`` (``I`` the observed information,
``s_c`` the score of cancel c's pairs); ``power_n_stderr_naive`` is ``I^-1/2``, as if
the pairs were independent. The AIC comparison (power: 1 parameter, log: 0) uses the
composite likelihood and inherits that caveat: read it beside the binned table.

How the size ahead of a resting order shrinks without trades: ``frac_ahead_observed``
(share of pairs whose cancel was ahead), ``cancelled_size_ahead_share`` (the same weighted
by cancelled size: the share of cancelled volume that shortens the queue ahead), beside
``frac_ahead_uniform`` (``front / (front + back)``: n = 1, cancels uniform over the
displayed size) and the fitted models' predictions, overall and by relative position.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import optimize, special

from calibration.errors import CalibrationError
from calibration.queue_replay import CancelPairs, cancel_pairs
from calibration.types import Float64Array

__all__ = [
    "MIN_INFORMATIVE_PAIRS",
    "POWER_N_BOUNDS",
    "QueueCancelFit",
    "fit_queue_cancel",
    "fit_queue_cancel_pairs",
]

MIN_INFORMATIVE_PAIRS = 50
"""Fewer informative pairs (front and back both > 0) than this: no fit."""
POWER_N_BOUNDS = (1e-3, 50.0)
"""Search range of n; an MLE at a bound (cancels all at the ends or all in the middle)
is refused as not identified."""
_POSITION_BINS = 5


@dataclass(frozen=True)
class QueueCancelFit:
    """The fitted cancellation position model of one symbol-day.

    Attributes
    ----------
    power_n : float
        MLE of n in ``f(x) = x**n`` (dimensionless; 1 = uniform over displayed size).
    power_n_stderr : float
        Its standard error, clustered by cancel (see the module docstring).
    power_n_stderr_naive : float
        From the observed information as if pairs were independent.
    loglik_power, loglik_log : float
        Composite log-likelihoods (nats) of the informative pairs.
    aic_power, aic_log : float
        ``2 k - 2 loglik`` with k = 1 and 0.
    preferred : str
        ``"prob_power"`` or ``"prob_log"``: the lower AIC (the simulator's names).
    n_pairs, n_pairs_informative : int
        (cancel, reference) pairs, and those with front and back both > 0.
    n_cancels, n_cancels_used, n_cancels_unknown_queue, n_cancels_alone : int
        Visible cancels; used; skipped for an unknown queue; skipped alone at the level.
    n_orders_left_unseen : int
        Orders dropped when their level proved them gone without their own message.
    frac_ahead_observed, frac_ahead_uniform, frac_ahead_power, frac_ahead_log : float
        Share of informative pairs whose cancel was ahead: observed, and the mean
        prediction of n = 1, of the fitted power model and of the log model.
    cancelled_size_ahead_share : float
        Share of cancelled size (base units) that was ahead of the reference.
    position_edges : list of float
        Edges of ``front / (front + back)`` bins (relative position, 0 = head).
    position_pairs : list of int
        Informative pairs per bin.
    position_observed, position_power, position_log : list of float or None
        Per bin: observed share ahead and the two models' mean predictions (None: empty).
    max_refs_per_cancel : int or None
        The reference sample bound used.
    """

    power_n: float
    power_n_stderr: float
    power_n_stderr_naive: float
    loglik_power: float
    loglik_log: float
    aic_power: float
    aic_log: float
    preferred: str
    n_pairs: int
    n_pairs_informative: int
    n_cancels: int
    n_cancels_used: int
    n_cancels_unknown_queue: int
    n_cancels_alone: int
    n_orders_left_unseen: int
    frac_ahead_observed: float
    frac_ahead_uniform: float
    frac_ahead_power: float
    frac_ahead_log: float
    cancelled_size_ahead_share: float
    position_edges: list[float]
    position_pairs: list[int]
    position_observed: list[float | None]
    position_power: list[float | None]
    position_log: list[float | None]
    max_refs_per_cancel: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)


def fit_queue_cancel(
    ts_ns: np.ndarray,
    seq: np.ndarray,
    order_id: np.ndarray,
    event: np.ndarray,
    side: np.ndarray,
    price: np.ndarray,
    size: np.ndarray,
    level_size: np.ndarray,
    *,
    max_refs_per_cancel: int | None = 32,
    seed: int = 0,
    reference: np.ndarray | None = None,
) -> QueueCancelFit:
    """Fit the queue cancellation models to level-3 order events.

    Arguments as :func:`calibration.queue_replay.cancel_pairs` (event codes ``EVENT_*``
    there; sizes in base units). Raises CalibrationError when there are fewer than
    :data:`MIN_INFORMATIVE_PAIRS` informative pairs or n is not identified.
    """
    pairs = cancel_pairs(
        ts_ns, seq, order_id, event, side, price, size, level_size,
        max_refs_per_cancel=max_refs_per_cancel, seed=seed, reference=reference,
    )
    return fit_queue_cancel_pairs(pairs, max_refs_per_cancel=max_refs_per_cancel)


def fit_queue_cancel_pairs(
    pairs: CancelPairs, *, max_refs_per_cancel: int | None = None
) -> QueueCancelFit:
    """The MLE of n, its errors, the log model and the summaries, from built pairs."""
    keep = (pairs.front > 0) & (pairs.back > 0)
    n_inf = int(keep.sum())
    if n_inf < MIN_INFORMATIVE_PAIRS:
        raise CalibrationError(
            f"queue cancellation: {n_inf} informative (cancel, resting order) pairs, need "
            f">= {MIN_INFORMATIVE_PAIRS} ({pairs.n_cancels} cancels, {pairs.n_cancels_used} "
            f"at fully known levels, {pairs.n_cancels_unknown_queue} at levels holding orders "
            "of unknown position); the source needs per-order (L3) events"
        )
    front, back = pairs.front[keep], pairs.back[keep]
    y = pairs.ahead[keep].astype(float)
    cluster = pairs.cancel[keep]
    x = np.log(front) - np.log(back)
    n_hat = _power_mle(x, y)
    p = special.expit(n_hat * x)
    info = float(np.sum(x * x * p * (1.0 - p)))
    per_cancel = np.bincount(cluster, weights=(y - p) * x)
    se_cluster = math.sqrt(float(np.sum(per_cancel**2))) / info
    ll_power = _bernoulli_loglik(y, n_hat * x)
    lf, lb = np.log1p(front), np.log1p(back)
    p_log = lf / (lf + lb)
    ll_log = float(np.sum(y * np.log(p_log) + (1.0 - y) * np.log1p(-p_log)))
    aic_power, aic_log = 2.0 - 2.0 * ll_power, -2.0 * ll_log
    uniform = front / (front + back)
    w = pairs.cancelled_size[keep]
    table = _position_table(uniform, y, p, p_log)
    return QueueCancelFit(
        power_n=float(n_hat),
        power_n_stderr=float(se_cluster),
        power_n_stderr_naive=float(1.0 / math.sqrt(info)),
        loglik_power=float(ll_power),
        loglik_log=ll_log,
        aic_power=float(aic_power),
        aic_log=float(aic_log),
        preferred="prob_power" if aic_power <= aic_log else "prob_log",
        n_pairs=len(pairs.front),
        n_pairs_informative=n_inf,
        n_cancels=pairs.n_cancels,
        n_cancels_used=pairs.n_cancels_used,
        n_cancels_unknown_queue=pairs.n_cancels_unknown_queue,
        n_cancels_alone=pairs.n_cancels_alone,
        n_orders_left_unseen=pairs.n_orders_left_unseen,
        frac_ahead_observed=float(y.mean()),
        frac_ahead_uniform=float(uniform.mean()),
        frac_ahead_power=float(p.mean()),
        frac_ahead_log=float(p_log.mean()),
        cancelled_size_ahead_share=float(np.sum(w * y) / np.sum(w)),
        max_refs_per_cancel=max_refs_per_cancel,
        **table,
    )


def _bernoulli_loglik(y: Float64Array, logit: Float64Array) -> float:
    """sum y log sigmoid(z) + (1 - y) log sigmoid(-z), stable for large |z|."""
    return float(-np.sum(np.logaddexp(0.0, -logit) * y + np.logaddexp(0.0, logit) * (1 - y)))


def _power_mle(x: Float64Array, y: Float64Array) -> float:
    """Root of the (decreasing) score ``sum (y - sigmoid(n x)) x`` in POWER_N_BOUNDS."""

    def score(n: float) -> float:
        return float(np.sum((y - special.expit(n * x)) * x))

    lo, hi = POWER_N_BOUNDS
    s_lo, s_hi = score(lo), score(hi)
    if s_lo <= 0.0 or s_hi >= 0.0:
        edge = "lower" if s_lo <= 0.0 else "upper"
        raise CalibrationError(
            f"queue cancellation: the power n is not identified (MLE at or beyond the {edge} "
            f"bound of {POWER_N_BOUNDS}: cancels concentrate at the ends of the queue or in "
            "its middle beyond what x**n can describe); use the log or risk-averse model"
        )
    return float(optimize.brentq(score, lo, hi, xtol=1e-10))


def _position_table(
    position: Float64Array, y: Float64Array, p_power: Float64Array, p_log: Float64Array
) -> dict[str, Any]:
    edges = np.linspace(0.0, 1.0, _POSITION_BINS + 1)
    which = np.clip(np.searchsorted(edges, position, side="right") - 1, 0, _POSITION_BINS - 1)
    counts = np.bincount(which, minlength=_POSITION_BINS)

    def mean(values: Float64Array) -> list[float | None]:
        sums = np.bincount(which, weights=values, minlength=_POSITION_BINS)
        return [float(s / c) if c else None for s, c in zip(sums, counts, strict=True)]

    return {
        "position_edges": [float(e) for e in edges],
        "position_pairs": [int(c) for c in counts],
        "position_observed": mean(y),
        "position_power": mean(p_power),
        "position_log": mean(p_log),
    }
