"""The local Hyperliquid server and a session configured against it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.data_lake.test_params import make_document
from tests.trader.hyperliquid.server import FakeHyperliquid
from trader.hyperliquid.quoters import TouchQuoter
from trader.hyperliquid.session import HyperliquidConfig, HyperliquidSession
from trader.hyperliquid.ws_client import Backoff

# A throwaway key (the eth-account documentation's example); signs only for the local server.
KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


def hyperliquid_home(work: Path) -> tuple[Path, Path, Path]:
    """A trader home under ``work``, a BTC param set in it and a 0600 key file beside it:
    ``(home, params, key)`` for ``trader run --venue hyperliquid``."""
    home = work / "home"
    home.mkdir(parents=True)
    params = home / "btc.json"
    params.write_bytes(orjson.dumps(make_document("BTC", venue="hyperliquid", score=None)))
    key = work / "hl.key"
    key.write_text(KEY)
    key.chmod(0o600)
    return home, params, key


@pytest.fixture
def hl() -> Iterator[FakeHyperliquid]:
    with FakeHyperliquid() as server:
        yield server


def config_for(server: FakeHyperliquid, **overrides: Any) -> HyperliquidConfig:
    fields: dict[str, Any] = dict(
        rest_url=server.rest_url, ws_url=server.ws_url, coins=("BTC",),
        stale_book_s=2.0, kill_after_s=5.0, silence_s=1.0, ping_interval_s=0.2,
        open_timeout_s=1.0, request_timeout_s=1.0, clock_probe_s=0.5,
        backoff=Backoff(base_s=0.05, cap_s=0.2, max_attempts=50),
    )
    fields.update(overrides)
    return HyperliquidConfig(**fields)


def touch_session(server: FakeHyperliquid, *, offset_ticks: float = 3.0,
                  max_modify_ticks: float = 20.0, **overrides: Any) -> HyperliquidSession:
    """A session quoting 0.001 BTC ``offset_ticks`` outside the touch."""
    return HyperliquidSession(config_for(server, **overrides), KEY,
                              {"BTC": TouchQuoter(1.0, 0.001, offset_ticks)}, session_id=7,
                              max_modify_ticks=max_modify_ticks)


async def wait_for(cond: Callable[[], bool], what: str, limit_s: float = 10.0) -> None:
    """Poll ``cond`` until true; fail naming ``what`` after ``limit_s`` (a hang guard)."""
    deadline = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)

