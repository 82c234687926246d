"""The publish gate of docs/architecture.md §5, as pure functions over documents, and its verdicts.

A schema-valid candidate is refused when it was fitted or validated on partitions whose
blocking quality checks failed (or that were never checked), or when it scores worse out of sample
than the published set it would replace by more than a margin: on the validation's primary
score (:func:`gate_problems`) and on the risk-adjusted score of a backtest of the held-out day
with the same events (:func:`backtest_problems`). Schema and bounds
failures are caught earlier, by pydantic; :func:`describe_validation_error` turns them
into a verdict code and a readable reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from data_lake.registry.document import ParamSet, ParamStatus

__all__ = [
    "DEFAULT_SCORE_RULES",
    "NON_STATUS_CODES",
    "SCORE_ADDON",
    "SCORE_DEPTH",
    "SCORE_HAWKES",
    "SCORE_MICROPRICE",
    "SCORE_SIGMA",
    "Decision",
    "GateConfig",
    "ScoreRule",
    "backtest_problems",
    "describe_validation_error",
    "gate_problems",
]

SCORE_HAWKES = "hawkes_oos_loglik_per_event"
"""Log-likelihood per event of the held-out flow under the quoting block's Hawkes, nats."""
SCORE_DEPTH = "depth_oos_loglik_per_order"
"""Mean log density (per bps) of the held-out fill depths under the chosen law, nats."""
SCORE_SIGMA = "sigma_oos_logscore_per_return"
"""Mean log density (per bps) of held-out returns, two-piece Student-t at the per-side
sigmas and the df, nats."""
SCORE_ADDON = "addon_oos_neg_mse_bps2"
"""Minus the squared error of the add-on curve against held-out markouts, bps^2."""
SCORE_MICROPRICE = "microprice_oos_r2"
"""R^2 of the micro-price against the mid (0 = no model) on the held-out day."""


@dataclass(frozen=True)
class ScoreRule:
    """One out-of-sample score the gate compares, higher is better.

    The candidate is refused when its score is below ``ref - margin_rel * |ref| -
    margin_abs``, ``ref`` the published set's score (on the same held-out data when
    recorded). ``why`` says where the margin comes from.
    """

    metric: str
    margin_rel: float
    margin_abs: float
    why: str

    def __post_init__(self) -> None:
        if not (self.margin_rel >= 0 and self.margin_abs >= 0):
            raise ValueError(f"{self.metric}: gate margins must be >= 0")


DEFAULT_SCORE_RULES: tuple[ScoreRule, ...] = (
    ScoreRule(
        SCORE_HAWKES, 0.0, 0.02,
        "0.02 nats per event: a likelihood ratio of e^0.02 per trade, well above the "
        "day-to-day refit noise on ~10^4 events and far below a broken kernel",
    ),
    ScoreRule(
        SCORE_DEPTH, 0.0, 0.02,
        "0.02 nats per fill depth: a kappa off by ~20 % costs about that much",
    ),
    ScoreRule(
        SCORE_SIGMA, 0.0, 0.02,
        "0.02 nats per return: a sigma off by ~20 % (or a df from 4 to Gaussian) costs "
        "about that much",
    ),
    ScoreRule(
        SCORE_ADDON, 0.25, 0.25,
        "25 % of the published curve's squared error plus (0.5 bps)^2: the add-on's own "
        "standard error is of that order, a half-bps bias is not",
    ),
    ScoreRule(
        SCORE_MICROPRICE, 0.0, 0.01,
        "one point of R^2: the fit's own floor for being used at all (r2_floor 0.01)",
    ),
)
"""The scores of what the trader quotes with, each gated on its own: a candidate worse
than the published set on ANY of them beyond its margin is refused. One combined score
would let a better Hawkes buy a worse sigma, and the trader reads them separately. The
margins are absolute in each score's units (likelihood scores are differences of mean log
densities, so a relative margin would depend on the density's units, bps here)."""

_BOUND_ERRORS = frozenset(
    {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number"}
)

NON_STATUS_CODES = frozenset({"already_latest", "unchanged", "rolled_back"})
"""Verdicts on a candidate whose fit already has a version: nothing new is written, and
the version they name keeps the status its own decisions gave it."""


@dataclass(frozen=True)
class GateConfig:
    """How strict the publish gate is.

    Attributes
    ----------
    oos_margin_rel : float
        A candidate is refused when its primary out-of-sample score (higher is better)
        is below ``ref - oos_margin_rel * |ref| - oos_margin_abs``, ``ref`` being the
        current published set's score. 0.05 lets a refit be up to 5 % worse, which is
        day-to-day noise for likelihood-type scores, but not a broken fit.
    oos_margin_abs : float
        Absolute slack in the score's units, for scores near zero.
    require_checked_partitions : bool
        Refuse a set fitted on a partition with no quality result at all.
    require_validation : bool
        Refuse a set with no out-of-sample validation when there is a published set to
        compare it with (the first set of a symbol may go out unvalidated).
    backtest_margin_se : float
        The backtest rule (:func:`backtest_problems`): a candidate is refused when its
        risk-adjusted backtest score on the held-out day is below the published set's
        on the same events by more than ``backtest_margin_se`` standard errors of the
        difference, plus ``backtest_margin_abs``. The default 2.0 refuses a candidate that
        is no worse than the published set about 2.3 % of the time (one-sided, normal
        difference) and one worse by 3 standard errors about 84 % of the time.
    backtest_margin_abs : float
        Absolute slack in score units (the score is a per-minute information ratio of the
        P&L: a synthetic quoting day scores 0.8-1.3 with a standard error near 0.03).
    require_backtest : bool
        Refuse a set with no backtest comparison against the set published now when there
        is one. Off by default for documents submitted by hand; the nightly job turns it
        on (``assets.backtest_gate.NIGHTLY_GATE``), where the backtest always runs.
    score_rules : tuple of ScoreRule
        The scores of what the trader uses, each compared with the published set's when
        both sets have it (:data:`DEFAULT_SCORE_RULES`); on top of the primary score.
    """

    oos_margin_rel: float = 0.05
    oos_margin_abs: float = 0.0
    require_checked_partitions: bool = True
    require_validation: bool = True
    backtest_margin_se: float = 2.0
    backtest_margin_abs: float = 0.0
    require_backtest: bool = False
    score_rules: tuple[ScoreRule, ...] = DEFAULT_SCORE_RULES

    def __post_init__(self) -> None:
        margins = (
            self.oos_margin_rel, self.oos_margin_abs,
            self.backtest_margin_se, self.backtest_margin_abs,
        )
        if not all(math.isfinite(m) and m >= 0 for m in margins):
            raise ValueError(f"gate margins must be finite and >= 0, got {margins}")


@dataclass(frozen=True)
class Decision:
    """A gate verdict or a rollback, as returned and as logged in ``decisions.jsonl``.

    ``code`` is ``published``, ``already_latest``, ``unchanged``, ``rollback`` or
    ``recovered`` (a pointer move logged after its writer died) when accepted, else the
    first failed rule: ``schema``, ``bounds``, ``failed_checks``,
    ``unchecked_partitions``, ``no_validation``, ``worse_oos``, ``no_backtest``,
    ``worse_backtest``, or ``rolled_back``.
    ``reason`` lists every failed rule. For ``unchanged`` (the candidate's fit equals the
    published set's) and ``rolled_back`` (it equals a set that was rolled back from),
    nothing is written and ``version`` names the existing version it equals. ``event`` is
    ``gate`` (a verdict on a candidate) or ``rollback``; ``previous`` is the version
    ``latest`` named before; ``document`` names the kept file of a set refused before it
    got a version (relative to ``params/<symbol>/``).
    """

    symbol: str
    version: str | None
    status: ParamStatus
    code: str
    reason: str
    event: str = "gate"
    previous: str | None = None
    document: str | None = None
    decided_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def accepted(self) -> bool:
        return self.status is ParamStatus.PUBLISHED

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "version": self.version,
            "status": self.status.value,
            "code": self.code,
            "reason": self.reason,
            "event": self.event,
            "previous": self.previous,
            "document": self.document,
            "decided_at": self.decided_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> Decision:
        return cls(
            symbol=str(row["symbol"]),
            version=row.get("version"),
            status=ParamStatus(row["status"]),
            code=str(row["code"]),
            reason=str(row.get("reason") or ""),
            event=str(row.get("event") or "gate"),
            previous=row.get("previous"),
            document=row.get("document"),
            decided_at=datetime.fromisoformat(row["decided_at"]),
        )


# -- the gate, as a pure function -----------------------------------------------------------


def gate_problems(
    document: ParamSet,
    current: ParamSet | None,
    config: GateConfig,
    *,
    compare_oos: bool = True,
) -> list[tuple[str, str]]:
    """Every rule a (schema-valid) document breaks, as ``(code, reason)``; empty = passes.

    ``current`` is the published set it would replace (None for a symbol's first set).
    """
    problems: list[tuple[str, str]] = []
    failed = document.failed_checks()
    if failed:
        listed = ", ".join(f"{q.check} on {q.partition}" for q in failed[:5])
        more = f" (+{len(failed) - 5} more)" if len(failed) > 5 else ""
        problems.append(
            ("failed_checks", f"fitted on data that failed blocking checks: {listed}{more}")
        )
    if config.require_checked_partitions:
        checked = {q.partition for q in document.quality}
        held_out = document.validation.held_out if document.validation else []
        read = list(dict.fromkeys([*document.partitions, *held_out]))
        unchecked = [p for p in read if p not in checked]
        if unchecked:
            listed = ", ".join(unchecked)
            problems.append(("unchecked_partitions", f"no quality results for partitions {listed}"))
    if compare_oos and current is not None:
        problems.extend(_oos_problems(document, current, config))
        problems.extend(backtest_problems(document, current, config))
    return problems


def _oos_problems(
    document: ParamSet, current: ParamSet, config: GateConfig
) -> list[tuple[str, str]]:
    """The primary score against the margin of ``config``, then every score rule.

    The primary is compared with the published set scored on the same held-out data
    (``baseline``), else with its own validation. The score rules are compared on the same
    held-out data only, each when the baseline has it; a candidate that lacks a score its
    baseline has is refused, since it cannot show it is not worse.
    """
    validation = document.validation
    if validation is None:
        if config.require_validation:
            msg = f"no out-of-sample validation to compare with {current.version}"
            return [("no_validation", msg)]
        return []
    metric = validation.primary
    same_data = validation.baseline_version == current.version and metric in validation.baseline
    if same_data:
        # Same held-out data for both: the fair comparison.
        scores, source = validation.baseline, f"{current.version} on the same held-out data"
    elif current.validation is not None and metric in current.validation.scores:
        scores, source = current.validation.scores, f"{current.version} at its own validation"
    elif current.validation is None:
        return []  # nothing recorded to compare with: the current set was never validated
    else:
        return [(
            "worse_oos",
            f"cannot compare: {current.version} has no {metric!r} score; validate against it "
            "on the same held-out data (baseline_version)",
        )]
    rules = [ScoreRule(metric, config.oos_margin_rel, config.oos_margin_abs, "primary")]
    if same_data:
        # Only on the same held-out day: another day's calm or busy market moves every score.
        rules += [r for r in config.score_rules if r.metric != metric and r.metric in scores]
    problems = []
    for rule in rules:
        ref = scores[rule.metric]
        score = validation.scores.get(rule.metric)
        if score is None:
            problems.append((
                "worse_oos",
                f"out-of-sample {rule.metric} missing, while {current.version} scores "
                f"{ref:.6g} ({source})",
            ))
            continue
        floor = ref - rule.margin_rel * abs(ref) - rule.margin_abs
        if score < floor:
            margin = f"{rule.margin_rel:.1%}" + (
                f" + {rule.margin_abs:g}" if rule.margin_abs else ""
            )
            problems.append((
                "worse_oos",
                f"out-of-sample {rule.metric} = {score:.6g} is worse than {ref:.6g} "
                f"({source}) by more than the margin (floor {floor:.6g}, margin {margin})",
            ))
    return problems


def backtest_problems(
    document: ParamSet, current: ParamSet, config: GateConfig
) -> list[tuple[str, str]]:
    """The backtest rule: refuse a candidate that trades worse than the published set.

    Reads ``document.validation.backtest`` (:class:`~data_lake.registry.backtest_record.
    BacktestComparison`): the candidate and ``current`` replayed on the same held-out
    events. With ``c`` and ``b`` their risk-adjusted scores and ``se`` the standard error
    of ``c - b`` (paired: same events; when not recorded, ``sqrt(se_c^2 + se_b^2)``), the
    candidate is refused (``worse_backtest``) when
    ``c < b - backtest_margin_se * se - backtest_margin_abs``. A candidate with no score
    (nothing to measure risk on) against a scored published set is refused too. A
    comparison against another version than ``current``, or none, counts as no backtest
    (``no_backtest``, when :attr:`GateConfig.require_backtest`; else the rule is skipped).
    """
    validation = document.validation
    record = validation.backtest if validation is not None else None
    if record is None or record.baseline is None or record.baseline_version != current.version:
        if not config.require_backtest:
            return []
        if record is None:
            what = "no backtest of the held-out day"
        elif record.baseline_version is None:
            what = "a backtest made when nothing was published"
        else:
            what = f"a backtest against {record.baseline_version}"
        return [(
            "no_backtest",
            f"{what}; the gate needs the candidate and the published {current.version} "
            "replayed on the same held-out events (rerun the nightly job's param_backtest)",
        )]
    cand, base = record.candidate, record.baseline
    name = record.score_name
    if base.score is None:
        return []  # the published set has no score either: nothing to be worse than
    if cand.score is None:
        return [(
            "worse_backtest",
            f"held-out backtest: the candidate has no {name} (P&L "
            f"{cand.attribution['total']:.6g}, {cand.fills} fills) while {current.version} "
            f"scores {base.score:.4g} on the same events",
        )]
    se = record.score_diff_stderr
    if se is None:
        se_c, se_b = cand.score_stderr, base.score_stderr
        se = math.hypot(se_c, se_b) if se_c is not None and se_b is not None else 0.0
    slack = config.backtest_margin_se * se + config.backtest_margin_abs
    diff = cand.score - base.score
    if diff < -slack:
        return [(
            "worse_backtest",
            f"held-out backtest: {name} = {cand.score:.4g} (P&L {cand.attribution['total']:.6g}, "
            f"{cand.fills} fills) is worse than {current.version}'s {base.score:.4g} (P&L "
            f"{base.attribution['total']:.6g}, {base.fills} fills) on the same events by "
            f"{-diff:.4g}, beyond the margin {slack:.4g} = {config.backtest_margin_se:g} x "
            f"SE(difference) {se:.3g} + {config.backtest_margin_abs:g}",
        )]
    return []


def describe_validation_error(exc: ValidationError) -> tuple[str, str]:
    """``(code, reason)`` of a pydantic failure: ``bounds`` if only limits were broken."""
    errors = exc.errors(include_url=False)
    parts = []
    bounds_only = True
    for err in errors:
        loc = ".".join(str(x) for x in err["loc"]) or "<document>"
        parts.append(f"{loc}: {err['msg']}")
        # The data window's ordering is a sanity bound too (a unit slip shows up there).
        is_bound = err["type"] in _BOUND_ERRORS or (
            err["type"] == "value_error" and err["loc"][:1] == ("window",)
        )
        bounds_only = bounds_only and is_bound
    return ("bounds" if bounds_only else "schema"), "; ".join(parts)


