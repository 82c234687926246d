"""Benchmark: what the portfolio guard adds to each live event (issue 13, portfolio limits).

Builds the portfolio model from the newest published set of every symbol under
``--home`` (default $MMCAL_HOME, else ./data), puts one leg per symbol at a position of
``--notional`` quote currency each (alternating long and short), with a limit 20 % above
the starting risk, and times :meth:`trader.risk.portfolio_guard.PortfolioGuard.on_leg_event`
(what each live engine calls before its quote cycle):

- on an event where its position did not change and its mark did not move 0.1 % (the
  common case: two float compares);
- on an event after a fill (a new measure: the risk, the beta net notional and both sides
  of every symbol).

It prints the model (sigmas, correlations, betas, hedge symbol, assumptions) and the
figures in microseconds per call. Run: .venv/bin/python bench/bench_portfolio_guard.py
[--home DIR] [--notional 100000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from data_lake.paths import LakePaths
from data_lake.registry import LATEST, ParamRegistry
from trader.risk import KillSwitch, RiskLimits
from trader.risk.portfolio import model_of_sets
from trader.risk.portfolio_guard import PortfolioGuard


class _Leg:
    """A symbol at a fixed mark whose position the benchmark moves."""

    def __init__(self, symbol: str, position: float, mark: float, size: float) -> None:
        self.symbol, self.position, self.mark, self.size = symbol, position, mark, size

    def exposure(self) -> tuple[float, float, float]:
        return self.position, self.mark, self.size

    def open_sides(self, bid: bool, ask: bool) -> None:
        pass


def _per_call_us(fn: object, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()  # type: ignore[operator]
    return (time.perf_counter() - t0) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--notional", type=float, default=100_000.0)
    args = parser.parse_args()
    paths = LakePaths.at(args.home) if args.home is not None else LakePaths.default()
    registry = ParamRegistry(paths, refresh_catalog=False)
    symbols = [s for s in registry.symbols() if registry.latest_version(s)]
    if not symbols:
        raise SystemExit(f"no published param set under {registry.root}; run `make run`")
    model = model_of_sets({s: registry.load(s, LATEST) for s in symbols})
    mark = 100.0  # notional is what matters; the mark only scales position and order size
    legs = [_Leg(s, (1 if k % 2 == 0 else -1) * args.notional / mark, mark,
                 0.01 * args.notional / mark) for k, s in enumerate(symbols)]
    start = model.risk([leg.position * mark for leg in legs])
    guard = PortfolioGuard(model, legs, RiskLimits(portfolio_risk=1.2 * start), KillSwitch())
    guard.on_event()
    print(f"symbols {model.symbols}, hedge {model.hedge_symbol}")
    print("1-hour return std:", ", ".join(f"{s} {v:.4%}" for s, v in
                                          zip(model.symbols, model.sigma_horizon, strict=True)))
    print("correlation:", model.correlation)
    print("beta on hedge:", ", ".join(f"{s} {b:.4f}" for s, b in
                                      zip(model.symbols, model.beta, strict=True)))
    for note in model.notes:
        print("assumed:", note)
    print(f"book: {args.notional:,.0f} per symbol, alternating long/short; 1-hour P&L std "
          f"{guard.state.risk:,.2f}, beta net notional {guard.state.beta_net:,.2f}")
    still = _per_call_us(lambda: guard.on_leg_event(legs[0]), 200_000)

    def after_fill() -> None:
        legs[0].position += 1e-9  # a new position: the guard measures again
        guard.on_leg_event(legs[0])

    moved = _per_call_us(after_fill, 20_000)
    print(f"on_event, nothing moved: {still:.2f} us/call; after a fill (new measure, "
          f"{len(legs)} symbols): {moved:.2f} us/call")


if __name__ == "__main__":
    main()
