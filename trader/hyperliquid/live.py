"""``trader run --venue hyperliquid``: the GLFT quotes of the published params, signed
and sent to Hyperliquid (testnet unless ``--mainnet``).

Resolves each symbol's param set like the paper trader, builds the GLFT kernel with the
``hyperliquid`` trader settings (:mod:`trader.settings`), loads the key (environment or
a 0600 key file, :mod:`trader.hyperliquid.keys`, after logging is configured so the
redaction filter covers every handler) and runs a
:class:`~trader.hyperliquid.session.HyperliquidSession` until the duration or a signal;
SIGTERM/SIGINT cancel every order first.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_lake.paths import LakePaths
from data_lake.registry import ParamRegistry
from trader.backtesting import resolve_param_set
from trader.hyperliquid.http import MAINNET_API_URL, TESTNET_API_URL, ws_url_of
from trader.hyperliquid.keys import load_private_key
from trader.hyperliquid.metrics import serve_hyperliquid_metrics
from trader.hyperliquid.quoters import GlftQuoter, Quoter
from trader.hyperliquid.session import HyperliquidConfig, HyperliquidSession
from trader.live.params import build_params
from trader.market_state import new_state
from trader.settings import default_settings

__all__ = ["VenueRun", "run_hyperliquid"]


@dataclass(frozen=True)
class VenueRun:
    """What ``trader run --venue hyperliquid`` was asked to do (times in seconds)."""

    paths: LakePaths
    params: str
    symbols: tuple[str, ...]
    mainnet: bool = False
    key_file: Path | None = None
    rest_url: str | None = None
    ws_url: str | None = None
    duration_s: float | None = None
    metrics_port: int = 0
    stale_book_s: float = 10.0
    kill_after_s: float = 30.0
    warn_offset_ms: float = 50.0

    @property
    def base_url(self) -> str:
        if self.rest_url:
            return self.rest_url
        return MAINNET_API_URL if self.mainnet else TESTNET_API_URL


def _quoters(run: VenueRun) -> dict[str, Quoter]:
    if not run.symbols:
        raise ValueError("--venue hyperliquid needs --symbols, e.g. --symbols BTC")
    registry = ParamRegistry(run.paths, refresh_catalog=False)
    out: dict[str, Quoter] = {}
    for symbol in run.symbols:
        document = resolve_param_set(run.params, symbol, registry)
        settings = default_settings("hyperliquid", symbol)
        out[symbol] = GlftQuoter(build_params(document, settings, new_state()).array)
    return out


def run_hyperliquid(run: VenueRun) -> dict[str, Any]:
    """Quote on Hyperliquid until the duration or a signal; returns the summary."""
    quoters = _quoters(run)
    key = load_private_key(run.key_file)
    base = run.base_url
    config = HyperliquidConfig(rest_url=base, ws_url=run.ws_url or ws_url_of(base),
                               coins=run.symbols,
                               mainnet=run.mainnet, stale_book_s=run.stale_book_s,
                               kill_after_s=run.kill_after_s,
                               warn_offset_ms=run.warn_offset_ms)

    async def main() -> dict[str, Any]:
        session = HyperliquidSession(config, key, quoters)
        loop = asyncio.get_running_loop()
        for sig, name in ((signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")):
            loop.add_signal_handler(sig, session.stop, name)
        server = serve_hyperliquid_metrics(run.metrics_port, session) if run.metrics_port else None
        try:
            await session.start()
            return await session.run(run.duration_s)
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            if server is not None:
                server.shutdown()
                server.server_close()

    return asyncio.run(main())
