"""The live trader (``trader run``): one asyncio process, the paper venue in live mode.

One job per module: :mod:`~trader.live.step` (the backtest's venue and GLFT requote, one
event at a time, jitted), :mod:`~trader.live.engine` (one symbol: venue, state, P&L),
:mod:`~trader.live.feed` (the newest lake day replayed at real time x speed),
:mod:`~trader.live.params` (checked params, the registry watch),
:mod:`~trader.live.files` (state file, control commands, the one-trader lock),
:mod:`~trader.live.metrics` (Prometheus), :mod:`~trader.live.latency` (tick-to-quote),
:mod:`~trader.live.logs` (JSON lines) and :mod:`~trader.live.runner` (the process).
docs/architecture.md §8.
"""
