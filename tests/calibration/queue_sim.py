"""Test-side simulator of level-3 order events with cancel positions from a planted model.

One price level (bid side). Resting orders of 1-10 units join the back of the queue;
zero-size *probe* orders join it too (our own orders in the simulator: not part of the
displayed size). A cancellation picks a point ``u`` of the displayed queue ``[0, Q]``
with CDF ``F(x) = f(x) / (f(x) + f(Q - x))`` and cancels (fully, or half of it with
priority kept) the order covering it. For every probe at position x (front = x, back
= Q - x) the cancel is ahead with probability ``F(x) = f(front) / (f(front) + f(back))``:
exactly the simulator's model, so the fit of the probes' pairs is well specified.
Executions take from the head. Event codes are calibration.queue_replay's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calibration.queue_replay import EVENT_ADD, EVENT_CANCEL, EVENT_DELETE, EVENT_EXECUTE

__all__ = ["SimulatedOrders", "simulate_orders"]


@dataclass(frozen=True)
class SimulatedOrders:
    ts_ns: np.ndarray
    seq: np.ndarray
    order_id: np.ndarray
    event: np.ndarray
    side: np.ndarray
    price: np.ndarray
    size: np.ndarray
    level_size: np.ndarray
    probe: np.ndarray  # per event: the add of a probe order

    def arrays(self) -> tuple[np.ndarray, ...]:
        return (self.ts_ns, self.seq, self.order_id, self.event, self.side, self.price,
                self.size, self.level_size)


def _cancel_point(model: str, n: float, total: float, rng: np.random.Generator) -> float:
    """A draw of u in [0, total] with CDF f(u) / (f(u) + f(total - u))."""
    v = rng.uniform()
    if model == "power":
        r = (v / (1.0 - v)) ** (1.0 / n)
        return total * r / (1.0 + r)
    lo, hi = 0.0, total  # log model: bisection on the monotone CDF
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        a, b = np.log1p(mid), np.log1p(total - mid)
        if a / (a + b) < v:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def simulate_orders(
    model: str, n: float, n_events: int, seed: int, *, probes: int = 6
) -> SimulatedOrders:
    """``n_events`` events at one level; cancels placed by ``model`` ("power" with
    exponent ``n``, or "log"); about ``probes`` probe orders resting at any time."""
    rng = np.random.default_rng(seed)
    queue: list[list[float]] = []  # [order id, size, is probe], head first
    rows: list[tuple[int, int, float, float, bool]] = []

    def emit(oid: float, ev: int, qty: float, is_probe: bool = False) -> None:
        """Record an event already applied to ``queue``, with the displayed size after."""
        queue[:] = [o for o in queue if o[2] or o[1] > 0]
        rows.append((int(oid), ev, qty, sum(o[1] for o in queue), is_probe))

    next_id = 1
    while len(rows) < n_events:
        real = [o for o in queue if not o[2]]
        n_probe = len(queue) - len(real)
        draw = rng.uniform()
        if n_probe < probes and draw < 0.15:
            queue.append([next_id, 0.0, True])
            emit(next_id, EVENT_ADD, 0.0, True)
            next_id += 1
        elif len(real) < 4 or draw < 0.55:
            qty = float(rng.integers(1, 11))
            queue.append([next_id, qty, False])
            emit(next_id, EVENT_ADD, qty)
            next_id += 1
        elif draw < 0.62:
            head = real[0]
            qty = float(min(head[1], rng.integers(1, 6)))
            head[1] -= qty
            emit(head[0], EVENT_EXECUTE, qty)
        else:
            u = _cancel_point(model, n, sum(o[1] for o in real), rng)
            ahead = 0.0
            for order in real:
                if ahead + order[1] >= u:
                    break
                ahead += order[1]
            partial = order[1] >= 2 and rng.uniform() < 0.2
            qty = float(order[1] // 2) if partial else order[1]
            order[1] -= qty
            emit(order[0], EVENT_CANCEL if partial else EVENT_DELETE, qty)
        if n_probe and rng.uniform() < 0.1:  # probes leave, so they sample every position
            probe = queue[int(rng.choice([k for k, o in enumerate(queue) if o[2]]))]
            queue.remove(probe)
            emit(probe[0], EVENT_DELETE, 0.0)
    m = len(rows)
    oid, ev, qty, level, probe = (np.array(c) for c in zip(*rows, strict=True))
    return SimulatedOrders(
        ts_ns=np.arange(m, dtype=np.int64) * 1_000_000,
        seq=np.arange(m, dtype=np.int64),
        order_id=oid.astype(np.int64),
        event=ev.astype(np.int64),
        side=np.ones(m, np.int64),
        price=np.full(m, 100.0),
        size=qty.astype(float),
        level_size=level.astype(float),
        probe=probe.astype(bool),
    )
