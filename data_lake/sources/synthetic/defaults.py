"""The default synthetic market: three symbols in three regimes.

- BTC, calm: moderate vol, rare jumps, an exponential fill-depth book, little informed flow.
- ETH, jumpy: high vol of vol, frequent asymmetric jumps, a power-law fill-depth book.
- SOL, thin: small touch, deep fills, slow refill, heavy informed flow with a long horizon.

Activity is sized so that a day holds 50k-200k trades per symbol (``make run`` stays fast);
``MarketConfig.with_activity`` scales it up for benchmarks.

The variance and funding dynamics are fast enough to be identified on the trailing
window ``make run`` calibrates on (``assets.history.HISTORY_DAYS``, 8 days): variance
half-lives of 1.5-2 hours (kappa 3000-4000 per year, as intraday crypto variance
reverts) and funding half-lives of 4-8 hours, so the window spans more than ten of each
(docs/architecture.md §5). Feller holds for every symbol.
"""

from __future__ import annotations

import math

from data_lake.sources.synthetic.config import (
    BookParams,
    DepthLaw,
    FundingParams,
    HawkesParams,
    HestonParams,
    InformedParams,
    JumpParams,
    MarketConfig,
    SizeLaw,
    SymbolConfig,
    crypto_hourly_profile,
)

__all__ = ["DEFAULT_MARKET", "DEFAULT_SYMBOLS"]

_HOUR = 3600.0

_BTC = SymbolConfig(
    # Calm: moderate vol, rare jumps, exponential depth, little informed flow.
    symbol="BTC",
    price0=100_000.0,
    heston=HestonParams(kappa=3000.0, theta=0.25, xi=18.0, rho=-0.3),
    jumps=JumpParams(rate_per_day=4.0, up_prob=0.5, up_mean_bps=15.0, down_mean_bps=20.0),
    hawkes=HawkesParams(
        mu=(0.08, 0.08),
        alpha=((0.5, 0.1), (0.1, 0.5)),
        beta=((2.0, 1.0), (1.0, 2.0)),
        hourly_profile=crypto_hourly_profile(0.45),
    ),
    sizes=SizeLaw("lognormal", scale=0.02, shape=1.5),
    depth=DepthLaw("exponential", kappa=0.4),
    informed=InformedParams(fraction=0.05, markout_bps=1.0, horizon_s=5.0),
    book=BookParams(
        tick_size=0.1, spread_ticks=1, lot_size=1e-5, touch_size=0.5, imbalance_coef_bps=0.3
    ),
    funding=FundingParams(
        kappa_per_s=1.0 / (12 * _HOUR),
        theta=1.25e-5,
        sigma_per_sqrt_s=1e-5 * math.sqrt(2.0 / (12 * _HOUR)),
    ),
    size_depth_corr=0.5,
)

_ETH = SymbolConfig(
    # Jumpy: higher vol of vol, frequent asymmetric jumps, power-law depth.
    symbol="ETH",
    price0=3_000.0,
    heston=HestonParams(kappa=3000.0, theta=0.49, xi=30.0, rho=-0.5),
    jumps=JumpParams(rate_per_day=20.0, up_prob=0.45, up_mean_bps=25.0, down_mean_bps=35.0),
    hawkes=HawkesParams(
        mu=(0.06, 0.06),
        alpha=((0.6, 0.15), (0.15, 0.6)),
        beta=((3.0, 1.0), (1.0, 3.0)),
        hourly_profile=crypto_hourly_profile(0.55),
    ),
    sizes=SizeLaw("pareto", scale=0.05, shape=1.6),
    depth=DepthLaw("power_law", alpha=2.5, xmin_bps=1.0),
    informed=InformedParams(fraction=0.10, markout_bps=2.0, horizon_s=10.0),
    book=BookParams(
        tick_size=0.001, spread_ticks=1, lot_size=1e-4, touch_size=2.0, imbalance_coef_bps=0.5
    ),
    funding=FundingParams(
        kappa_per_s=1.0 / (9 * _HOUR),
        theta=1.5e-5,
        sigma_per_sqrt_s=2e-5 * math.sqrt(2.0 / (9 * _HOUR)),
    ),
    size_depth_corr=0.4,
)

_SOL = SymbolConfig(
    # Thin: small book, deep fills, heavy informed flow with a long markout horizon.
    symbol="SOL",
    price0=150.0,
    heston=HestonParams(kappa=4000.0, theta=0.81, xi=40.0, rho=-0.2),
    jumps=JumpParams(rate_per_day=8.0, up_prob=0.5, up_mean_bps=30.0, down_mean_bps=30.0),
    hawkes=HawkesParams(
        mu=(0.04, 0.04),
        alpha=((0.4, 0.05), (0.05, 0.4)),
        beta=((0.5, 0.5), (0.5, 0.5)),
        hourly_profile=crypto_hourly_profile(0.35),
    ),
    sizes=SizeLaw("lognormal", scale=2.0, shape=1.2),
    depth=DepthLaw("exponential", kappa=0.08),
    informed=InformedParams(fraction=0.30, markout_bps=5.0, horizon_s=30.0),
    book=BookParams(
        tick_size=0.001,
        spread_ticks=2,
        lot_size=1e-3,
        depth_multiple=5.0,
        touch_size=5.0,
        touch_sigma=1.0,
        refill_rate_per_s=0.3,
        imbalance_coef_bps=1.0,
    ),
    funding=FundingParams(
        kappa_per_s=1.0 / (6 * _HOUR),
        theta=3e-5,
        sigma_per_sqrt_s=5e-5 * math.sqrt(2.0 / (6 * _HOUR)),
    ),
    size_depth_corr=0.6,
)

DEFAULT_MARKET = MarketConfig(
    symbols=(_BTC, _ETH, _SOL),
    correlation=((1.0, 0.8, 0.65), (0.8, 1.0, 0.7), (0.65, 0.7, 1.0)),
    step_s=0.1,
)
DEFAULT_SYMBOLS: tuple[str, ...] = tuple(DEFAULT_MARKET.names)
