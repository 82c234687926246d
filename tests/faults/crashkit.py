"""Kill a real process at every crash point of an operation, then check what readers see.

A :class:`Scenario` builds an *old* state in a home directory, names the operation to
kill (the *action*) and how every reader *observes* the home (a value that must be
equal to the old state's or to the new state's, and must not raise). :func:`run_kills`
forks a child per kill point (children inherit the warmed-up parent: numba kernels,
imports), which SIGKILLs itself at the N-th pass through a named point
(:mod:`data_lake.faults`), or is SIGKILLed by the parent after a random delay. After
each kill the home is observed, the action rerun to completion and observed again.
Used by tests/faults/test_crash_points.py (a seeded subset) and bench/bench_faults.py
(every point, more random kills).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import shutil
import signal
import time
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path

from data_lake.faults import CRASH_AT_ENV, CRASH_TRACE_ENV

_FORK = mp.get_context("fork")


@dataclass(frozen=True)
class Scenario:
    name: str
    setup: Callable[[Path], None]
    action: Callable[[Path], None]
    observe: Callable[[Path], Hashable]
    rows: Callable[[Hashable], int] = lambda _: 0  # rows (or versions) an observed state holds


@dataclass
class KillOutcome:
    """One kill: where, whether the process died there, what readers saw, the rerun."""

    point: str
    died: bool
    seen: str  # "old", "new" or "mixed: <value>" / "error: <text>"
    rerun_ok: bool
    rows_lost: int = 0  # rows of the new state missing after the rerun


@dataclass
class KillSummary:
    scenario: str
    outcomes: list[KillOutcome] = field(default_factory=list)

    @property
    def injected(self) -> int:
        return sum(o.died for o in self.outcomes)

    @property
    def rows_lost(self) -> int:
        return sum(o.rows_lost for o in self.outcomes)

    @property
    def survived(self) -> int:
        return sum(o.died and o.seen in ("old", "new") and o.rerun_ok for o in self.outcomes)

    def failures(self) -> list[KillOutcome]:
        return [
            o for o in self.outcomes if o.died and not (o.seen in ("old", "new") and o.rerun_ok)
        ]


def _child(action: Callable[[Path], None], home: Path, env: dict[str, str]) -> None:
    os.environ.update(env)
    action(home)
    os._exit(0)


def _run_child(
    action: Callable[[Path], None],
    home: Path,
    env: dict[str, str],
    kill_after_s: float | None = None,
) -> int:
    proc = _FORK.Process(target=_child, args=(action, home, env))
    proc.start()
    if kill_after_s is not None:
        proc.join(kill_after_s)
        if proc.is_alive():
            assert proc.pid is not None
            os.kill(proc.pid, signal.SIGKILL)
    proc.join(120)
    assert proc.exitcode is not None, "the child hung"
    return proc.exitcode


def trace_points(scenario: Scenario, work: Path) -> tuple[Counter[str], Hashable, Hashable, float]:
    """Run the action once unharmed: the crash points it passes, old and new states, time."""
    home = work / f"{scenario.name}-reference"
    shutil.rmtree(home, ignore_errors=True)
    scenario.setup(home)
    old = scenario.observe(home)
    trace = work / f"{scenario.name}.trace"
    trace.unlink(missing_ok=True)
    t0 = time.perf_counter()
    code = _run_child(scenario.action, home, {CRASH_TRACE_ENV: str(trace)})
    seconds = time.perf_counter() - t0
    assert code == 0, f"{scenario.name}: the unharmed action exited with {code}"
    new = scenario.observe(home)
    points = Counter(trace.read_text().split()) if trace.exists() else Counter()
    return points, old, new, seconds


def kill_plan(points: Counter[str]) -> list[str]:
    """Every ``name:N`` the action passes through, in a stable order."""
    return [f"{name}:{n}" for name in sorted(points) for n in range(1, points[name] + 1)]


def _classify(value: Hashable, old: Hashable, new: Hashable) -> str:
    if value == old:
        return "old"
    if value == new:
        return "new"
    return f"mixed: {value!r}"


def kill_once(
    scenario: Scenario,
    work: Path,
    old: Hashable,
    new: Hashable,
    *,
    point: str | None = None,
    delay_s: float | None = None,
) -> KillOutcome:
    """Set up, kill the action at ``point`` (or after ``delay_s``), observe, rerun."""
    label = point if point is not None else f"random@{delay_s:.3f}s"
    home = work / f"{scenario.name}-{label.replace(':', '_').replace('@', '_')}"
    shutil.rmtree(home, ignore_errors=True)
    scenario.setup(home)
    env = {CRASH_AT_ENV: point} if point is not None else {}
    code = _run_child(scenario.action, home, env, kill_after_s=delay_s)
    died = code == -signal.SIGKILL
    try:
        seen = _classify(scenario.observe(home), old, new)
    except Exception as exc:  # a reader failing is what this suite measures
        seen = f"error: {type(exc).__name__}: {exc}"
    lost = 0
    try:
        scenario.action(home)
        after = scenario.observe(home)
        rerun_ok = after == new
        lost = max(0, scenario.rows(new) - scenario.rows(after))
    except Exception:
        rerun_ok = False
        lost = scenario.rows(new)
    shutil.rmtree(home, ignore_errors=True)
    return KillOutcome(label, died, seen, rerun_ok, lost)


def run_kills(
    scenario: Scenario, work: Path, *, every: int = 1, random_kills: int = 0, seed: int = 0
) -> KillSummary:
    """Kill at every ``every``-th crash point of the action, plus ``random_kills`` timed kills."""
    work.mkdir(parents=True, exist_ok=True)
    points, old, new, seconds = trace_points(scenario, work)
    assert points, f"{scenario.name}: the action passes no crash point"
    summary = KillSummary(scenario.name)
    for point in kill_plan(points)[::every]:
        outcome = kill_once(scenario, work, old, new, point=point)
        assert outcome.died, f"{scenario.name}: the kill at {point} did not happen"
        summary.outcomes.append(outcome)
    rng = random.Random(seed)
    for _ in range(random_kills):
        delay = rng.uniform(0.0, seconds)
        outcome = kill_once(scenario, work, old, new, delay_s=delay)
        summary.outcomes.append(outcome)
    return summary
