"""Queue cancellation fit: FIFO replay on hand-made events, recovery of a planted model."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.errors import CalibrationError
from calibration.queue_cancel import fit_queue_cancel
from calibration.queue_replay import (
    EVENT_ADD,
    EVENT_CANCEL,
    EVENT_DELETE,
    EVENT_EXECUTE,
    cancel_pairs,
)
from tests.calibration.queue_sim import simulate_orders

A, C, D, E = EVENT_ADD, EVENT_CANCEL, EVENT_DELETE, EVENT_EXECUTE


def _events(rows: list[tuple[int, int, float, float]]) -> tuple[np.ndarray, ...]:
    """(order id, event, size, level size after) rows at one bid level, one per ms."""
    oid, ev, size, level = (np.array(c) for c in zip(*rows, strict=True))
    m = len(rows)
    return (np.arange(m, dtype=np.int64) * 1_000_000, np.arange(m, dtype=np.int64),
            oid.astype(np.int64), ev.astype(np.int64), np.ones(m, np.int64),
            np.full(m, 100.0), size.astype(float), level.astype(float))


def test_replay_gives_each_reference_its_front_back_and_side_of_the_cancel() -> None:
    pairs = cancel_pairs(*_events([
        (1, A, 10, 10), (2, A, 20, 30), (3, A, 30, 60), (4, A, 40, 100),
        (2, D, 20, 80),  # references 1, 3, 4 around the cancelled 2
        (4, C, 10, 70),  # a partial cancel keeps 4 at the back
        (1, E, 10, 60),
        (99, D, 5, 55),  # an order never seen arriving: its level is not fully known
        (3, D, 30, 25),  # 99's 5 units sit somewhere: 30 + 25 != 30 + 30, skipped
    ]), max_refs_per_cancel=None)
    assert pairs.front.tolist() == [0, 30, 60, 0, 10]
    assert pairs.back.tolist() == [90, 40, 0, 70, 40]  # 4 counted at its size before
    assert pairs.ahead.tolist() == [False, True, True, False, False]
    assert pairs.cancel.tolist() == [0, 0, 0, 1, 1]
    assert pairs.cancelled_size.tolist() == [20, 20, 20, 10, 10]
    assert (pairs.n_cancels, pairs.n_cancels_used, pairs.n_cancels_unknown_queue) == (4, 2, 2)


def test_orders_that_left_beyond_the_recorded_depth_are_dropped_when_the_level_proves_it(
) -> None:
    pairs = cancel_pairs(*_events([
        (1, A, 10, 10), (2, A, 20, 30),
        (2, D, 20, 10),  # a used cancel: reference 1 at the head, the cancel behind it
        # 1 leaves while the price is beyond the recorded levels: no message.
        (3, A, 5, 5),  # 3 is all the level shows: 1 is gone
        (4, A, 6, 11), (3, D, 5, 6),
    ]), max_refs_per_cancel=None)
    assert pairs.n_orders_left_unseen == 1
    assert pairs.n_cancels_used == 2 and pairs.n_cancels_unknown_queue == 0
    assert pairs.front.tolist() == [0, 5] and pairs.back.tolist() == [20, 0]
    ghost = cancel_pairs(*_events([
        (1, A, 10, 10), (2, A, 20, 30),  # 2 leaves unseen; then 1 is deleted
        (1, D, 10, 0),  # 10 + 0 != 30: skipped; the level shows 0: 2 is gone too
        (5, A, 4, 4), (6, A, 4, 8), (5, D, 4, 4),
    ]), max_refs_per_cancel=None)
    assert ghost.n_orders_left_unseen == 1 and ghost.n_cancels_unknown_queue == 1
    assert ghost.n_cancels_used == 1 and ghost.ahead.tolist() == [True]


def test_a_reference_sample_is_bounded_and_seeded() -> None:
    rows = [(k, A, 1.0, float(k)) for k in range(1, 41)] + [(20, D, 1.0, 39.0)]
    one = cancel_pairs(*_events(rows), max_refs_per_cancel=5, seed=3)
    again = cancel_pairs(*_events(rows), max_refs_per_cancel=5, seed=3)
    assert len(one.front) == 5 and one.front.tolist() == again.front.tolist()
    # Each sampled reference's side of the cancel agrees with its place in the queue.
    assert (one.ahead == (one.front > 19)).all()


def test_malformed_input_is_refused_with_the_reason() -> None:
    ts, seq, oid, ev, side, px, size, level = _events([(1, A, 10, 10), (1, A, 5, 15)])
    with pytest.raises(CalibrationError, match="order 1 added twice"):
        cancel_pairs(ts, seq, oid, ev, side, px, size, level)
    with pytest.raises(CalibrationError, match="one entry per event"):
        cancel_pairs(ts, seq[:1], oid, ev, side, px, size, level)
    with pytest.raises(CalibrationError, match="unknown event code 7"):
        cancel_pairs(ts, seq, oid, np.array([A, 7]), side, px, size, level)
    with pytest.raises(CalibrationError, match="informative"):
        fit_queue_cancel(*_events([(1, A, 10, 10), (2, A, 5, 15), (1, D, 10, 5)]))


@pytest.mark.parametrize("n", [0.5, 2.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_power_n_is_recovered_within_three_clustered_errors(n: float, seed: int) -> None:
    sim = simulate_orders("power", n, 6000, seed)
    fit = fit_queue_cancel(*sim.arrays(), reference=sim.probe, max_refs_per_cancel=None)
    assert abs(fit.power_n - n) < 3.0 * fit.power_n_stderr
    # The pairs of one cancel share its position: clustering widens the error.
    assert fit.power_n_stderr > fit.power_n_stderr_naive
    assert fit.preferred == "prob_power" and fit.loglik_power > fit.loglik_log
    assert fit.n_cancels_unknown_queue == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_model_is_preferred_when_it_placed_the_cancels(seed: int) -> None:
    sim = simulate_orders("log", 0.0, 6000, seed)
    fit = fit_queue_cancel(*sim.arrays(), reference=sim.probe, max_refs_per_cancel=None)
    assert fit.preferred == "prob_log"
    # Observed share ahead by position follows the log model's prediction.
    for observed, predicted, count in zip(
        fit.position_observed, fit.position_log, fit.position_pairs, strict=True
    ):
        if count >= 200:
            assert observed is not None and predicted is not None
            # 4 binomial errors, each doubled for the clustering of a cancel's pairs.
            assert abs(observed - predicted) < 4.0 * 2.0 * np.sqrt(0.25 / count)
