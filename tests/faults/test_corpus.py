"""Replays the inputs the fuzzers once broke (tests/faults/corpus/), one test each.

``<source>/<name>.txt``: one recording; ``lobster/<name>/``: a message/orderbook pair;
``params/<name>.json``: a candidate param document handed to ``submit``. Each import
must finish with in = accepted + quarantined; each candidate must get a decision.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from data_lake.paths import LakePaths
from data_lake.registry import ParamRegistry
from tests.faults.fuzzing import CORPUS, check_accounted, fresh_lake, import_files

RECORDINGS = sorted(p for p in CORPUS.glob("*/*") if p.parent.name != "params")
DOCUMENTS = sorted(CORPUS.glob("params/*.json"))


@pytest.mark.parametrize("case", RECORDINGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_recording_imports_with_every_record_accounted(case: Path) -> None:
    paths = sorted(case.iterdir()) if case.is_dir() else [case]
    with fresh_lake() as lake:
        report = import_files(case.parent.name, lake, paths)
        check_accounted(lake, report, compressed=False)
        assert not isinstance(report, Exception)
        assert report.records_in > 0


@pytest.mark.parametrize("case", DOCUMENTS, ids=lambda p: p.name)
def test_corpus_candidate_gets_a_decision(case: Path) -> None:
    with tempfile.TemporaryDirectory() as home:
        registry = ParamRegistry(LakePaths.at(home), refresh_catalog=False)
        decision = registry.submit(json.loads(case.read_text()))
        assert decision.code and decision.reason
        assert not decision.accepted  # every corpus document holds what JSON cannot carry


def test_the_corpus_is_there() -> None:
    assert {p.parent.name for p in RECORDINGS} == {"binance", "hyperliquid", "lobster"}
    assert DOCUMENTS
