"""Fuzzing the param document loader: valid documents round-trip, corrupt files are refused.

A corrupt version file, ``LATEST`` pointer or decisions log on disk must give
:class:`CorruptParamSetError` naming the file (or, for the log, a skipped line), never
another exception and never a document that differs from what was written. A random
candidate handed to ``submit`` gets a decision (published or refused), never a crash.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import ValidationError

from data_lake.paths import LakePaths
from data_lake.registry import CorruptParamSetError, ParamRegistry
from data_lake.registry.document import ParamSet
from tests.data_lake.test_params import make_document
from tests.faults.corrupt import corrupted
from tests.faults.fuzzing import FUZZ

QUOTING_KEYS = (
    "sigma_bps_per_sqrt_s",
    "kappa_bid_per_bps",
    "kappa_ask_per_bps",
    "A_bid_per_s",
    "A_ask_per_s",
    "as_addon_bps",
    "hawkes_decay_per_s",
)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """make_document with its quoting numbers scaled and its model counts varied."""
    doc = make_document(
        seed=draw(st.integers(0, 10**6)), score=draw(st.one_of(st.none(), st.floats(-5, 5)))
    )
    for key in QUOTING_KEYS:
        doc["quoting"][key] *= draw(st.floats(0.25, 4.0))
    doc["quoting"]["hawkes_branching_ratio"] = draw(st.floats(0.0, 0.95))
    doc["quoting"]["funding_rate_per_hour"] = draw(st.floats(-1e-3, 1e-3))
    return doc


def _valid(doc: dict[str, Any]) -> bool:
    try:
        ParamSet.model_validate(doc)
    except ValidationError:
        return False
    return True


def _registry(home: str) -> ParamRegistry:
    return ParamRegistry(LakePaths.at(home), refresh_catalog=False)


@FUZZ
@given(documents())
def test_valid_documents_round_trip_exactly(doc: dict[str, Any]) -> None:
    assume(_valid(doc))
    with tempfile.TemporaryDirectory() as home:
        registry = _registry(home)
        version = registry.write(doc)
        loaded = registry.load("BTC", version)
        mutable = {"version", "status", "reason"}
        assert loaded.model_dump(mode="json", exclude=mutable) == (
            ParamSet.model_validate(doc).model_dump(mode="json", exclude=mutable)
        )
        assert registry.write(doc) == version  # same content, same version


def _loads_or_refuses(registry: ParamRegistry, version: str, original: ParamSet) -> str:
    """Load a possibly corrupt version: the original document or CorruptParamSetError."""
    try:
        loaded = registry.load("BTC", version)
    except CorruptParamSetError as exc:
        assert str(exc.path) in str(exc) or exc.path.name in str(exc)
        return "refused"
    mutable = {"status", "reason"}
    # Accepted only when the content hash in its name still matches: whitespace or
    # key order may change, the document may not.
    assert loaded.model_dump(mode="json", exclude=mutable) == (
        original.model_dump(mode="json", exclude=mutable)
    )
    return "loaded"


@FUZZ
@given(st.data())
def test_corrupt_version_files_are_refused_naming_the_file(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as home:
        registry = _registry(home)
        version = registry.write(make_document())
        original = registry.load("BTC", version)
        path = registry.path_of("BTC", version)
        blob = data.draw(corrupted(path.read_bytes().splitlines()))
        os.chmod(path, 0o644)
        path.write_bytes(blob)
        _loads_or_refuses(registry, version, original)
        rows = registry.versions("BTC")  # lists the corrupt one with its error
        assert [r.version for r in rows] == [version]


@FUZZ
@given(st.data())
def test_corrupt_pointer_and_log_give_a_named_error_or_skip_the_line(
    data: st.DataObject,
) -> None:
    with tempfile.TemporaryDirectory() as home:
        registry = _registry(home)
        first = registry.submit(make_document(score=-1.0))
        registry.submit(make_document(seed=1, score=-0.9))
        directory = Path(home) / "params" / "BTC"
        target = directory / data.draw(st.sampled_from(["LATEST", "decisions.jsonl"]))
        target.write_bytes(data.draw(corrupted(target.read_bytes().splitlines())))
        try:
            latest = registry.latest_version("BTC")
        except CorruptParamSetError as exc:
            assert "LATEST" in str(exc)
        else:
            assert latest in registry.version_ids("BTC")
        decisions = registry.decisions("BTC")  # torn or junk lines are skipped
        assert all(d.symbol == "BTC" or d.symbol is None for d in decisions)
        # The registry still takes a new candidate and records it.
        assert registry.submit(make_document(seed=2, score=-0.8)).code
        assert first.version is not None


NASTY_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**30), 10**30),
    st.text(max_size=8),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@FUZZ
@given(st.data())
def test_random_candidates_get_a_decision_never_a_crash(data: st.DataObject) -> None:
    """Wrong types, NaN, huge numbers, missing keys anywhere in a candidate document."""
    doc = make_document(seed=3)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(doc)))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and data.draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(NASTY_VALUES)
        if not _paths(doc):
            break
    with tempfile.TemporaryDirectory() as home:
        decision = _registry(home).submit(doc)
        assert decision.code and decision.reason
