"""The param set document: one validated JSON document per symbol (docs/architecture.md §5).

A :class:`ParamSet` carries everything the trader needs to quote one symbol (the typed
:class:`QuotingParams` block, with sanity bounds) and everything a person needs to trust
it: every model's estimates and diagnostics, the data window and partitions it was fitted
on, the quality checks of those partitions, the code version and the out-of-sample
validation scores.

Units follow docs/architecture.md §4: time in seconds, depths and spreads in bps of mid,
volatility in
bps per sqrt(second), funding as a fraction per hour. The bounds below are *sanity*
bounds: wide enough for any listed crypto perp or large-cap equity, tight enough to
catch a unit slip (ms for ns, fraction for bps, variance for volatility) or a runaway fit.

This module is plain pydantic: no I/O, no Dagster, so the trader can import it.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from data_lake.registry.backtest_record import BacktestComparison

__all__ = [
    "FIT_EXCLUDED_FIELDS",
    "HASH_EXCLUDED_FIELDS",
    "QUOTING_UNITS",
    "READABLE_SCHEMA_VERSIONS",
    "RENAMED_ESTIMATE_KEYS",
    "SCHEMA_VERSION",
    "SYMBOL_PATTERN",
    "VERSION_PATTERN",
    "DataWindow",
    "FieldFallback",
    "HestonQuoting",
    "ParamSet",
    "ParamStatus",
    "QualityCheck",
    "QuotingParams",
    "ValidationScores",
    "content_hash",
    "current_estimates",
    "fit_hash",
    "json_safe",
]

SCHEMA_VERSION: Literal[2] = 2
"""The document layout this code writes. Bump on any incompatible change."""

READABLE_SCHEMA_VERSIONS = (1, 2)
"""Layouts this code reads. Schema 1 lacks the fields schema 2 added to the quoting block
(per-side and component sigmas, Student-t df, the add-on curve, the Hawkes matrix and
baselines, micro-price coefficients, volume bucket, Heston, fallbacks); they load as None
and the trader derives them from the schema 1 fields (trader/strategy/quoting_fields.py)."""

SYMBOL_PATTERN = r"^[A-Za-z0-9@][A-Za-z0-9@._-]{0,63}$"
"""Symbols become directory names: no separators, no leading dot (``..`` is refused)."""

VERSION_PATTERN = r"^\d{6}-[0-9a-f]{8}$"
"""``<6-digit sequence>-<first 8 hex digits of the content hash>``, e.g. ``000012-3fa9c1e2``."""

PARTITION_PATTERN = r"^[^/\s]+/[^/\s]+/\d{4}-\d{2}-\d{2}$"

HASH_EXCLUDED_FIELDS = frozenset({"version", "created_at", "status", "reason", "dagster_run_id"})
"""Fields outside the content hash: refitting the same data with the same code gives the
same hash (so the same version), whatever the wall clock or the Dagster run said; status
lives in the registry's decisions log, not in the immutable file."""

RENAMED_ESTIMATE_KEYS: Mapping[str, Mapping[str, str]] = {
    "fill_depth": {"kappa_se": "kappa_stderr_per_bps"},
    "markouts": {"stderr_bps": "mean_stderr_bps"},
    "microprice": {"ols_stderr_bps": "ols_coef_stderr_bps"},
}
"""Keys in ``models.<model>`` (at any depth) renamed since documents were first written,
old -> new: standard errors are ``<param>_stderr`` everywhere (calibration/__init__.py).
Readers go through :meth:`ParamSet.estimates` so a document written before a rename reads
the same; the file itself is never rewritten (its content hash names its version)."""

FIT_EXCLUDED_FIELDS = HASH_EXCLUDED_FIELDS | {"validation"}
"""Fields outside the *fit* identity (:func:`fit_hash`), on top of the content hash's.

``validation`` scores the set against whatever is published when it runs (its
``baseline`` and ``baseline_version`` change the moment the first set goes out), so it
says nothing about the fit itself. The quality entries of partitions read only for
validation (the held-out day) leave with it; those of the fitted ``partitions`` stay.
"""

# 1990-01-01 in ns: a window before it is almost surely seconds or milliseconds, not ns.
_MIN_TS_NS = 631_152_000 * 10**9
_MAX_TS_NS = 7_258_118_400 * 10**9  # 2200-01-01

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class ParamStatus(StrEnum):
    """Where a version stands: written, serving (or served) the trader, or refused."""

    CANDIDATE = "candidate"
    PUBLISHED = "published"
    REJECTED = "rejected"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class HestonQuoting(_Frozen):
    """The Heston block of the quoting params (conventional annualised units, named).

    ``kappa_per_year`` mean reversion, 1/yr; ``theta_var_per_year`` long-run variance
    (annualised decimal, ``sqrt`` is the vol); ``xi_per_year`` vol of variance; ``rho``
    price/variance shock correlation; ``half_life_s`` ``ln 2 / kappa`` in seconds;
    ``rv_interval_s`` and ``n_obs`` the realised-variance bars it was fitted on.
    """

    kappa_per_year: float = Field(gt=0)
    theta_var_per_year: float = Field(gt=0)
    xi_per_year: float = Field(gt=0)
    rho: float = Field(ge=-1, le=1)
    half_life_s: float = Field(gt=0)
    rv_interval_s: float = Field(gt=0)
    n_obs: int = Field(gt=0)


class FieldFallback(_Frozen):
    """A quoting field that did not come from today's fit: which, why, and from where.

    ``source`` is ``"version <v>"`` (the last published value for the symbol) or
    ``"bound"`` (a stated conservative value that widens the quotes).
    """

    field: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    source: str = Field(min_length=1)
    value: Any = None


class QuotingParams(_Frozen):
    """What the GLFT quoter reads, each with a documented plausible range.

    Attributes
    ----------
    sigma_bps_per_sqrt_s : float
        Effective mid volatility, bps per sqrt(second); (0, 50]. BTC at 50 % annualised is
        about 0.9; 50 is about 2800 % annualised.
    kappa_bid_per_bps, kappa_ask_per_bps : float
        Decay of the fill intensity ``A exp(-kappa * depth_bps)``, per bps; [1e-3, 50].
        Below 1e-3 fills would barely decay over 100 % of price; above 50 they would
        vanish within 0.02 bps of the touch.
    A_bid_per_s, A_ask_per_s : float
        Fill intensity at the touch, fills per second; (0, 1e4].
    as_addon_bps : float
        Adverse-selection add-on to each half-spread, bps; [0, 500].
    hawkes_branching_ratio : float
        Spectral radius of the Hawkes branching matrix; [0, 1) (stationary flow only).
    hawkes_decay_per_s : float or None
        Hawkes kernel decay rate ``beta``, per second; (0, 1e6] when given.
    funding_rate_per_hour : float
        Expected funding rate as a fraction of notional per hour (positive: longs pay);
        |rate| <= 0.04 (Hyperliquid's cap is 4 %/h). 0 for instruments without funding.
    microprice_fallback_to_mid : bool
        True when the micro-price fit's out-of-sample R^2 fell below its floor, so the
        quoter centres on the mid.
    microprice_r2_oos : float or None
        That out-of-sample R^2, at most 1 (it may be negative).

    Schema 2 adds (None when absent, e.g. in a schema 1 document):

    sigma_bid_bps_per_sqrt_s, sigma_ask_bps_per_sqrt_s : float
        Per-side quoting sigma: the diffusive part plus the jump part of the downside
        (bids) or upside (asks) realised semivariance, weighted like the symmetric blend.
    sigma_diffusion_bps_per_sqrt_s, sigma_total_bps_per_sqrt_s : float
        The components the blend ``sigma_bps_per_sqrt_s`` lies between: jump-robust
        (bipower) and total (realised variance) sigma.
    vpin_toxicity : float
        VPIN at the end of the window, in [0, 1]; it raises the jump weight of the blend.
    student_t_df : float
        Degrees of freedom of the Student-t of returns at the volatility scale (fat-tailed
        touch risk): the one-sided 95 % profile-likelihood lower limit of the fit (the
        fattest tail the data do not reject), so an uncertain tail quotes wider; the MLE
        is in ``models.volatility``.
    as_addon_curve_depth_bps, as_addon_curve_bps : list of float
        The adverse-selection add-on as a curve over quote depth, bps at bps.
    hawkes_mu_per_s : list of float
        Hawkes baseline intensity per component (buy, sell market orders), events/s.
    hawkes_branching_matrix : list of list of float
        ``[i][j]``: expected type-i events directly triggered by one type-j event.
    hawkes_decay_per_s : float
        Schema 2: the branching-weighted reciprocal of the kernels' mean lag,
        ``sum n_ij / sum (n_ij / beta_ij)``, 1/s (schema 1: the plain mean of beta).
    hawkes_toxicity_bps_per_excess : float
        Extra markout of a passive fill per unit of live intensity over its stationary
        mean, bps (``calibration.hawkes.burst_toxicity``): how far a burst widens.
    microprice_feature_names, microprice_coef_bps, microprice_intercept_bps : ...
        The ridge micro-price: fair price minus mid, bps, is ``intercept + coef . x``.
    microprice_regime_edges_bps_per_sqrt_s, microprice_regime_coef_bps : ...
        The coefficients refitted per volatility regime (None where a regime was thin).
    volume_bucket_size : float
        Volume-clock bucket for the session, base-asset units per bucket.
    heston : HestonQuoting
        The stochastic-volatility block when identified on the history window.
    queue_model : str
        The simulator's queue model fitted from per-order (L3) events, ``"prob_power"``
        or ``"prob_log"`` (the lower AIC; calibration/queue_cancel.py): where in the queue
        a cancellation falls, so how the size ahead of a resting order shrinks without
        trades. None when the symbol has no L3 events in the lake (crypto, synthetic):
        the backtest then uses the risk-averse queue (only trades advance an order).
    queue_power_n : float
        Exponent n of the power model ``f(x) = x**n`` (dimensionless, (0, 50]); given
        whenever the model was fitted, required when ``queue_model`` is ``"prob_power"``.
    """

    sigma_bps_per_sqrt_s: float = Field(gt=0, le=50)
    kappa_bid_per_bps: float = Field(ge=1e-3, le=50)
    kappa_ask_per_bps: float = Field(ge=1e-3, le=50)
    A_bid_per_s: float = Field(gt=0, le=1e4)
    A_ask_per_s: float = Field(gt=0, le=1e4)
    as_addon_bps: float = Field(ge=0, le=500)
    hawkes_branching_ratio: float = Field(ge=0, lt=1)
    hawkes_decay_per_s: float | None = Field(default=None, gt=0, le=1e6)
    funding_rate_per_hour: float = Field(ge=-0.04, le=0.04)
    microprice_fallback_to_mid: bool
    microprice_r2_oos: float | None = Field(default=None, le=1)
    # -- schema 2 (None in schema 1 documents) ----------------------------------------
    sigma_bid_bps_per_sqrt_s: float | None = Field(default=None, gt=0, le=50)
    sigma_ask_bps_per_sqrt_s: float | None = Field(default=None, gt=0, le=50)
    sigma_diffusion_bps_per_sqrt_s: float | None = Field(default=None, gt=0, le=50)
    sigma_total_bps_per_sqrt_s: float | None = Field(default=None, gt=0, le=50)
    vpin_toxicity: float | None = Field(default=None, ge=0, le=1)
    student_t_df: float | None = Field(default=None, gt=0, le=1e3)
    as_addon_curve_depth_bps: list[float] | None = None
    as_addon_curve_bps: list[float] | None = None
    hawkes_mu_per_s: list[float] | None = None
    hawkes_branching_matrix: list[list[float]] | None = None
    hawkes_toxicity_bps_per_excess: float | None = Field(default=None, ge=0, le=500)
    microprice_feature_names: list[str] | None = None
    microprice_coef_bps: list[float] | None = None
    microprice_intercept_bps: float | None = None
    microprice_regime_edges_bps_per_sqrt_s: list[float] | None = None
    microprice_regime_coef_bps: list[list[float] | None] | None = None
    volume_bucket_size: float | None = Field(default=None, gt=0)
    heston: HestonQuoting | None = None
    queue_model: Literal["prob_power", "prob_log"] | None = None
    queue_power_n: float | None = Field(default=None, gt=0, le=50)

    @model_validator(mode="after")
    def _schema2_shapes(self) -> QuotingParams:
        if self.queue_model == "prob_power" and self.queue_power_n is None:
            raise ValueError("queue_model 'prob_power' needs its exponent queue_power_n")
        depths, addons = self.as_addon_curve_depth_bps, self.as_addon_curve_bps
        if (depths is None) != (addons is None):
            raise ValueError("as_addon_curve_depth_bps and as_addon_curve_bps come together")
        if depths is not None and addons is not None:
            if len(depths) != len(addons) or not depths:
                raise ValueError("the add-on curve needs as many add-ons as depths (>= 1)")
            if any(b <= a for a, b in itertools.pairwise(depths)) or depths[0] < 0:
                raise ValueError(f"add-on curve depths must be >= 0 and increasing: {depths}")
            if any(not 0 <= a <= 500 for a in addons):
                raise ValueError(f"add-on curve values must be in [0, 500] bps: {addons}")
        mu, matrix = self.hawkes_mu_per_s, self.hawkes_branching_matrix
        if matrix is not None:
            d = len(matrix)
            if any(len(row) != d for row in matrix) or any(x < 0 for r in matrix for x in r):
                raise ValueError("hawkes_branching_matrix must be square and non-negative")
            if mu is not None and len(mu) != d:
                raise ValueError(f"hawkes_mu_per_s has {len(mu)} entries for a {d}x{d} matrix")
        if mu is not None and any(m <= 0 for m in mu):
            raise ValueError(f"hawkes_mu_per_s must be positive: {mu}")
        names, coef = self.microprice_feature_names, self.microprice_coef_bps
        if names is not None and coef is not None and len(names) != len(coef):
            raise ValueError("microprice_coef_bps needs one coefficient per feature name")
        return self


QUOTING_UNITS: dict[str, str] = {
    "sigma_bps_per_sqrt_s": "bps/sqrt(s)",
    "kappa_bid_per_bps": "1/bps",
    "kappa_ask_per_bps": "1/bps",
    "A_bid_per_s": "fills/s",
    "A_ask_per_s": "fills/s",
    "as_addon_bps": "bps",
    "hawkes_branching_ratio": "",
    "hawkes_decay_per_s": "1/s",
    "funding_rate_per_hour": "fraction/h",
    "microprice_fallback_to_mid": "",
    "microprice_r2_oos": "",
    "sigma_bid_bps_per_sqrt_s": "bps/sqrt(s)",
    "sigma_ask_bps_per_sqrt_s": "bps/sqrt(s)",
    "sigma_diffusion_bps_per_sqrt_s": "bps/sqrt(s)",
    "sigma_total_bps_per_sqrt_s": "bps/sqrt(s)",
    "vpin_toxicity": "",
    "student_t_df": "",
    "as_addon_curve_depth_bps": "bps",
    "as_addon_curve_bps": "bps",
    "hawkes_mu_per_s": "events/s",
    "hawkes_branching_matrix": "",
    "hawkes_toxicity_bps_per_excess": "bps per unit excess intensity",
    "microprice_feature_names": "",
    "microprice_coef_bps": "bps",
    "microprice_intercept_bps": "bps",
    "microprice_regime_edges_bps_per_sqrt_s": "bps/sqrt(s)",
    "microprice_regime_coef_bps": "bps",
    "volume_bucket_size": "base units",
    "heston": "",
    "queue_model": "",
    "queue_power_n": "",
}
"""Display units of each :class:`QuotingParams` field."""


class DataWindow(_Frozen):
    """The half-open time range ``[start_ns, end_ns)`` of the data fitted, int64 ns UTC."""

    start_ns: int = Field(ge=_MIN_TS_NS, le=_MAX_TS_NS)
    end_ns: int = Field(ge=_MIN_TS_NS, le=_MAX_TS_NS)

    @model_validator(mode="after")
    def _ordered(self) -> DataWindow:
        if self.end_ns <= self.start_ns:
            raise ValueError(f"end_ns ({self.end_ns}) must be after start_ns ({self.start_ns})")
        return self


class QualityCheck(_Frozen):
    """One check's verdict on one partition (``venue/symbol/date``).

    ``table`` names the lake table judged (trades, book, bbo, funding) and ``sha256`` the
    partition file's SHA-256 when it was checked (data_lake.quality_store), so the
    document says exactly which bytes it was fitted on.
    """

    partition: str = Field(pattern=PARTITION_PATTERN)
    check: str = Field(min_length=1)
    passed: bool
    blocking: bool = True
    detail: str | None = None
    table: str | None = Field(default=None, min_length=1)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class ValidationScores(_Frozen):
    """Out-of-sample scores of the candidate, and of a baseline on the same held-out data.

    The gate compares ``scores[primary]``, where **higher is better** (negate losses:
    ``neg_rmse_bps``), against the current published set. When ``baseline_version`` names
    the published set, ``baseline`` holds *its* scores on the same held-out partitions,
    which is the fair comparison; otherwise ``baseline`` is a naive model's (e.g. Poisson
    flow, mid as fair price), kept for the record.

    ``scores`` and ``baseline`` are free-form (older documents carry other names and still
    load); the gate also compares, on the same held-out data, each score named in
    ``data_lake.registry.gate.DEFAULT_SCORE_RULES`` (all higher is better): the Hawkes,
    depth-law and return log scores, minus the add-on curve's squared error and the
    micro-price's R^2 against the mid (assets/validation.py computes them).
    """

    primary: str = Field(min_length=1)
    scores: dict[str, float]
    baseline: dict[str, float] = Field(default_factory=dict)
    baseline_version: str | None = Field(default=None, pattern=VERSION_PATTERN)
    held_out: list[str] = Field(default_factory=list)
    # The candidate's and the published set's replays of the held-out day
    # (assets/backtest_gate.py); None in documents validated before the backtest gate.
    backtest: BacktestComparison | None = None

    @field_validator("held_out")
    @classmethod
    def _partitions(cls, value: list[str]) -> list[str]:
        _check_partitions(value)
        return value

    @model_validator(mode="after")
    def _primary_scored(self) -> ValidationScores:
        if self.primary not in self.scores:
            raise ValueError(
                f"primary metric {self.primary!r} has no score; scores: {sorted(self.scores)}"
            )
        return self


class ParamSet(_Frozen):
    """One symbol's parameter set, as written to ``params/<symbol>/<version>.json``.

    ``version`` is assigned by the registry when the document is first written; ``status``
    and ``reason`` are as of loading (the registry overlays its decisions log; the file
    itself always says ``candidate``).
    """

    schema_version: Literal[1, 2] = SCHEMA_VERSION
    symbol: str = Field(pattern=SYMBOL_PATTERN)
    venue: str = Field(min_length=1)
    version: str | None = Field(default=None, pattern=VERSION_PATTERN)
    quoting: QuotingParams
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)
    window: DataWindow
    partitions: list[str] = Field(min_length=1)
    quality: list[QualityCheck] = Field(default_factory=list)
    code_version: str = Field(min_length=1)
    validation: ValidationScores | None = None
    fallbacks: list[FieldFallback] = Field(default_factory=list)
    created_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    # The Dagster run that made the set (the UI's /runs/<id>); None in documents written
    # before it was recorded or outside Dagster. Outside the content hash.
    dagster_run_id: str | None = Field(default=None, pattern=r"^[0-9a-f-]{8,64}$")
    status: ParamStatus = ParamStatus.CANDIDATE
    reason: str | None = None

    @field_validator("schema_version", mode="before")
    @classmethod
    def _supported_schema(cls, value: object) -> object:
        if value not in READABLE_SCHEMA_VERSIONS:
            raise ValueError(
                f"schema_version {value!r} is not supported by this code "
                f"(it reads {', '.join(map(str, READABLE_SCHEMA_VERSIONS))})"
            )
        return value

    @field_validator("partitions")
    @classmethod
    def _partitions(cls, value: list[str]) -> list[str]:
        _check_partitions(value)
        return value

    @field_validator("models")
    @classmethod
    def _plain_json(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for name, estimates in value.items():
            if not name:
                raise ValueError("model names must be non-empty")
            _check_json(estimates, f"models.{name}")
        return value

    # -- derived views -----------------------------------------------------------------

    def hash_payload(self) -> dict[str, Any]:
        """The hashed content: everything but :data:`HASH_EXCLUDED_FIELDS`, as JSON types."""
        return self.model_dump(mode="json", exclude=set(HASH_EXCLUDED_FIELDS))

    def estimates(self, model: str) -> dict[str, Any]:
        """``models[model]`` under today's key names (:data:`RENAMED_ESTIMATE_KEYS`), or {}."""
        return current_estimates(model, self.models.get(model, {}))

    def fit_payload(self) -> dict[str, Any]:
        """What was fitted, on what, by which code: the content a rerun reproduces.

        Every field but version, created_at, status, reason and validation
        (:data:`FIT_EXCLUDED_FIELDS`): symbol, venue, schema_version, quoting (and its
        fallbacks), models, window, partitions, code_version, and the quality entries of
        the fitted partitions (each with the SHA-256 of the file checked).
        """
        payload = self.model_dump(mode="json", exclude=set(FIT_EXCLUDED_FIELDS))
        fitted = set(self.partitions)
        payload["quality"] = [q for q in payload["quality"] if q["partition"] in fitted]
        return payload

    def failed_checks(self) -> list[QualityCheck]:
        """Blocking quality checks that failed."""
        return [q for q in self.quality if q.blocking and not q.passed]

    def primary_score(self) -> tuple[str, float] | None:
        """``(metric, value)`` of the primary validation score, if validated."""
        if self.validation is None:
            return None
        return self.validation.primary, self.validation.scores[self.validation.primary]


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def json_safe(value: Any) -> Any:
    """``value`` with integers beyond 64 bits as strings (orjson cannot write them).

    For raw documents that failed validation: they are still hashed and kept as
    ``rejected/<hash>.json``, whatever they hold.
    """
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return value if _INT64_MIN <= value <= _INT64_MAX else str(value)
    return value


def content_hash(document: ParamSet | Mapping[str, Any]) -> str:
    """Full SHA-256 hex digest of a document's content (see :data:`HASH_EXCLUDED_FIELDS`).

    Accepts a raw mapping too (for documents that fail validation), hashed as given minus
    the excluded fields.
    """
    if isinstance(document, ParamSet):
        payload: Any = document.hash_payload()
    else:
        payload = json_safe(
            {k: v for k, v in document.items() if k not in HASH_EXCLUDED_FIELDS}
        )
    blob = orjson.dumps(
        payload, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str
    )
    return hashlib.sha256(blob).hexdigest()


def current_estimates(model: str, estimates: Mapping[str, Any]) -> dict[str, Any]:
    """A model's estimates with keys renamed since the document was written brought up to
    date (:data:`RENAMED_ESTIMATE_KEYS`); where both names are present the current one wins.
    """
    return dict(_renamed(estimates, RENAMED_ESTIMATE_KEYS.get(model, {})))


def _renamed(value: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(value, Mapping):
        return {
            renames.get(key, key): _renamed(item, renames)
            for key, item in value.items()
            if not (key in renames and renames[key] in value)
        }
    if isinstance(value, list):
        return [_renamed(item, renames) for item in value]
    return value


def fit_hash(document: ParamSet) -> str:
    """SHA-256 hex digest of :meth:`ParamSet.fit_payload`: equal for a rerun on the same data.

    The registry publishes nothing new when a candidate's fit hash equals the published
    set's (decision ``unchanged``).
    """
    blob = orjson.dumps(
        document.fit_payload(), option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
    )
    return hashlib.sha256(blob).hexdigest()


def _check_partitions(value: list[str]) -> None:
    for part in value:
        if not re.match(PARTITION_PATTERN, part):
            raise ValueError(f"partition {part!r} is not 'venue/symbol/YYYY-MM-DD'")


def _check_json(value: Any, where: str) -> None:
    """Refuse what JSON cannot carry faithfully: NaN/inf (use None) and non-plain types."""
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(
                f"{where} is {value}, beyond a 64-bit integer; store it as a float or string"
            )
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where} is {value}; use None for a missing estimate")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where} has a non-string key {key!r}")
            _check_json(item, f"{where}.{key}")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
        return
    raise ValueError(f"{where} has a {type(value).__name__}, not a plain JSON value")
