"""The candidate's out-of-sample scores beside the published set's, with the gate's verdict
on each (markdown for the ``param_validation`` asset page). Scores are higher-is-better;
the margins are the publish gate's (data_lake.registry.gate)."""

from __future__ import annotations

from collections.abc import Mapping

from data_lake.registry.gate import DEFAULT_SCORE_RULES, GateConfig, ScoreRule

__all__ = ["score_rules", "validation_markdown", "verdicts"]


def score_rules(primary: str, config: GateConfig) -> list[ScoreRule]:
    """The primary score's rule (the config's margins), then every other score rule."""
    rules = [ScoreRule(primary, config.oos_margin_rel, config.oos_margin_abs, "primary")]
    return rules + [r for r in DEFAULT_SCORE_RULES if r.metric != primary]


def verdicts(
    scores: Mapping[str, float], baseline: Mapping[str, float], primary: str, config: GateConfig
) -> dict[str, str]:
    """Per score: ``better``, ``within margin``, ``WORSE beyond margin`` or why not compared."""
    out: dict[str, str] = {}
    rules = {r.metric: r for r in score_rules(primary, config)}
    for name in sorted(set(scores) | set(baseline)):
        score, ref = scores.get(name), baseline.get(name)
        if ref is None:
            out[name] = "no published score to compare"
        elif score is None:
            out[name] = "WORSE: candidate has no score"
        elif name not in rules:
            out[name] = "recorded (no gate rule)"
        else:
            rule = rules[name]
            floor = ref - rule.margin_rel * abs(ref) - rule.margin_abs
            out[name] = (
                "better"
                if score >= ref
                else "within margin"
                if score >= floor
                else f"WORSE beyond margin (floor {floor:.4g})"
            )
    return out


def validation_markdown(
    scores: Mapping[str, float],
    baseline: Mapping[str, float],
    baseline_version: str | None,
    primary: str,
    config: GateConfig,
) -> str:
    """The side-by-side table and the overall verdict."""
    v = verdicts(scores, baseline, primary, config)
    published = f"published {baseline_version}" if baseline_version else "published (none)"
    lines = [
        f"| score (higher is better) | candidate | {published} | difference | verdict |",
        "|---|---|---|---|---|",
    ]
    for name in sorted(v):
        score, ref = scores.get(name), baseline.get(name)
        diff = "" if score is None or ref is None else f"{score - ref:+.4g}"
        label = f"**{name}** (primary)" if name == primary else name
        lines.append(
            f"| {label} | {'' if score is None else f'{score:.4g}'} | "
            f"{'' if ref is None else f'{ref:.4g}'} | {diff} | {v[name]} |"
        )
    worse = [n for n, text in v.items() if text.startswith("WORSE")]
    if not baseline:
        overall = "nothing published yet: the gate has nothing to compare with"
    elif worse:
        overall = f"the gate refuses the candidate: worse on {', '.join(worse)}"
    else:
        overall = "not worse than the published set on any score"
    return "\n".join(lines) + f"\n\n**Verdict:** {overall}."
