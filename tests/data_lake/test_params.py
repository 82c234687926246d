"""The param registry: immutable versions, atomic publish, the gate, rollback, the loader."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from data_lake.lake import Lake
from data_lake.paths import LakePaths
from data_lake.registry import (
    CorruptParamSetError,
    GateConfig,
    ParamRegistry,
    RollbackError,
    UnknownSymbolError,
    UnknownVersionError,
    current_code_version,
)
from data_lake.registry import files as param_files
from data_lake.registry.document import (
    RENAMED_ESTIMATE_KEYS,
    ParamSet,
    ParamStatus,
    content_hash,
    current_estimates,
)
from data_lake.registry.files import FileExistsImmutableError, create_once

DAY_NS = 86_400 * 10**9
START_NS = 1_704_067_200 * 10**9  # 2024-01-01T00:00:00Z
REPO = Path(__file__).resolve().parents[2]


def make_document(
    symbol: str = "BTC",
    *,
    score: float | None = -1.0,
    baseline_version: str | None = None,
    baseline_score: float | None = None,
    failed_check: bool = False,
    kappa_bid: float = 0.35,
    seed: int = 0,
    **overrides: Any,
) -> dict[str, Any]:
    """A valid raw param-set document; ``seed`` changes the content (hence the version)."""
    partition = f"hyperliquid/{symbol}/2024-01-01"
    doc: dict[str, Any] = {
        "schema_version": 1,
        "symbol": symbol,
        "venue": "hyperliquid",
        "quoting": {
            "sigma_bps_per_sqrt_s": 0.9,
            "kappa_bid_per_bps": kappa_bid,
            "kappa_ask_per_bps": 0.4,
            "A_bid_per_s": 1.5,
            "A_ask_per_s": 1.4,
            "as_addon_bps": 0.8,
            "hawkes_branching_ratio": 0.62,
            "hawkes_decay_per_s": 3.0,
            "funding_rate_per_hour": 1.25e-5,
            "microprice_fallback_to_mid": False,
            "microprice_r2_oos": 0.12,
        },
        "models": {
            "hawkes": {"mu": [0.4, 0.45], "alpha": [[0.3, 0.1], [0.1, 0.3]], "beta": 3.0,
                       "branching_ratio": 0.62, "ks_pvalue": 0.31, "n_obs": 12000 + seed},
            "fill_depth": {"best": "exponential", "kappa": kappa_bid, "kappa_ci": [0.3, 0.4],
                           "A": 1.5, "ks_pvalue": None},
        },
        "window": {"start_ns": START_NS, "end_ns": START_NS + DAY_NS},
        "partitions": [partition],
        "quality": [
            {"partition": partition, "check": "no_crossed_books", "passed": not failed_check},
            {"partition": partition, "check": "unique_trade_ids", "passed": True},
        ],
        "code_version": "0.1.0+g1234abc",
        "created_at": datetime(2024, 1, 2, 1, 0, tzinfo=UTC).isoformat(),
    }
    if score is not None:
        held_out = f"hyperliquid/{symbol}/2024-01-02"
        validation: dict[str, Any] = {
            "primary": "oos_loglik_per_event",
            "scores": {"oos_loglik_per_event": score, "markout_rmse_bps": 1.1},
            "held_out": [held_out],
        }
        doc["quality"].append(
            {"partition": held_out, "table": "bbo", "check": "no_crossed_bbo", "passed": True}
        )
        if baseline_score is not None:
            validation["baseline"] = {"oos_loglik_per_event": baseline_score}
            validation["baseline_version"] = baseline_version
        doc["validation"] = validation
    doc.update(overrides)
    return doc


@pytest.fixture
def registry(tmp_path: Path) -> ParamRegistry:
    return ParamRegistry(LakePaths.at(tmp_path), refresh_catalog=False)


def _publish(registry: ParamRegistry, **kwargs: Any) -> str:
    decision = registry.submit(make_document(**kwargs))
    assert decision.accepted, decision.reason
    assert decision.version is not None
    return decision.version


def _overwrite(path: Path, data: bytes) -> None:
    os.chmod(path, 0o644)
    path.write_bytes(data)


# -- the document ------------------------------------------------------------------------


def test_round_trip_write_then_load_gives_the_same_document(registry: ParamRegistry) -> None:
    raw = make_document()
    version = registry.write(raw)
    loaded = registry.load("BTC", version)
    assert loaded.version == version
    assert loaded.status is ParamStatus.CANDIDATE
    mutable = {"version", "status", "reason"}
    assert loaded.model_dump(mode="json", exclude=mutable) == (
        ParamSet.model_validate(raw).model_dump(mode="json", exclude=mutable)
    )
    assert registry.path_of("BTC", version).name == f"{version}.json"
    assert version.startswith("000001-") and version.endswith(content_hash(loaded)[:8])


def test_a_document_written_before_a_field_was_added_still_passes_its_hash(
    registry: ParamRegistry,
) -> None:
    """Optional fields the schema gained later (absent from an older file) do not make
    the file look edited; an edit of what it does hold still does."""
    version = registry.write(make_document())
    path = registry.path_of("BTC", version)
    raw = orjson.loads(path.read_bytes())
    del raw["quoting"]["hawkes_toxicity_bps_per_excess"]  # as written before it existed
    raw.pop("dagster_run_id", None)
    old = f"000002-{content_hash(raw)[:8]}"
    raw["version"] = old
    path.with_name(f"{old}.json").write_bytes(orjson.dumps(raw))
    assert registry.load("BTC", old).quoting.hawkes_toxicity_bps_per_excess is None
    raw["quoting"]["kappa_bid_per_bps"] *= 2
    path.with_name(f"{old}.json").write_bytes(orjson.dumps(raw))
    with pytest.raises(CorruptParamSetError, match="edited after writing"):
        registry.load("BTC", old)


def old_style_models() -> dict[str, Any]:
    """``models`` as written before standard errors were all named ``<param>_stderr``."""
    curve = {"label": "all", "horizons_s": [1.0, 5.0], "mean_bps": [0.2, 0.4],
             "stderr_bps": [0.05, None]}
    return {
        "fill_depth": {
            "bid": {"kappa_per_bps": 0.35, "fit": {"kappa_per_bps": 0.35, "kappa_se": 0.012}},
            "ask": {"kappa_per_bps": 0.4, "fit": None},
        },
        "markouts": {"overall": curve, "by_side": [{**curve, "label": "buy"}]},
        "microprice": {"ols_coef_bps": [0.4, -0.1], "ols_stderr_bps": [0.1, 0.2]},
    }


def test_a_document_written_before_the_stderr_renames_loads_and_reads_the_same(
    registry: ParamRegistry,
) -> None:
    version = registry.write(make_document(models=old_style_models()))
    doc = registry.load("BTC", version)  # re-validated and hash-checked as written
    assert doc.models["fill_depth"]["bid"]["fit"]["kappa_se"] == 0.012  # the file is untouched
    fit = doc.estimates("fill_depth")["bid"]["fit"]
    assert fit == {"kappa_per_bps": 0.35, "kappa_stderr_per_bps": 0.012}
    markouts = doc.estimates("markouts")
    assert markouts["overall"]["mean_stderr_bps"] == [0.05, None]
    assert markouts["by_side"][0]["mean_stderr_bps"] == [0.05, None]
    assert "stderr_bps" not in markouts["by_side"][0]
    assert doc.estimates("microprice") == {"ols_coef_bps": [0.4, -0.1],
                                           "ols_coef_stderr_bps": [0.1, 0.2]}
    assert doc.estimates("no_such_model") == {}


def test_current_key_names_read_unchanged_and_win_over_old_ones() -> None:
    current = {"kappa_per_bps": 0.35, "kappa_stderr_per_bps": 0.01}
    assert current_estimates("fill_depth", current) == current
    assert current_estimates("fill_depth", {**current, "kappa_se": 0.5}) == current
    # renames belong to their model: another model's key of the same name is left alone
    assert current_estimates("hawkes", {"stderr_bps": 1.0}) == {"stderr_bps": 1.0}


def test_renamed_keys_are_the_names_the_results_write_today() -> None:
    import dataclasses

    import numpy as np

    from calibration.fill_depth import fit_fill_depth
    from calibration.order_flow.markouts import MarkoutCurve
    from calibration.order_flow.microprice import MicropriceFit

    depths = np.random.default_rng(0).exponential(2.0, 400)
    written = {
        "fill_depth": fit_fill_depth(depths, n_boot=0).to_dict(),
        "markouts": MarkoutCurve("all", (1.0,), (0.2,), (0.05,), (400,), (3,)).to_dict(),
        "microprice": {f.name: None for f in dataclasses.fields(MicropriceFit)},
    }
    for model, renames in RENAMED_ESTIMATE_KEYS.items():
        for old, new in renames.items():
            assert new in written[model] and old not in written[model], (model, old, new)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("kappa_bid_per_bps", -0.2, "quoting.kappa_bid_per_bps"),
        ("sigma_bps_per_sqrt_s", float("nan"), "quoting.sigma_bps_per_sqrt_s"),
        ("hawkes_branching_ratio", 1.05, "quoting.hawkes_branching_ratio"),
        ("funding_rate_per_hour", 0.3, "quoting.funding_rate_per_hour"),
    ],
)
def test_quoting_bounds_are_enforced(field: str, value: float, fragment: str) -> None:
    raw = make_document()
    raw["quoting"][field] = value
    with pytest.raises(ValidationError, match=fragment):
        ParamSet.model_validate(raw)


def test_window_in_milliseconds_is_refused_as_a_unit_slip() -> None:
    raw = make_document(window={"start_ns": 1_704_067_200_000, "end_ns": 1_704_153_600_000})
    with pytest.raises(ValidationError, match=r"window\.start_ns"):
        ParamSet.model_validate(raw)


def test_nan_or_numpy_int_in_models_is_refused() -> None:
    np = pytest.importorskip("numpy")
    for bad in (float("nan"), np.int64(3)):
        raw = make_document()
        raw["models"]["hawkes"]["beta"] = bad
        with pytest.raises(ValidationError, match=r"models\.hawkes\.beta"):
            ParamSet.model_validate(raw)


def test_unsupported_schema_version_is_named() -> None:
    with pytest.raises(ValidationError, match="schema_version 3 is not supported"):
        ParamSet.model_validate(make_document(schema_version=3))


def test_schema_1_document_loads_with_schema_2_fields_empty() -> None:
    doc = ParamSet.model_validate(make_document())  # make_document writes schema 1
    assert doc.schema_version == 1
    assert doc.quoting.hawkes_branching_matrix is None and doc.quoting.heston is None
    assert doc.fallbacks == []


SCHEMA_2_QUOTING: dict[str, Any] = {
    "sigma_bid_bps_per_sqrt_s": 1.0,
    "sigma_ask_bps_per_sqrt_s": 0.95,
    "sigma_diffusion_bps_per_sqrt_s": 0.85,
    "sigma_total_bps_per_sqrt_s": 0.97,
    "vpin_toxicity": 0.3,
    "student_t_df": 4.5,
    "as_addon_curve_depth_bps": [0.0, 1.0, 2.0],
    "as_addon_curve_bps": [0.5, 0.3, 0.2],
    "hawkes_mu_per_s": [0.4, 0.45],
    "hawkes_branching_matrix": [[0.3, 0.1], [0.1, 0.3]],
    "microprice_feature_names": ["imbalance"],
    "microprice_coef_bps": [0.3],
    "microprice_intercept_bps": 0.0,
    "volume_bucket_size": 12.5,
    "heston": {"kappa_per_year": 900.0, "theta_var_per_year": 0.25, "xi_per_year": 3.0,
               "rho": -0.3, "half_life_s": 24000.0, "rv_interval_s": 300.0, "n_obs": 2000},
}


def test_schema_2_document_round_trips() -> None:
    raw = make_document(schema_version=2)
    raw["quoting"].update(SCHEMA_2_QUOTING)
    raw["fallbacks"] = [{"field": "heston", "reason": "not identified", "source": "bound"}]
    doc = ParamSet.model_validate(raw)
    again = ParamSet.model_validate(doc.model_dump(mode="json"))
    assert again == doc and again.quoting.heston is not None
    assert again.quoting.heston.half_life_s == 24000.0


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"as_addon_curve_bps": [0.5, 0.3]}, "as many add-ons as depths"),
        ({"as_addon_curve_depth_bps": [0.0, 2.0, 1.0]}, "increasing"),
        ({"as_addon_curve_bps": [0.5, -0.1, 0.2]}, r"\[0, 500\]"),
        ({"hawkes_branching_matrix": [[0.3, 0.1]]}, "square"),
        ({"hawkes_mu_per_s": [0.4]}, "1 entries for a 2x2"),
        ({"microprice_coef_bps": [0.3, 0.1]}, "one coefficient per feature"),
    ],
)
def test_schema_2_shapes_are_checked(patch: dict[str, Any], message: str) -> None:
    raw = make_document(schema_version=2)
    raw["quoting"].update({**SCHEMA_2_QUOTING, **patch})
    with pytest.raises(ValidationError, match=message):
        ParamSet.model_validate(raw)


# -- immutability and atomicity ------------------------------------------------------------


def test_same_content_twice_gives_the_same_version(registry: ParamRegistry) -> None:
    first = registry.write(make_document())
    later = make_document(created_at=datetime(2024, 1, 3, tzinfo=UTC).isoformat())
    assert registry.write(later) == first
    assert registry.version_ids("BTC") == [first]
    other = registry.write(make_document(seed=1))
    assert other.startswith("000002-") and other != first


def test_version_file_is_read_only_and_never_overwritten(registry: ParamRegistry) -> None:
    version = registry.write(make_document())
    path = registry.path_of("BTC", version)
    before = path.read_bytes()
    assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    with pytest.raises(FileExistsImmutableError):
        create_once(path, b'{"different": "content"}')
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".tmp-")] == []


def test_pointer_move_failure_leaves_the_pointer_and_log_unchanged(
    registry: ParamRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    v1 = _publish(registry)
    pointer = registry.root / "BTC" / "LATEST"
    pointer_before = pointer.read_bytes()
    log_before = (registry.root / "BTC" / "decisions.jsonl").read_bytes()

    def boom(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(param_files.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        registry.submit(make_document(seed=1))
    monkeypatch.undo()

    assert pointer.read_bytes() == pointer_before
    assert registry.load("BTC").version == v1
    assert (registry.root / "BTC" / "decisions.jsonl").read_bytes() == log_before
    assert not [p for p in pointer.parent.iterdir() if p.name.startswith(".tmp-")]


_CRASH_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {repo!r})
    import orjson
    from data_lake.registry import files as param_files
    from data_lake.registry import ParamRegistry
    from data_lake.paths import LakePaths

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    setattr(param_files.os, {target!r}, die)
    doc = orjson.loads(sys.stdin.buffer.read())
    ParamRegistry(LakePaths.at({home!r}), refresh_catalog=False).submit(doc)
    """
)


@pytest.mark.parametrize("target", ["link", "replace"])
def test_process_killed_mid_publish_leaves_old_state_visible(
    registry: ParamRegistry, target: str
) -> None:
    """SIGKILL after the temp file is written, before the link (version) or rename (pointer)."""
    v1 = _publish(registry)
    pointer_before = (registry.root / "BTC" / "LATEST").read_bytes()
    script = _CRASH_SCRIPT.format(repo=str(REPO), target=target, home=str(registry.paths.home))
    proc = subprocess.run(
        [sys.executable, "-c", script],
        input=orjson.dumps(make_document(seed=1)),
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr.decode()
    directory = registry.root / "BTC"
    assert [p.name for p in directory.iterdir() if p.name.startswith(".tmp-")], "no temp left"

    assert (directory / "LATEST").read_bytes() == pointer_before
    assert registry.load("BTC").version == v1
    expected = [v1] if target == "link" else [v1, registry.version_ids("BTC")[1]]
    assert registry.version_ids("BTC") == expected  # a killed link leaves no version at all
    assert [d.version for d in registry.decisions("BTC")] == [v1]

    # The next writer sweeps the dead writer's temp file and carries on.
    decision = registry.submit(make_document(seed=1))
    assert decision.accepted
    assert not [p for p in directory.iterdir() if p.name.startswith(".tmp-")]


def test_concurrent_writers_get_distinct_sequence_numbers(registry: ParamRegistry) -> None:
    with ThreadPoolExecutor(4) as pool:
        versions = list(pool.map(lambda s: registry.write(make_document(seed=s)), range(16)))
    assert len(set(versions)) == 16
    assert sorted(int(v.split("-")[0]) for v in versions) == list(range(1, 17))


def test_torn_last_log_line_is_skipped_and_the_next_record_survives(
    registry: ParamRegistry,
) -> None:
    _publish(registry)
    log_path = registry.root / "BTC" / "decisions.jsonl"
    with open(log_path, "ab") as fh:
        fh.write(b'{"symbol": "BTC", "vers')  # a crash mid-append
    _publish(registry, seed=1, score=-0.9)
    assert [d.code for d in registry.decisions("BTC")] == ["published", "published"]


# -- the gate --------------------------------------------------------------------------------


def test_first_valid_set_is_published_and_becomes_latest(registry: ParamRegistry) -> None:
    decision = registry.submit(make_document())
    assert decision.accepted and decision.code == "published" and decision.previous is None
    latest = registry.load("BTC", "latest")
    assert latest.version == decision.version
    assert latest.status is ParamStatus.PUBLISHED
    assert registry.latest_version("BTC") == decision.version


@pytest.mark.parametrize(
    ("mutate", "code", "fragment"),
    [
        (lambda d: d["quoting"].update(kappa_bid_per_bps=-1.0), "bounds", "kappa_bid_per_bps"),
        (lambda d: d["quoting"].pop("A_ask_per_s"), "schema", "A_ask_per_s: Field required"),
    ],
)
def test_gate_refuses_invalid_documents_and_keeps_them(
    registry: ParamRegistry, mutate: Any, code: str, fragment: str
) -> None:
    v1 = _publish(registry)
    raw = make_document(seed=1)
    mutate(raw)
    decision = registry.submit(raw)
    assert not decision.accepted
    assert (decision.code, decision.version) == (code, None)
    assert fragment in decision.reason
    assert decision.document is not None
    kept = orjson.loads((registry.root / "BTC" / decision.document).read_bytes())
    assert kept["models"] == raw["models"]
    logged = registry.decisions("BTC")[-1]
    assert (logged.status, logged.code) == (ParamStatus.REJECTED, code)
    assert logged.reason == decision.reason
    assert registry.version_ids("BTC") == [v1]
    assert registry.latest_version("BTC") == v1


def test_gate_refuses_sets_fitted_on_data_that_failed_checks(registry: ParamRegistry) -> None:
    v1 = _publish(registry)
    decision = registry.submit(make_document(seed=1, failed_check=True))
    assert (decision.status, decision.code) == (ParamStatus.REJECTED, "failed_checks")
    assert "no_crossed_books on hyperliquid/BTC/2024-01-01" in decision.reason
    assert decision.version is not None
    rejected = registry.load("BTC", decision.version)
    assert rejected.status is ParamStatus.REJECTED and rejected.reason == decision.reason
    assert registry.latest_version("BTC") == v1
    assert registry.decisions("BTC")[-1].code == "failed_checks"


def test_gate_refuses_partitions_without_quality_results(registry: ParamRegistry) -> None:
    decision = registry.submit(make_document(quality=[]))
    assert decision.code == "unchecked_partitions"
    assert registry.latest_version("BTC") is None


def test_gate_refuses_worse_out_of_sample_beyond_the_margin(registry: ParamRegistry) -> None:
    v1 = _publish(registry, score=-1.0)
    worse = registry.submit(make_document(seed=1, score=-1.2))  # 20 % worse
    assert (worse.status, worse.code) == (ParamStatus.REJECTED, "worse_oos")
    assert "oos_loglik_per_event = -1.2" in worse.reason and v1 in worse.reason
    assert registry.latest_version("BTC") == v1
    within = registry.submit(make_document(seed=2, score=-1.03))  # 3 % worse: noise
    assert within.accepted and within.previous == v1


def test_gate_prefers_the_baseline_scored_on_the_same_held_out_data(
    registry: ParamRegistry,
) -> None:
    v1 = _publish(registry, score=-1.0)
    # On the new held-out day v1 only scores -2.0, so -1.5 is an improvement there.
    better = registry.submit(
        make_document(seed=1, score=-1.5, baseline_version=v1, baseline_score=-2.0)
    )
    assert better.accepted, better.reason
    v2 = better.version
    assert v2 is not None
    stale = registry.submit(
        make_document(seed=2, score=-1.5, baseline_version=v2, baseline_score=-1.0)
    )
    assert stale.code == "worse_oos" and "same held-out data" in stale.reason


def test_gate_margin_is_configurable(tmp_path: Path) -> None:
    strict = ParamRegistry(LakePaths.at(tmp_path), gate=GateConfig(oos_margin_rel=0.0),
                           refresh_catalog=False)
    _publish(strict, score=-1.0)
    assert strict.submit(make_document(seed=1, score=-1.01)).code == "worse_oos"


def test_gate_requires_validation_once_something_is_published(registry: ParamRegistry) -> None:
    _publish(registry)
    decision = registry.submit(make_document(seed=1, score=None))
    assert decision.code == "no_validation"


def test_publishing_the_latest_again_is_a_no_op(registry: ParamRegistry) -> None:
    # Resubmitting a candidate is logged as ``unchanged`` (test_params_idempotent.py).
    v1 = _publish(registry)
    again = registry.publish("BTC", v1)
    assert (again.code, again.version) == ("already_latest", v1)
    assert len(registry.decisions("BTC")) == 1


# -- rollback -----------------------------------------------------------------------------------


def test_rollback_republishes_an_older_version_and_logs_it(registry: ParamRegistry) -> None:
    v1 = _publish(registry, score=-1.0)
    v2 = _publish(registry, seed=1, score=-0.9)
    decision = registry.rollback("BTC", v1, reason="v2 widened spreads in prod")
    assert decision.accepted and decision.code == "rollback" and decision.previous == v2
    assert registry.load("BTC").version == v1
    logged = registry.decisions("BTC")[-1]
    assert logged.event == "rollback" and "v2 widened spreads in prod" in logged.reason
    # And forward again.
    registry.rollback("BTC", v2)
    assert registry.latest_version("BTC") == v2


def test_rollback_refuses_unpublished_current_and_unknown_versions(
    registry: ParamRegistry,
) -> None:
    v1 = _publish(registry, score=-1.0)
    bad = registry.submit(make_document(seed=1, failed_check=True)).version
    assert bad is not None
    with pytest.raises(RollbackError, match="never published"):
        registry.rollback("BTC", bad)
    with pytest.raises(RollbackError, match="already the published version"):
        registry.rollback("BTC", v1)
    with pytest.raises(UnknownVersionError, match=f"versions: {v1}, {bad}"):
        registry.rollback("BTC", "000099-deadbeef")
    with pytest.raises(UnknownSymbolError, match="known symbols: BTC"):
        registry.rollback("DOGE", v1)
    assert registry.latest_version("BTC") == v1


# -- the loader on corrupt files ---------------------------------------------------------------


def _bump_kappa(text: bytes, value: float) -> bytes:
    doc = orjson.loads(text)
    doc["quoting"]["kappa_bid_per_bps"] = value
    return orjson.dumps(doc)


@pytest.mark.parametrize(
    ("corrupt", "fragment"),
    [
        (lambda b: b[: len(b) // 2], "not valid JSON"),
        (lambda b: _bump_kappa(b, -3.0), "fails the bounds checks: quoting.kappa_bid_per_bps"),
        (lambda b: _bump_kappa(b, 0.9), "does not match the hash in its name"),
    ],
)
def test_loader_refuses_a_corrupt_file_and_names_it(
    registry: ParamRegistry, corrupt: Any, fragment: str
) -> None:
    version = _publish(registry)
    path = registry.path_of("BTC", version)
    _overwrite(path, corrupt(path.read_bytes()))
    with pytest.raises(CorruptParamSetError, match=fragment) as err:
        registry.load("BTC", "latest")
    assert str(path) in str(err.value)
    [row] = registry.versions("BTC")
    assert row.error is not None and fragment in row.error


def test_gate_replaces_a_corrupt_latest_without_comparing_to_it(registry: ParamRegistry) -> None:
    v1 = _publish(registry, score=-1.0)
    path = registry.path_of("BTC", v1)
    _overwrite(path, b"{")
    decision = registry.submit(make_document(seed=1, score=-5.0))
    assert decision.accepted and "unreadable" in decision.reason


def test_unknown_symbol_and_version_errors_say_what_exists(registry: ParamRegistry) -> None:
    v1 = _publish(registry)
    with pytest.raises(UnknownSymbolError, match="symbol 'ETH'; known symbols: BTC"):
        registry.load("ETH")
    with pytest.raises(UnknownVersionError, match=f"versions: {v1}"):
        registry.load("BTC", "000002-00000000")
    registry.write(make_document("ETH"))
    with pytest.raises(UnknownVersionError, match="nothing published for ETH"):
        registry.load("ETH", "latest")


def test_versions_lists_status_latest_and_scores(registry: ParamRegistry) -> None:
    v1 = _publish(registry, score=-1.0)
    rejected = registry.submit(make_document(seed=1, score=-3.0)).version
    candidate = registry.write(make_document(seed=2))
    rows = {r.version: r for r in registry.versions("BTC")}
    assert rows[v1].status is ParamStatus.PUBLISHED and rows[v1].is_latest
    assert rows[v1].primary_score == ("oos_loglik_per_event", -1.0)
    assert rejected is not None and rows[rejected].status is ParamStatus.REJECTED
    assert rows[candidate].status is ParamStatus.CANDIDATE and not rows[candidate].is_latest
    assert registry.symbols() == ["BTC"]


# -- DuckDB -------------------------------------------------------------------------------------


def test_param_sets_are_queryable_in_duckdb(tmp_path: Path) -> None:
    paths = LakePaths.at(tmp_path)
    lake = Lake(paths)
    lake.refresh()
    assert lake.sql("select count(*) as n from param_sets")["n"].iloc[0] == 0

    registry = ParamRegistry(paths)  # refreshes the catalog after each change
    v1 = _publish(registry, score=-1.0)
    _publish(registry, symbol="ETH", kappa_bid=0.5)
    registry.submit(make_document(seed=1, score=-3.0))

    sets = lake.sql(
        "select symbol, version, quoting.kappa_bid_per_bps as kappa_bid, "
        "models.hawkes.beta as beta from param_sets order by symbol, version"
    )
    assert list(sets["symbol"]) == ["BTC", "BTC", "ETH"]
    assert list(sets["kappa_bid"]) == [0.35, 0.35, 0.5]
    assert v1 in set(sets["version"])
    decisions = lake.sql("select symbol, status, code from param_decisions order by decided_at")
    assert list(decisions["code"]) == ["published", "published", "worse_oos"]
    latest = lake.sql("select symbol, version from param_latest order by symbol")
    assert latest.loc[latest["symbol"] == "BTC", "version"].item() == v1


def test_created_at_defaults_to_now_utc() -> None:
    raw = make_document()
    raw.pop("created_at")
    doc = ParamSet.model_validate(raw)
    assert abs(doc.created_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_documents_with_unusable_symbols_are_kept_apart(registry: ParamRegistry) -> None:
    decision = registry.submit(make_document(symbol="../etc"))
    assert (decision.symbol, decision.code) == ("_invalid", "schema")
    assert (registry.root / "_invalid" / str(decision.document)).exists()
    assert registry.symbols() == []
    with pytest.raises(UnknownSymbolError, match="not a valid symbol name"):
        registry.load("../etc")


def test_current_code_version_names_the_package() -> None:
    assert current_code_version().startswith("0.1.0")
