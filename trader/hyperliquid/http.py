"""JSON POSTs to the venue's REST API (``/info``, ``/exchange``) without blocking the loop.

``requests`` (the SDK's own HTTP client) runs in a worker thread; each call waits for
its weight in the shared :class:`~trader.hyperliquid.ratelimit.RateLimiter` first and
gives up after ``timeout_s``. Mainnet and testnet URLs are the SDK's constants.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import requests
from hyperliquid.utils.constants import MAINNET_API_URL, TESTNET_API_URL

from trader.hyperliquid.ratelimit import RateLimiter

__all__ = ["MAINNET_API_URL", "TESTNET_API_URL", "JsonPoster", "VenueError",
           "VenueUnavailableError", "ws_url_of"]


class VenueUnavailableError(ConnectionError):
    """No answer (timeout, refused, reset): the venue may be down or unreachable."""


class VenueError(RuntimeError):
    """The venue answered with an HTTP error or an error payload."""


def ws_url_of(base_url: str) -> str:
    """The WebSocket URL of a REST base URL (``https://x`` -> ``wss://x/ws``)."""
    if base_url.startswith("https://"):
        return "wss://" + base_url[len("https://"):].rstrip("/") + "/ws"
    if base_url.startswith("http://"):
        return "ws://" + base_url[len("http://"):].rstrip("/") + "/ws"
    raise ValueError(f"base URL {base_url!r} must start with http:// or https://")


class JsonPoster:
    """POSTs JSON to ``base_url + path`` and returns the decoded answer.

    Attributes
    ----------
    last_rtt_ns : int
        Round trip of the last answered request, local ns.
    """

    def __init__(self, base_url: str, *, timeout_s: float = 5.0,
                 limiter: RateLimiter | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.limiter = limiter or RateLimiter()
        self._session = requests.Session()
        self._session.headers.update({"Content-Type": "application/json"})
        self.last_rtt_ns = 0

    def close(self) -> None:
        self._session.close()

    def _post(self, path: str, payload: dict[str, Any]) -> Any:
        url = self.base_url + path
        t0 = time.monotonic_ns()
        try:
            response = self._session.post(url, json=payload, timeout=self.timeout_s)
        except requests.Timeout:
            raise VenueUnavailableError(
                f"POST {url}: no answer within {self.timeout_s:g} s") from None
        except requests.ConnectionError as exc:
            raise VenueUnavailableError(f"POST {url}: cannot connect ({exc})") from None
        self.last_rtt_ns = time.monotonic_ns() - t0
        if response.status_code >= 400:
            raise VenueError(f"POST {url}: HTTP {response.status_code}: {response.text[:300]}")
        try:
            return response.json()
        except ValueError:
            raise VenueError(f"POST {url}: answer is not JSON: {response.text[:300]}") from None

    async def post(self, path: str, payload: dict[str, Any], weight: int) -> Any:
        """POST and decode; raises VenueUnavailableError or VenueError."""
        await self.limiter.acquire(weight)
        return await asyncio.to_thread(self._post, path, payload)
