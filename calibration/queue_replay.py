"""FIFO queues rebuilt from level-3 order events, and the cancel positions they reveal.

Each price level is a FIFO queue of orders in arrival order (price-time priority; a
partial cancel keeps priority). At each visible cancellation (a partial cancel or a
delete) of an order whose level is fully known, every other resting order at the level
is a *reference*: a stand-in for our own order in the simulator. For each reference the
pair records, measured just before the cancel as the simulator measures them
(trader/sim/queue.py, ``queue_after_depth_change``):

- ``front``: displayed size ahead of the reference (the cancelled order counted at its
  pre-cancel size when it is ahead),
- ``back``: displayed size behind it (likewise), the reference itself excluded,
- ``ahead``: whether the cancelled order was ahead of it.

The cancelled order stays in ``front`` or ``back`` because the simulator evaluates
``f(front)``, ``f(back)`` on the queue before the decrease; leaving it out would also make
the model impossible (probability 0) whenever it was the only order on its side.

A source that records only the first levels (LOBSTER's level-N files) sends no message
for an order that leaves while its price is beyond them. Such an order is dropped when
the displayed size proves it gone: its level shows 0, or a new order is all it shows.

A level is *fully known* at a cancel when the orders seen arriving there add up to the
displayed size before the cancel (``level_size`` after it plus the cancelled size):
orders resting before the recording began, or that arrived while their price was beyond
the recorded depth, would otherwise sit at unknown places in the queue. Cancels at a
level that is not fully known are skipped and counted.

Units: sizes in base units (shares for an equity), as the simulator's displayed sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calibration.errors import CalibrationError
from calibration.types import Float64Array

__all__ = [
    "EVENT_ADD",
    "EVENT_CANCEL",
    "EVENT_DELETE",
    "EVENT_EXECUTE",
    "CancelPairs",
    "cancel_pairs",
]

EVENT_ADD = 0
EVENT_CANCEL = 1  # partial cancel: size down, priority kept
EVENT_DELETE = 2  # the rest of the order cancelled
EVENT_EXECUTE = 3  # visible execution against the order

_SIZE_TOL = 1e-9  # relative: sizes are sums of exchange lots, exact in float64


@dataclass(frozen=True)
class CancelPairs:
    """(cancel, reference) pairs with the queue around the reference, and the counts.

    Attributes
    ----------
    front, back : Float64Array
        Size ahead of and behind the reference just before the cancel, base units.
    ahead : np.ndarray
        bool, True when the cancelled order was ahead of the reference.
    cancel : np.ndarray
        int64, index of the cancel the pair belongs to (0..n_cancels_used-1): the
        cluster of the standard errors.
    cancelled_size : Float64Array
        The size cancelled (base units) by the pair's cancel.
    n_cancels : int
        Visible cancellations (partial cancels and deletes of a positive size) in the input.
    n_cancels_used : int
        Of them, those at a fully known level with at least one other resting order.
    n_cancels_unknown_queue : int
        Skipped: unknown order, level not fully known, or a delete whose size disagrees
        with the order's known remaining size.
    n_cancels_alone : int
        Skipped: the cancelled order was alone at its level (no reference).
    n_orders_left_unseen : int
        Orders dropped without a message of their own: their level was shown empty, or an
        arriving order was all it showed (they left while beyond the recorded depth).
    """

    front: Float64Array
    back: Float64Array
    ahead: np.ndarray
    cancel: np.ndarray
    cancelled_size: Float64Array
    n_cancels: int
    n_cancels_used: int
    n_cancels_unknown_queue: int
    n_cancels_alone: int
    n_orders_left_unseen: int


@dataclass
class _Resting:
    """A resting order: its level (side, price), remaining size, may it be a reference."""

    level: tuple[int, float]
    size: float
    reference: bool


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _SIZE_TOL * max(1.0, abs(a), abs(b))


def cancel_pairs(
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
) -> CancelPairs:
    """Replay the order events and collect the (cancel, reference) pairs.

    Parameters
    ----------
    ts_ns, seq : int64 arrays
        Exchange time (ns) and source row of each event; replayed in (ts, seq) order.
    order_id, event, side : int arrays
        The order, ``EVENT_*`` code, +1 bid / -1 ask.
    price, size : float arrays
        Price (quote currency) and the size added, cancelled or executed (base units).
    level_size : float array
        Displayed size at the event's (side, price) just after it; NaN when unknown.
    max_refs_per_cancel : int or None
        At most this many references per cancel, drawn without replacement (seeded);
        None for every resting order (the pairs grow as cancels x queue length).
    seed : int
        Seed of that draw.
    reference : bool array, optional
        Per event: whether the order an ``EVENT_ADD`` creates may serve as a reference
        (default: every order). Simulated tests mark zero-size probe orders this way.

    Raises
    ------
    CalibrationError
        Arrays of unequal length, or an add of an order id already resting.
    """
    cols = [ts_ns, seq, order_id, event, side, price, size, level_size]
    n = len(ts_ns)
    if any(len(c) != n for c in cols) or (reference is not None and len(reference) != n):
        raise CalibrationError(
            "cancel_pairs: ts_ns, seq, order_id, event, side, price, size, level_size "
            f"(and reference) must have one entry per event; lengths {[len(c) for c in cols]}"
        )
    if max_refs_per_cancel is not None and max_refs_per_cancel < 1:
        raise CalibrationError(f"max_refs_per_cancel must be >= 1 or None: {max_refs_per_cancel}")
    rng = np.random.default_rng(seed)
    order = np.lexsort((np.asarray(seq), np.asarray(ts_ns)))
    orders: dict[int, _Resting] = {}
    queues: dict[tuple[int, float], list[int]] = {}
    totals: dict[tuple[int, float], float] = {}
    fronts: list[Float64Array] = []
    backs: list[Float64Array] = []
    aheads: list[np.ndarray] = []
    sizes: list[float] = []
    n_cancels = n_unknown = n_alone = n_unseen = 0
    ev_all = np.asarray(event)

    def drop(oid: int) -> None:
        state = orders.pop(oid)
        queue = queues[state.level]
        queue.remove(oid)
        totals[state.level] -= state.size
        if not queue:
            del queues[state.level]
            del totals[state.level]

    for i in order:
        ev = int(ev_all[i])
        oid = int(order_id[i])
        qty = float(size[i])
        key = (int(side[i]), float(price[i]))
        if ev == EVENT_ADD:
            if oid in orders:
                raise CalibrationError(
                    f"order {oid} added twice (event at ts {int(ts_ns[i])}, seq {int(seq[i])}) "
                    "without leaving the book; are two days' or two files' events mixed?"
                )
            ok_ref = True if reference is None else bool(reference[i])
            orders[oid] = _Resting(key, qty, ok_ref)
            queues.setdefault(key, []).append(oid)
            totals[key] = totals.get(key, 0.0) + qty
        elif ev not in (EVENT_CANCEL, EVENT_DELETE, EVENT_EXECUTE):
            raise CalibrationError(f"unknown event code {ev} at seq {int(seq[i])}")
        else:
            # A cancel that takes no displayed size (a zero-size order leaving) moves nobody.
            is_cancel = ev != EVENT_EXECUTE and qty > 0
            n_cancels += is_cancel
            state = orders.get(oid)
            if state is None:  # rested before the recording, or arrived beyond its depth
                n_unknown += is_cancel
            else:
                key = state.level
                left = state.size
                if is_cancel:
                    used = _collect(queues[key], orders, oid, qty, left, float(level_size[i]),
                                    totals[key], ev, rng, max_refs_per_cancel)
                    if used is None:
                        n_unknown += 1
                    elif not used:
                        n_alone += 1
                    else:
                        fronts.append(used[0])
                        backs.append(used[1])
                        aheads.append(used[2])
                        sizes.append(qty)
                taken = left if ev == EVENT_DELETE else min(qty, left)
                state.size = left - taken
                totals[key] -= taken
                if state.size <= _SIZE_TOL * max(1.0, left):
                    state.size = 0.0
                    drop(oid)
        # Orders that left while their price was beyond the recorded depth sent no
        # message: the displayed size says when they are gone for sure (the level is
        # empty, or an arriving order is all there is).
        after = float(level_size[i])
        if key in queues and np.isfinite(after):
            alone = ev == EVENT_ADD and _close(after, qty)
            if after <= _SIZE_TOL or alone:
                for other in [o for o in queues[key] if not (alone and o == oid)]:
                    n_unseen += 1
                    drop(other)
    counts = [len(f) for f in fronts]
    return CancelPairs(
        front=np.concatenate(fronts) if fronts else np.zeros(0),
        back=np.concatenate(backs) if backs else np.zeros(0),
        ahead=np.concatenate(aheads) if aheads else np.zeros(0, bool),
        cancel=np.repeat(np.arange(len(counts), dtype=np.int64), counts),
        cancelled_size=np.repeat(np.asarray(sizes, float), counts),
        n_cancels=int(n_cancels),
        n_cancels_used=len(counts),
        n_cancels_unknown_queue=int(n_unknown),
        n_cancels_alone=int(n_alone),
        n_orders_left_unseen=int(n_unseen),
    )


def _collect(
    queue: list[int],
    orders: dict[int, _Resting],
    oid: int,
    qty: float,
    left: float,
    level_after: float,
    known_total: float,
    ev: int,
    rng: np.random.Generator,
    max_refs: int | None,
) -> tuple[Float64Array, Float64Array, np.ndarray] | tuple[()] | None:
    """The pairs of one cancel; () without a reference; None when the queue is not known
    (the orders seen do not add up to the displayed size before the cancel, or a delete
    takes other than the order's known remaining size)."""
    before = level_after + qty
    if not (np.isfinite(before) and _close(before, known_total)):
        return None
    if ev == EVENT_DELETE and not _close(qty, left):
        return None
    pair = _pairs(queue, orders, oid, rng, max_refs) if len(queue) > 1 else None
    return () if pair is None else pair


def _pairs(
    queue: list[int],
    orders: dict[int, _Resting],
    cancelled: int,
    rng: np.random.Generator,
    max_refs: int | None,
) -> tuple[Float64Array, Float64Array, np.ndarray] | None:
    """front, back, ahead of the references of one cancel (None without a reference)."""
    q = np.array([orders[o].size for o in queue])
    pos = queue.index(cancelled)
    ahead_of = np.cumsum(q) - q  # size ahead of each order, the cancelled one included
    total = float(q.sum())
    idx = np.array(
        [k for k, o in enumerate(queue) if k != pos and orders[o].reference], dtype=np.int64
    )
    if not len(idx):
        return None
    if max_refs is not None and len(idx) > max_refs:
        idx = np.sort(rng.choice(idx, size=max_refs, replace=False))
    front = ahead_of[idx]
    back = total - front - q[idx]
    return front, np.maximum(back, 0.0), idx > pos
