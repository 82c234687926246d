"""activeAssetCtx funding on the venue session: the carry input and the funding P&L."""

from __future__ import annotations

import pytest

from trader.hyperliquid.quoters import TouchQuoter
from trader.hyperliquid.rules import AssetRules
from trader.hyperliquid.session import CoinSession
from trader.market_state import S_FUNDING_PER_HOUR
from trader.orders import Side


def test_funding_sets_the_carry_input_and_accrues_pro_rata(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("trader.hyperliquid.session.time.monotonic", lambda: clock[0])
    c = CoinSession("BTC", AssetRules("BTC", 0, 5), TouchQuoter(1.0, 0.01))
    m = c.ensure_manager(100_000.0)
    m.on_fill(1, None, 100_000.0, 0.5, 0.0, 0, side=Side.BUY)  # long 0.5 BTC
    c.see_funding(1e-5, 100_000.0)
    assert c.state[S_FUNDING_PER_HOUR] == 1e-5 and c.funding_paid == 0.0
    clock[0] += 1800.0  # half an hour at 1e-5 per hour on 50 000 notional
    c.see_funding(2e-5, 100_000.0)
    assert c.funding_paid == pytest.approx(0.5 * 100_000.0 * 1e-5 * 0.5)
    assert c.state[S_FUNDING_PER_HOUR] == 2e-5
    assert c.pnl()["funding"] == pytest.approx(-0.25)
