"""Clock offset and RTT: recovery on simulated probes, and against a skewed local server."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from tests.trader.hyperliquid.server import FakeHyperliquid
from trader.hyperliquid.clock import ClockSync
from trader.hyperliquid.http import JsonPoster
from trader.hyperliquid.info import InfoClient

_MS = 1_000_000


@pytest.mark.parametrize("offset_ms", [-1234.567, -0.4, 0.0, 3.21, 987.654])
def test_offset_recovered_from_simulated_probes(offset_ms: float) -> None:
    rng = random.Random(5)
    clock = ClockSync(window=64, warn_offset_ms=10_000)
    offset = int(offset_ms * _MS)
    t = 1_700_000_000_000_000_000
    for _ in range(64):
        t += rng.randrange(10 * _MS, 50 * _MS)
        out = rng.randrange(50_000, 3 * _MS)  # asymmetric one-way delays
        back = rng.randrange(50_000, 3 * _MS)
        venue_ns = (t + out + offset) // _MS * _MS  # the venue's ms, truncated
        est = clock.add(t, t + out + back, venue_ns)
    assert abs(est.offset_ns - offset) <= 0.5 * _MS
    assert est.uncertainty_ns <= 1 * _MS
    assert est.rtt_ns == min(est.rtt_ns, 6 * _MS)


def test_offset_step_restarts_from_the_newest_probe() -> None:
    clock = ClockSync(window=8, warn_offset_ms=10_000)
    t = 10**18
    for _ in range(8):
        t += 10 * _MS
        clock.add(t, t + 200_000, (t + 100_000) // _MS * _MS)
    t += 10 * _MS
    est = clock.add(t, t + 200_000, (t + 100_000 + 40 * _MS) // _MS * _MS)
    assert abs(est.offset_ns - 40 * _MS) <= 1 * _MS
    assert clock.steps == 1 and est.samples == 1


def test_probe_answered_before_sent_is_refused() -> None:
    with pytest.raises(ValueError, match="answered before it was sent"):
        ClockSync().add(10, 5, 0)


async def _probe(hl: FakeHyperliquid, clock: ClockSync, n: int) -> None:
    info = InfoClient(JsonPoster(hl.rest_url, timeout_s=2.0))
    for _ in range(n):
        await info.probe_clock(clock, "BTC")
        await asyncio.sleep(0.003)
    info.poster.close()


@pytest.mark.parametrize(("skew_ms", "warns"), [(250.0, True), (-3.7, False)])
def test_clock_against_a_skewed_server(skew_ms: float, warns: bool,
                                       caplog: pytest.LogCaptureFixture) -> None:
    clock = ClockSync(window=32, warn_offset_ms=100.0)
    with FakeHyperliquid(skew_ms=skew_ms) as hl, caplog.at_level(logging.WARNING):
        asyncio.run(_probe(hl, clock, 40))
    est = clock.estimate
    assert est is not None
    assert abs(est.offset_ns / _MS - skew_ms) < 1.0, est
    assert 0 < est.rtt_ns < 100 * _MS
    drift = [r for r in caplog.records if getattr(r, "event", None) == "clock_drift"]
    assert bool(drift) is warns and clock.drifting is warns
    if warns:
        assert "behind" in drift[0].getMessage() and "100.0 ms" in drift[0].getMessage()


def test_session_exports_clock_offset_and_rtt() -> None:
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    from tests.trader.hyperliquid.conftest import touch_session, wait_for
    from trader.hyperliquid.metrics import serve_hyperliquid_metrics

    async def scenario(hl: FakeHyperliquid) -> dict[str, float]:
        session = touch_session(hl, warn_offset_ms=100.0, clock_probe_s=0.05)
        await session.start()
        server = serve_hyperliquid_metrics(0, session)
        run = asyncio.create_task(session.run())
        await wait_for(lambda: session.clock.estimate is not None
                       and session.clock.estimate.samples >= 20, "20 clock probes")
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        text = await asyncio.to_thread(lambda: urllib.request.urlopen(url).read().decode())
        session.stop("test over")
        await run
        server.shutdown()
        return {s.name: s.value for fam in text_string_to_metric_families(text)
                for s in fam.samples if not s.labels}

    with FakeHyperliquid(skew_ms=180.0) as hl:
        values = asyncio.run(scenario(hl))
    assert abs(values["mmcal_hyperliquid_clock_offset_seconds"] - 0.180) < 0.001
    assert values["mmcal_hyperliquid_clock_drift"] == 1.0
    assert 0 < values["mmcal_hyperliquid_rtt_seconds"] < 0.1
    assert values["mmcal_hyperliquid_synced"] == 1.0
