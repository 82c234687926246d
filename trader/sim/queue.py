"""Queue position of a resting order: FIFO behind the displayed size, advanced by trades
and, under the probabilistic models, by cancellations.

``queue_ahead`` is the displayed size (base units) ahead of our order at its level. NaN
means unknown: the order rests beyond the displayed depth, and its queue is set the first
time a snapshot shows the level. Negative means nothing is ahead and that much traded
size has reached our order without yet making a whole lot (see :func:`queue_after_trade`).
"""

from __future__ import annotations

import math

from numba import njit

from trader.sim.config import QUEUE_PROB_LOG, QUEUE_PROB_POWER

__all__ = ["prob_behind", "queue_after_depth_change", "queue_after_trade"]


@njit(cache=True)
def prob_behind(model: int, param: float, front: float, back: float) -> float:
    """Share of a level's size decrease that falls behind our order.

    ``f(back) / (f(back) + f(front))`` with ``f(x) = x**n`` (``QUEUE_PROB_POWER``,
    ``param`` = n) or ``f(x) = log(1 + x)`` (``QUEUE_PROB_LOG``), as hftbacktest's
    ``PowerProbQueueFunc`` and ``LogProbQueueFunc``. 1 when both are zero.
    """
    front = max(front, 0.0)
    back = max(back, 0.0)
    if model == QUEUE_PROB_POWER:
        fb = back**param
        ff = front**param
    elif model == QUEUE_PROB_LOG:
        fb = math.log1p(back)
        ff = math.log1p(front)
    else:
        return 1.0
    total = fb + ff
    if total <= 0.0 or math.isinf(total):
        return 1.0
    return fb / total


@njit(cache=True, inline="always")
def queue_after_trade(queue_ahead: float, trade_qty: float, lot: float) -> tuple[float, float]:
    """Queue ahead after a trade of ``trade_qty`` at our level, and the qty that fills us.

    The trade eats the queue ahead first; what goes beyond it reaches our order. Fills
    come in whole lots: ``floor(reach / lot)`` lots (with a 1e-6 lot tolerance, so the
    float residue of summing lot-sized quantities, e.g. ``0.003 - 0.001 - 0.002``, is
    neither a fill nor a lost lot). A reach short of a lot is carried as a negative
    ``queue_ahead`` (size that reached us but did not yet make a lot), so later trades
    complete it, as hftbacktest's queue models do (they fill when the negative front
    queue rounds to at least one lot).
    """
    if math.isnan(queue_ahead):
        return queue_ahead, 0.0
    left = queue_ahead - trade_qty
    if left >= 0.0:
        return left, 0.0
    fill = math.floor(-left / lot + 1e-6) * lot
    return min(left + fill, 0.0), fill


@njit(cache=True, inline="always")
def queue_after_depth_change(
    model: int,
    param: float,
    queue_ahead: float,
    prev_qty: float,
    new_qty: float,
    traded_since: float,
) -> float:
    """Queue ahead after the displayed size at our level went ``prev_qty -> new_qty``.

    Parameters
    ----------
    model, param : int, float
        ``QUEUE_*`` constant and the power exponent.
    queue_ahead : float
        Before the change; trades since the last snapshot already subtracted.
    prev_qty, new_qty : float
        Displayed size at our price in the previous and the new snapshot.
    traded_since : float
        Trade qty at our level since the previous snapshot: that part of the decrease is
        already counted, so only the rest is cancellation.

    Notes
    -----
    Risk-averse: ``min(queue_ahead, new_qty)``. Probabilistic (hftbacktest's
    ProbQueueModel): with ``chg = prev - new - traded`` > 0, ``front = queue_ahead``,
    ``back = prev - front`` and ``p = prob_behind(front, back)``, the estimate is
    ``front - (1 - p) chg + min(back - p chg, 0)`` (cancels beyond the back spill ahead),
    clipped to ``new_qty``.
    """
    if math.isnan(queue_ahead):
        return new_qty
    if queue_ahead < 0.0:
        return queue_ahead  # nothing ahead of us to cancel; keep the carried reach
    if model != QUEUE_PROB_POWER and model != QUEUE_PROB_LOG:
        return min(queue_ahead, new_qty)
    chg = prev_qty - new_qty - traded_since
    if chg <= 0.0:
        return max(min(queue_ahead, new_qty), 0.0)
    front = queue_ahead
    back = prev_qty - front
    p = prob_behind(model, param, front, back)
    est = front - (1.0 - p) * chg + min(back - p * chg, 0.0)
    return max(min(est, new_qty), 0.0)
