"""Faults injected into a live Hyperliquid session on the local server, one at a time.

A :class:`HyperliquidSession` quotes BTC one tick-offset outside the touch
(``touch_session``) against :class:`~tests.trader.hyperliquid.server.FakeHyperliquid`;
public trades fill its orders (``match_trades``). Each fault of :data:`FAULTS` is
injected, then the session must settle: nothing in flight, its live orders exactly the
venue's resting ones (by oid), its position the venue's, every venue fill booked once,
and no kill switch. After the storm the session stops; every order must be cancelled at
the venue. The tally per fault: injected, survived (settled within the limit), orders
lost (ours and the venue's differ at the limit, or an order rests at the venue after
the stop) and duplicated (two of our orders resting on one side at the venue at once;
``FakeHyperliquid.side_overlaps``), fills lost (venue fills not booked, or booked twice).

Used by tests/faults/test_trader_faults.py (each fault a few times, seeded) and
bench/bench_faults.py (``--trader-rounds N``).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import trader.hyperliquid.session as session_module
from tests.trader.hyperliquid.conftest import touch_session, wait_for
from tests.trader.hyperliquid.server import FakeHyperliquid
from trader.hyperliquid.session import HyperliquidSession

SETTLE_S = 15.0
"""Seconds a fault may take to settle (an unanswered order waits its 5 s ack timeout)."""


@dataclass
class Tally:
    """One fault's figures over the storm."""

    injected: int = 0
    survived: int = 0
    orders_lost: int = 0
    orders_duplicated: int = 0
    fills_lost: int = 0
    failures: list[str] = field(default_factory=list)


class JumpingClock:
    """Stands in for the ``time`` module of :mod:`trader.hyperliquid.session`: the real
    clocks plus a jump (seconds of ``monotonic``, ns of ``time_ns``) set by a fault."""

    def __init__(self) -> None:
        self.mono_s = 0.0
        self.wall_ns = 0

    def monotonic(self) -> float:
        return time.monotonic() + self.mono_s

    def time_ns(self) -> int:
        return time.time_ns() + self.wall_ns

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def mismatch(session: HyperliquidSession, hl: FakeHyperliquid) -> str | None:
    """What differs between our view of BTC and the venue's, or None when they agree
    and nothing is in flight."""
    c = session.coins["BTC"]
    m = c.manager
    if m is None:
        return "no order manager yet"
    if c.busy or any(o.is_pending for o in m.live_orders()):
        return "actions in flight"
    ours = {o.venue_oid for o in m.live_orders()}
    venue = {o["oid"] for o in hl.resting()}
    if ours != venue:
        return f"our live orders {sorted(ours, key=str)} != the venue's {sorted(venue)}"
    if abs(c.position - hl.position["BTC"]) > 1e-9:
        return f"position {c.position} != the venue's {hl.position['BTC']}"
    if m.ledger.n_fills != len(hl.fills):
        return f"{m.ledger.n_fills} fills booked, the venue made {len(hl.fills)}"
    return None


async def _quiet(hl: FakeHyperliquid) -> None:
    await wait_for(lambda: len(hl.resting()) == 2, "both sides resting", SETTLE_S)


# -- the faults: each injects and returns once the fault has happened ----------------------


async def feed_drop(
    s: HyperliquidSession, hl: FakeHyperliquid, rng: random.Random, clock: JumpingClock
) -> None:
    """Every connection cut (no close handshake), a fill lost with it."""
    await _quiet(hl)
    hl.fill_side(rng.choice("BA"), publish=False)
    n = s.resyncs
    hl.drop_connections()
    await wait_for(lambda: s.resyncs > n, "the resync after the drop", SETTLE_S)


async def duplicate_market(
    s: HyperliquidSession, hl: FakeHyperliquid, rng: random.Random, clock: JumpingClock
) -> None:
    """Every book and trades frame sent twice for a while."""
    hl.duplicate_market = True
    await asyncio.sleep(rng.uniform(0.3, 0.8))
    hl.duplicate_market = False


async def fills_out_of_order(
    s: HyperliquidSession, hl: FakeHyperliquid, rng: random.Random, clock: JumpingClock
) -> None:
    """A resting order filled in three parts, delivered shuffled and repeated."""
    await _quiet(hl)
    parts = hl.fill_side(rng.choice("BA"), (0.0002, 0.0003, 0.0001), publish=False)
    sent = parts * 2 + [rng.choice(parts)]
    rng.shuffle(sent)
    hl.call(lambda: hl.send_fills(sent))


async def venue_reject(
    s: HyperliquidSession, hl: FakeHyperliquid, rng: random.Random, clock: JumpingClock
) -> None:
    """The next order refused (post-only would cross); a fill makes the session place."""
    await _quiet(hl)
    c = s.coins["BTC"]
    n = c.rejects
    hl.reject_next = "Post only order would have immediately matched, bbo was 1@2. asset=0"
    hl.fill_side(rng.choice("BA"))
    await wait_for(lambda: c.rejects > n, "the reject", SETTLE_S)


async def venue_timeout(
    s: HyperliquidSession, hl: FakeHyperliquid, rng: random.Random, clock: JumpingClock
) -> None:
    """The next action is applied at the venue, but its answer and its updates are lost:
    the request times out and the ack timeout must resolve the order."""
    await _quiet(hl)
    n = s.send_errors
    hl.lose_next_answer = True
    hl.fill_side(rng.choice("BA"))
    await wait_for(lambda: s.send_errors > n, "the timed-out request", SETTLE_S)


async def venue_clock_jump(
    s: HyperliquidSession, hl: FakeHyperliquid, rng: random.Random, clock: JumpingClock
) -> None:
    """The venue's clock jumps forward or back by 1-60 s (books stamped accordingly)."""
    jump_ns = int(rng.uniform(1.0, 60.0) * 1e9) * rng.choice((-1, 1))
    hl.skew_ns += jump_ns
    await asyncio.sleep(0.3)


async def local_clock_jump(
    s: HyperliquidSession, hl: FakeHyperliquid, rng: random.Random, clock: JumpingClock
) -> None:
    """Our clocks jump (a suspended VM, an NTP step): the monotonic one forward by up to
    2x the stale-book limit, the wall one forward or back by up to 10 s."""
    clock.mono_s += rng.uniform(0.2, 2.0) * s.config.stale_book_s
    clock.wall_ns += int(rng.uniform(-10.0, 10.0) * 1e9)
    await asyncio.sleep(0.3)


Fault = Callable[
    [HyperliquidSession, FakeHyperliquid, random.Random, JumpingClock], Awaitable[None]
]

FAULTS: dict[str, Fault] = {
    "feed drop (connections cut, a fill lost with them)": feed_drop,
    "market frames duplicated": duplicate_market,
    "fills out of order and repeated": fills_out_of_order,
    "venue rejects an order": venue_reject,
    "venue answer lost (request timeout)": venue_timeout,
    "venue clock jumps (forward or back)": venue_clock_jump,
    "local clock jumps (monotonic forward, wall either way)": local_clock_jump,
}


async def _storm(
    hl: FakeHyperliquid, plan: list[str], seed: int, tallies: dict[str, Tally], clock: JumpingClock
) -> None:
    rng = random.Random(seed)
    session = touch_session(hl, offset_ticks=1.0)
    run = asyncio.create_task(session.run())
    try:
        await wait_for(lambda: len(hl.resting()) == 2, "both sides resting", SETTLE_S)
        for name in plan:
            tally = tallies[name]
            overlaps = hl.side_overlaps
            tally.injected += 1
            try:
                await FAULTS[name](session, hl, rng, clock)
                await wait_for(
                    lambda: (
                        mismatch(session, hl) is None and not session.kill.active and session.synced
                    ),
                    f"settling after: {name}",
                    SETTLE_S,
                )
                tally.survived += 1
            except AssertionError:
                problem = mismatch(session, hl)
                tally.failures.append(
                    f"{name}: {problem or 'kill switch or not synced'} ({session.kill.reasons})"
                )
                if problem and "orders" in problem:
                    tally.orders_lost += 1
                if problem and ("fills" in problem or "position" in problem):
                    tally.fills_lost += 1
            tally.orders_duplicated += hl.side_overlaps - overlaps
            if session.kill.active or run.done():
                break
    finally:
        session.stop("storm over")
        await run
    last = tallies[plan[-1]] if plan else None
    if last is not None and hl.resting():
        last.orders_lost += len(hl.resting())
        last.failures.append(f"{len(hl.resting())} order(s) left at the venue after the stop")


def run_storm(plan: list[str], *, seed: int = 0) -> dict[str, Tally]:
    """Inject the faults of ``plan`` in order into one session; the tally per fault."""
    tallies = {name: Tally() for name in FAULTS}
    clock = JumpingClock()
    saved = session_module.time
    session_module.time = clock  # type: ignore[assignment]
    try:
        with FakeHyperliquid() as hl:
            asyncio.run(_storm(hl, plan, seed, tallies, clock))
    finally:
        session_module.time = saved
    return tallies


def plan_of(rounds: int, seed: int) -> list[str]:
    """Each fault ``rounds`` times, in a seeded random order."""
    plan = [name for name in FAULTS for _ in range(rounds)]
    random.Random(seed).shuffle(plan)
    return plan
