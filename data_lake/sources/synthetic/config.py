"""Planted parameters of the synthetic market: one frozen dataclass per model.

Every number here is ground truth: the generator simulates from it and the truth
document (``synthetic_truth``) copies it, so a calibration can be scored against it.

Units follow docs/architecture.md §4: time in seconds, depths and markouts in bps of mid; the Heston
parameters are annualised (year = 365 days); funding rates are per funding interval.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = [
    "SECONDS_PER_YEAR",
    "BookParams",
    "DepthLaw",
    "FundingParams",
    "HawkesParams",
    "HestonParams",
    "InformedParams",
    "JumpParams",
    "MarketConfig",
    "SizeLaw",
    "SymbolConfig",
    "crypto_hourly_profile",
]

SECONDS_PER_DAY = 86_400
SECONDS_PER_YEAR = 365 * SECONDS_PER_DAY

Matrix2 = tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class HestonParams:
    """Heston variance of the efficient log price.

    dv = kappa (theta - v) dt + xi sqrt(v) dW_v,  d log S = -v/2 dt + sqrt(v) dW_S,
    corr(dW_S, dW_v) = rho, t in years (365 days).

    kappa : mean-reversion speed of the variance, per year.
    theta : long-run variance, annualised (0.25 = 50 % annual vol).
    xi : volatility of variance, per sqrt(year).
    rho : correlation of price and variance shocks.
    v0 : variance at the start of a run, annualised (None = theta).
    """

    kappa: float
    theta: float
    xi: float
    rho: float
    v0: float | None = None

    def __post_init__(self) -> None:
        if self.kappa <= 0 or self.theta <= 0 or self.xi < 0:
            raise ValueError("Heston needs kappa > 0, theta > 0, xi >= 0")
        if not -1.0 < self.rho < 1.0:
            raise ValueError(f"Heston rho must lie in (-1, 1), got {self.rho}")

    @property
    def initial_variance(self) -> float:
        return self.theta if self.v0 is None else self.v0

    @property
    def feller(self) -> bool:
        """2 kappa theta >= xi^2: the variance never touches zero in continuous time."""
        return 2.0 * self.kappa * self.theta >= self.xi**2


@dataclass(frozen=True)
class JumpParams:
    """Compound-Poisson jumps of the log price with double-exponential (Kou) sizes.

    rate_per_day : expected jumps per day.
    up_prob : probability that a jump is upward.
    up_mean_bps, down_mean_bps : mean absolute size of up / down jumps, bps of price.
    """

    rate_per_day: float
    up_prob: float
    up_mean_bps: float
    down_mean_bps: float

    @property
    def second_moment_bps2(self) -> float:
        """E[J^2] in bps^2: 2 eta^2 for an exponential of mean eta."""
        p = self.up_prob
        return 2.0 * (p * self.up_mean_bps**2 + (1.0 - p) * self.down_mean_bps**2)

    @property
    def mean_bps(self) -> float:
        p = self.up_prob
        return p * self.up_mean_bps - (1.0 - p) * self.down_mean_bps


@dataclass(frozen=True)
class HawkesParams:
    """Bivariate (buy = 0, sell = 1) Hawkes process of aggressive orders.

    lambda_i(t) = mu_i s(h(t)) + sum_j sum_{t_k^j < t} alpha_ij beta_ij exp(-beta_ij (t - t_k^j))

    mu : (buy, sell) baseline intensity averaged over the day, orders per second.
    alpha : branching matrix, alpha[i][j] = expected number of type-i children of one
        type-j order.
    beta : kernel decays, per second.
    hourly_profile : 24 multipliers s(h) of the baseline for UTC hour h, normalised
        here to mean 1 (so mu is the daily average baseline); the excitation is not
        modulated.
    """

    mu: tuple[float, float]
    alpha: Matrix2
    beta: Matrix2
    hourly_profile: tuple[float, ...] = field(default_factory=lambda: crypto_hourly_profile())

    def __post_init__(self) -> None:
        if len(self.hourly_profile) != 24 or min(self.hourly_profile) <= 0:
            raise ValueError("hourly_profile needs 24 positive multipliers")
        if self.branching_ratio >= 1.0:
            raise ValueError(f"Hawkes branching ratio {self.branching_ratio:.3f} >= 1")
        if min(self.mu) <= 0 or np.min(self.beta_array) <= 0 or np.min(self.alpha_array) < 0:
            raise ValueError("Hawkes needs mu > 0, beta > 0, alpha >= 0")

    @property
    def mu_array(self) -> np.ndarray:
        return np.asarray(self.mu, dtype=np.float64)

    @property
    def alpha_array(self) -> np.ndarray:
        return np.asarray(self.alpha, dtype=np.float64)

    @property
    def beta_array(self) -> np.ndarray:
        return np.asarray(self.beta, dtype=np.float64)

    @property
    def profile(self) -> np.ndarray:
        """The hourly multipliers normalised to mean 1."""
        raw = np.asarray(self.hourly_profile, dtype=np.float64)
        return raw / raw.mean()

    @property
    def branching_ratio(self) -> float:
        """Spectral radius of the branching matrix (< 1 for stationarity)."""
        return float(np.max(np.abs(np.linalg.eigvals(self.alpha_array))))


@dataclass(frozen=True)
class SizeLaw:
    """Law of an aggressive order's total size, base-asset units.

    kind "lognormal": median ``scale``, log-sd ``shape``.
    kind "pareto": survival (x / scale)^(-shape) for x >= scale (tail index ``shape``).
    """

    kind: Literal["lognormal", "pareto"]
    scale: float
    shape: float

    def __post_init__(self) -> None:
        if self.kind not in ("lognormal", "pareto"):
            raise ValueError(f"unknown size law {self.kind!r}")
        if self.scale <= 0 or self.shape <= 0:
            raise ValueError("size law needs scale > 0 and shape > 0")


@dataclass(frozen=True)
class DepthLaw:
    """Law of the depth (bps from the mid) that an aggressive order's deepest print reaches.

    kind "exponential": density kappa exp(-kappa x), x >= 0; ``kappa`` per bps.
    kind "power_law": density (alpha - 1) / xmin (x / xmin)^(-alpha), x >= xmin_bps
    (``alpha`` is the density exponent, the convention of Clauset et al. 2009).
    """

    kind: Literal["exponential", "power_law"]
    kappa: float | None = None
    alpha: float | None = None
    xmin_bps: float | None = None

    def __post_init__(self) -> None:
        if self.kind == "exponential":
            if self.kappa is None or self.kappa <= 0:
                raise ValueError("exponential depth law needs kappa > 0 (per bps)")
        elif self.kind == "power_law":
            if self.alpha is None or self.alpha <= 1 or self.xmin_bps is None or self.xmin_bps <= 0:
                raise ValueError("power-law depth law needs alpha > 1 and xmin_bps > 0")
        else:
            raise ValueError(f"unknown depth law {self.kind!r}")

    def cdf(self, x_bps: np.ndarray) -> np.ndarray:
        x = np.asarray(x_bps, dtype=np.float64)
        if self.kind == "exponential":
            assert self.kappa is not None
            return np.where(x > 0, -np.expm1(-self.kappa * np.maximum(x, 0.0)), 0.0)
        assert self.alpha is not None and self.xmin_bps is not None
        ratio = np.maximum(x, self.xmin_bps) / self.xmin_bps
        return np.where(x >= self.xmin_bps, 1.0 - ratio ** (1.0 - self.alpha), 0.0)

    def quantile(self, p: np.ndarray) -> np.ndarray:
        q = np.asarray(p, dtype=np.float64)
        if self.kind == "exponential":
            assert self.kappa is not None
            return -np.log1p(-q) / self.kappa
        assert self.alpha is not None and self.xmin_bps is not None
        return self.xmin_bps * (1.0 - q) ** (-1.0 / (self.alpha - 1.0))

    @property
    def mean_bps(self) -> float | None:
        if self.kind == "exponential":
            assert self.kappa is not None
            return 1.0 / self.kappa
        assert self.alpha is not None and self.xmin_bps is not None
        return None if self.alpha <= 2 else self.xmin_bps * (self.alpha - 1) / (self.alpha - 2)


@dataclass(frozen=True)
class InformedParams:
    """Informed flow: each order is informed with probability ``fraction``, independently
    of everything else; after an informed order the efficient price drifts linearly by
    ``markout_bps`` in the order's direction over the next ``horizon_s`` seconds
    (a permanent move)."""

    fraction: float
    markout_bps: float
    horizon_s: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.fraction <= 1.0 or self.horizon_s <= 0:
            raise ValueError("informed fraction must lie in [0, 1] and horizon_s > 0")

    def planted_markout_bps(self, horizon_s: float) -> float:
        """E[side * (mid(t+h) - mid(t))] contributed by the order's own information, bps."""
        return self.fraction * self.markout_bps * min(horizon_s, self.horizon_s) / self.horizon_s


@dataclass(frozen=True)
class BookParams:
    """The L2 book around the mid and its planted imbalance signal.

    tick_size : price tick, quote currency.
    spread_ticks : best ask - best bid, ticks (constant).
    lot_size : size increment of prints, base units.
    levels : levels per side in each snapshot.
    level_span_quantile : the deepest visible level sits at this quantile of the depth law;
        levels are spaced linearly in bps from the touch to it.
    depth_multiple : levels below the touch hold this many times the order size the
        fill-depth and size laws send to them (see ``synthetic_book.book_layout``).
    touch_size : median size at the best bid / ask, base units.
    touch_sigma : log-sd of the touch sizes, redrawn independently per side at every
        snapshot (this makes the top-1 imbalance of each snapshot i.i.d.).
    refill_rate_per_s : depleted levels below the touch relax to their target size at
        this rate (1/s); the touch is restored at the next snapshot.
    floor_fraction : a level never drops below this fraction of its target (hidden size).
    snapshot_interval_s : L2 snapshot period, seconds (a multiple of the price step).
    imbalance_coef_bps : b; E[mid(t + imbalance_horizon_s) - mid(t) | I] = b * I bps, where
        I = (bid_sz0 - ask_sz0) / (bid_sz0 + ask_sz0) of the snapshot at t.
    imbalance_horizon_s : the horizon over which the signal is realised (a multiple of
        the price step).
    imbalance_decay_s : after the horizon the signal's move reverts with this e-folding
        time, so it adds microstructure noise and not daily variance.
    """

    tick_size: float
    spread_ticks: int = 1
    lot_size: float = 1e-4
    levels: int = 20
    level_span_quantile: float = 0.99
    depth_multiple: float = 20.0
    touch_size: float = 1.0
    touch_sigma: float = 0.8
    refill_rate_per_s: float = 1.0
    floor_fraction: float = 0.05
    snapshot_interval_s: float = 1.0
    imbalance_coef_bps: float = 0.3
    imbalance_horizon_s: float = 0.3
    imbalance_decay_s: float = 5.0

    def __post_init__(self) -> None:
        if self.tick_size <= 0 or self.spread_ticks < 1 or self.levels < 1:
            raise ValueError("book needs tick_size > 0, spread_ticks >= 1, levels >= 1")


@dataclass(frozen=True)
class FundingParams:
    """Hourly funding rate: an Ornstein-Uhlenbeck process sampled exactly at each interval.

    dr = kappa (theta - r) dt + sigma dW, t in seconds; r is the rate per interval
    (a fraction, 1e-4 = 1 bp per interval).

    kappa_per_s : mean reversion, per second.
    theta : long-run rate per interval.
    sigma_per_sqrt_s : diffusion, rate units per sqrt(second).
    interval_s : funding interval, seconds.
    mark_noise_bps, oracle_noise_bps : sd of the mark / oracle price around the mid, bps.
    """

    kappa_per_s: float
    theta: float
    sigma_per_sqrt_s: float
    interval_s: int = 3600
    mark_noise_bps: float = 0.5
    oracle_noise_bps: float = 2.0

    @property
    def stationary_sd(self) -> float:
        return self.sigma_per_sqrt_s / math.sqrt(2.0 * self.kappa_per_s)

    @property
    def lag1_autocorrelation(self) -> float:
        return math.exp(-self.kappa_per_s * self.interval_s)


@dataclass(frozen=True)
class SymbolConfig:
    """Everything planted for one symbol."""

    symbol: str
    price0: float
    heston: HestonParams
    jumps: JumpParams
    hawkes: HawkesParams
    sizes: SizeLaw
    depth: DepthLaw
    informed: InformedParams
    book: BookParams
    funding: FundingParams
    size_depth_corr: float = 0.5  # Gaussian-copula correlation of an order's size and depth
    latency_ms: float = 5.0  # mean recv_ts - ts, milliseconds (exponential)

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))


@dataclass(frozen=True)
class MarketConfig:
    """Symbols simulated together, the correlation of their diffusive returns, the clock.

    correlation : correlation matrix of the price Brownian motions, in ``symbols`` order.
        Symbol i's driver is sum_{j <= i} L_ij eps_j (L = Cholesky factor), so a symbol's
        path depends only on the symbols listed before it, never on which are generated.
    step_s : price step, seconds.
    venue : partition venue name.
    """

    symbols: tuple[SymbolConfig, ...]
    correlation: tuple[tuple[float, ...], ...]
    step_s: float = 0.1
    venue: str = "synthetic"

    def __post_init__(self) -> None:
        n = len(self.symbols)
        corr = np.asarray(self.correlation, dtype=np.float64)
        if (
            corr.shape != (n, n)
            or not np.allclose(corr, corr.T)
            or not np.allclose(np.diag(corr), 1)
        ):
            raise ValueError(
                "correlation must be a symmetric unit-diagonal matrix, one row per symbol"
            )
        if np.min(np.linalg.eigvalsh(corr)) <= 0:
            raise ValueError("correlation matrix is not positive definite")
        for sym in self.symbols:
            for name, period in (
                ("snapshot_interval_s", sym.book.snapshot_interval_s),
                ("imbalance_horizon_s", sym.book.imbalance_horizon_s),
            ):
                ratio = period / self.step_s
                if ratio < 1 - 1e-9 or abs(ratio - round(ratio)) > 1e-9:
                    raise ValueError(f"{sym.symbol}: {name} must be a multiple of step_s")

    @property
    def names(self) -> list[str]:
        return [s.symbol for s in self.symbols]

    def symbol(self, name: str) -> SymbolConfig:
        for s in self.symbols:
            if s.symbol == name:
                return s
        raise ValueError(f"unknown synthetic symbol {name!r}; configured: {', '.join(self.names)}")

    def index(self, name: str) -> int:
        return self.names.index(self.symbol(name).symbol)

    def cholesky(self) -> np.ndarray:
        return np.linalg.cholesky(np.asarray(self.correlation, dtype=np.float64))

    def replace_symbol(self, name: str, **changes: Any) -> MarketConfig:
        """A copy with fields of one symbol's config replaced (``book=...``, ``hawkes=...``)."""
        idx = self.index(name)
        new = dataclasses.replace(self.symbols[idx], **changes)
        symbols = (*self.symbols[:idx], new, *self.symbols[idx + 1 :])
        return dataclasses.replace(self, symbols=symbols)

    def with_snapshot_interval(self, interval_s: float) -> MarketConfig:
        symbols = tuple(
            dataclasses.replace(s, book=dataclasses.replace(s.book, snapshot_interval_s=interval_s))
            for s in self.symbols
        )
        return dataclasses.replace(self, symbols=symbols)

    def with_activity(self, name: str, factor: float) -> MarketConfig:
        """Scale one symbol's Hawkes baseline (orders per day scale by ``factor``)."""
        sym = self.symbol(name)
        mu = (sym.hawkes.mu[0] * factor, sym.hawkes.mu[1] * factor)
        return self.replace_symbol(name, hawkes=dataclasses.replace(sym.hawkes, mu=mu))

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbols": self.names,
            "correlation": [list(map(float, r)) for r in self.correlation],
            "step_s": float(self.step_s),
            "venue": self.venue,
        }


def crypto_hourly_profile(
    amplitude: float = 0.45, peak_hour_utc: float = 14.5
) -> tuple[float, ...]:
    """Hour-of-day volume multipliers: a sinusoid peaking at the US/EU overlap, mean 1.

    Multiplier of UTC hour h (evaluated at the middle of the hour):
    1 + amplitude cos(2 pi (h + 0.5 - peak_hour_utc) / 24).
    """
    hours = np.arange(24, dtype=np.float64) + 0.5
    values = 1.0 + amplitude * np.cos(2.0 * np.pi * (hours - peak_hour_utc) / 24.0)
    values = values / values.mean()
    return tuple(float(v) for v in values)


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
