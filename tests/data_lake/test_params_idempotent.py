"""Idempotent publishing: a rerun on the same data publishes nothing new, and says why."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from data_lake.lake import Lake
from data_lake.paths import LakePaths
from data_lake.registry import ParamRegistry, ParamStatus
from data_lake.registry.document import ParamSet, fit_hash
from tests.data_lake.test_params import make_document

LATER = datetime(2024, 1, 3, 1, 0, tzinfo=UTC).isoformat()


@pytest.fixture
def registry(tmp_path: Path) -> ParamRegistry:
    return ParamRegistry(LakePaths.at(tmp_path), refresh_catalog=False)


def _published(registry: ParamRegistry, doc: dict[str, Any]) -> str:
    decision = registry.submit(doc)
    assert decision.accepted and decision.code == "published", decision.reason
    assert decision.version is not None
    return decision.version


def _rerun(**kwargs: Any) -> dict[str, Any]:
    """The same fit, re-run later: new created_at, validated against the published set."""
    return make_document(created_at=LATER, **kwargs)


def test_same_candidate_twice_gives_one_version_and_an_unchanged_entry(
    registry: ParamRegistry,
) -> None:
    v1 = _published(registry, make_document())
    pointer = registry.root / "BTC" / "LATEST"
    pointer_before = pointer.read_bytes()

    again = registry.submit(_rerun())

    assert again.accepted and (again.code, again.version, again.previous) == ("unchanged", v1, v1)
    assert v1 in again.reason and "nothing written" in again.reason
    assert registry.version_ids("BTC") == [v1]
    assert pointer.read_bytes() == pointer_before  # LATEST not even re-stamped
    log = registry.decisions("BTC")
    assert [(d.code, d.version) for d in log] == [("published", v1), ("unchanged", v1)]
    assert log[-1].reason == again.reason
    # The version keeps the status (and reason) its publication gave it.
    loaded = registry.load("BTC")
    assert (loaded.version, loaded.status, loaded.reason) == (v1, ParamStatus.PUBLISHED,
                                                             "passed the gate")


def test_a_new_validation_of_the_same_fit_is_still_unchanged(registry: ParamRegistry) -> None:
    """The rerun's validation scores the first set as its baseline: not a new fit."""
    v1 = _published(registry, make_document(score=-1.0))
    rerun = _rerun(score=-1.0, baseline_version=v1, baseline_score=-1.0)
    rerun["validation"]["held_out"] = ["hyperliquid/BTC/2024-01-03"]  # a later held-out day
    rerun["quality"] = [q for q in rerun["quality"] if "01-02" not in q["partition"]] + [
        {"partition": "hyperliquid/BTC/2024-01-03", "table": "trades", "check": "unique_trade_ids",
         "passed": True},
    ]
    decision = registry.submit(rerun)
    assert (decision.code, decision.version) == ("unchanged", v1)
    assert registry.version_ids("BTC") == [v1]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: d["quoting"].update(as_addon_bps=0.9), id="quoting"),
        pytest.param(lambda d: d["models"]["hawkes"].update(n_obs=1), id="models"),
        pytest.param(lambda d: d.update(code_version="0.1.0+gfeedbee"), id="code_version"),
        pytest.param(lambda d: d["window"].update(end_ns=d["window"]["end_ns"] - 1), id="window"),
        pytest.param(
            lambda d: (d["partitions"].append("hyperliquid/BTC/2023-12-31"),
                       d["quality"].append({"partition": "hyperliquid/BTC/2023-12-31",
                                            "table": "funding", "check": "funding_schema",
                                            "passed": True})),
            id="partitions",
        ),
        pytest.param(lambda d: d["quality"][0].update(sha256="ab" * 32), id="input_bytes"),
    ],
)
def test_changed_fit_content_publishes_a_new_version(
    registry: ParamRegistry, change: Any
) -> None:
    v1 = _published(registry, make_document())
    doc = _rerun()
    change(doc)
    v2 = _published(registry, doc)
    assert v2 != v1 and v2.startswith("000002-")
    assert registry.latest_version("BTC") == v2


def test_fit_hash_ignores_time_status_and_validation_only() -> None:
    base = ParamSet.model_validate(make_document())
    same = [
        make_document(created_at=LATER),
        make_document(score=-5.0, baseline_version="000001-00000000", baseline_score=-1.0),
        make_document(score=None),  # no validation, and no held-out quality with it
    ]
    for raw in same:
        assert fit_hash(ParamSet.model_validate(raw)) == fit_hash(base)
    flipped = make_document()
    flipped["quality"][1]["passed"] = False  # a fitted partition's check verdict
    assert fit_hash(ParamSet.model_validate(flipped)) != fit_hash(base)


def test_rollback_sticks_until_the_fit_changes(registry: ParamRegistry) -> None:
    """A (v1) and B (v2) published, rolled back to A. Rerunning B is refused, A unchanged;
    a new fit C goes through the gate; rolling forward to B on purpose still works."""
    fit_a, fit_b = make_document(score=-1.0), make_document(seed=1, score=-0.9)
    v1, v2 = _published(registry, fit_a), _published(registry, fit_b)
    registry.rollback("BTC", v1, reason="v2 quoted too tight")

    again_b = registry.submit(make_document(seed=1, score=-0.9, created_at=LATER))
    assert (again_b.status, again_b.code, again_b.version) == (ParamStatus.REJECTED,
                                                               "rolled_back", v2)
    assert "v2 quoted too tight" in again_b.reason and f"rollback BTC {v2}" in again_b.reason
    assert registry.latest_version("BTC") == v1
    assert registry.version_ids("BTC") == [v1, v2]
    # v2 is still a once-published version (rollback may target it), not a rejected one.
    assert registry.load("BTC", v2).status is ParamStatus.PUBLISHED

    assert registry.submit(_rerun(score=-1.0)).code == "unchanged"

    v3 = _published(registry, make_document(seed=2, score=-0.95))
    assert registry.version_ids("BTC") == [v1, v2, v3]

    registry.rollback("BTC", v2, reason="v2 was fine after all")
    back = registry.submit(make_document(seed=1, score=-0.9, created_at=LATER))
    assert (back.code, back.version) == ("unchanged", v2)
    # And now v3 is the one rolled back from.
    assert registry.submit(make_document(seed=2, score=-0.95)).code == "rolled_back"


def test_unchanged_shows_in_the_param_decisions_view(tmp_path: Path) -> None:
    paths = LakePaths.at(tmp_path)
    registry = ParamRegistry(paths)  # refreshes the catalog
    v1 = _published(registry, make_document())
    registry.submit(_rerun())
    rows = Lake(paths).sql(
        "select code, version, reason from param_decisions order by decided_at"
    )
    assert list(rows["code"]) == ["published", "unchanged"]
    assert list(rows["version"]) == [v1, v1]
    assert v1 in rows["reason"].iloc[-1]
    assert Lake(paths).sql("select count(*) as n from param_sets")["n"].item() == 1
