"""The live trader's fixtures (a synthetic SOL day and its published set; the local
Hyperliquid server), shared with tests/trader/ for the trader's faults."""

from tests.trader.hyperliquid.conftest import hl  # noqa: F401
from tests.trader.live.conftest import day_events, live_home  # noqa: F401
