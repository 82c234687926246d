"""The param files deleted or corrupted under a running paper trader (``--params
latest``): each damage is made, the watch polls a dozen times, the files are restored.
The trader must keep running on the version it had, and log the damage exactly once;
a good publication afterwards is still swapped in. Used by
tests/faults/test_trader_faults.py and bench/bench_faults.py."""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from data_lake.paths import LakePaths
from data_lake.registry import ParamRegistry
from tests.trader.live.conftest import DAY, FIT_DAY, SYMBOL, PausingFeed, head
from tests.trader.test_cli_backtest import synthetic_document
from trader.live.runner import RunConfig, Trader
from trader.risk import RiskLimits
from trader.sim import EventStream

PARAM_FAULTS = (
    "LATEST deleted",
    "LATEST garbage",
    "LATEST truncated",
    "running version deleted",
    "running version corrupted",
    "symbol directory deleted",
)


def damage(registry: ParamRegistry, version: str, how: str) -> None:
    """Make the damage ``how`` (one of :data:`PARAM_FAULTS`) to SOL's param files."""
    directory = registry.root / SYMBOL
    pointer = directory / "LATEST"
    running = registry.path_of(SYMBOL, version)
    if how == "LATEST deleted":
        pointer.unlink()
    elif how == "LATEST garbage":
        pointer.write_bytes(b"\x00\xffnot json{")
    elif how == "LATEST truncated":
        pointer.write_bytes(pointer.read_bytes()[:7])
    elif how == "running version deleted":
        running.unlink()
    elif how == "running version corrupted":
        running.chmod(0o644)
        running.write_text(running.read_text().replace("0.", "9.", 1))
    elif how == "symbol directory deleted":
        shutil.rmtree(directory)
    else:
        raise ValueError(f"unknown param file damage {how!r}; known: {PARAM_FAULTS}")


@dataclass
class ParamFaultOutcome:
    version: str
    """The version running when the damage began."""
    kept: dict[str, bool] = field(default_factory=dict)
    """Per damage: the trader still ran, on that version."""
    logged: dict[str, list[str]] = field(default_factory=dict)
    """Per damage: the ``params_watch_error`` lines logged."""
    swapped_to: str | None = None
    """The good version published after the damages, once the trader quotes with it."""
    published: str | None = None
    kill_active: bool = False

    def survived(self, how: str) -> bool:
        lines = self.logged.get(how, [])
        kept = self.kept.get(how, False)
        return kept and len(lines) == 1 and f"keeping {self.version}" in lines[0]


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "event", "") == "params_watch_error":
            self.lines.append(record.getMessage())


def run_param_faults(
    home: Path, events: EventStream, plan: tuple[str, ...] = PARAM_FAULTS, *, seed: int = 3
) -> ParamFaultOutcome:
    """Run a paper trader on ``home`` (a copy of the live test home) and damage its param
    files as ``plan`` says, one at a time."""
    paths = LakePaths.at(home)
    registry = ParamRegistry(paths, refresh_catalog=False)
    v1 = registry.latest_version(SYMBOL)
    assert v1 is not None, f"nothing published for {SYMBOL} under {home}"
    pristine = home.parent / f"{home.name}-params-copy"
    shutil.rmtree(pristine, ignore_errors=True)
    shutil.copytree(registry.root, pristine)
    config = RunConfig(
        paths=paths,
        symbols=(SYMBOL,),
        speed=0,
        duration_s=120,
        limits=RiskLimits(stale_after_s=1e9),
        loop_interval_s=0.02,
        params_poll_s=0.02,
        save_every_s=60,
    )
    trader = Trader(
        config, feed_factory=lambda _v, _s: PausingFeed(head(events, 5_000), DAY, speed=0)
    )
    outcome = ParamFaultOutcome(v1)
    handler = _Lines()
    logger = logging.getLogger("trader.live.params")
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.INFO)  # whatever the root's level (the bench's is ERROR)
    logger.propagate = False  # the expected lines are counted here, not printed
    logger.addHandler(handler)

    async def main() -> None:
        trader.setup()
        task = asyncio.create_task(trader.run())
        (engine,) = trader.engines
        while engine.events_run < 3_000 and not task.done():
            await asyncio.sleep(0.02)
        for how in plan:
            handler.lines = []
            damage(registry, v1, how)
            await asyncio.sleep(0.3)  # about 15 polls
            outcome.kept[how] = not task.done() and engine.params.version == v1
            outcome.logged[how] = handler.lines
            shutil.rmtree(registry.root)
            shutil.copytree(pristine, registry.root)
            await asyncio.sleep(0.1)
        decision = registry.submit(synthetic_document(SYMBOL, FIT_DAY, held_out=DAY, seed=seed))
        outcome.published = decision.version
        for _ in range(500):
            if engine.params.version == decision.version or task.done():
                break
            await asyncio.sleep(0.02)
        outcome.swapped_to = engine.params.version
        outcome.kill_active = trader.kill.active
        trader.request_stop("param faults done")
        await task

    try:
        asyncio.run(main())
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
    return outcome
