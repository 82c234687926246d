"""Concurrency: importers on one partition, an import during the checks, racing publishes.

Processes are forked from the test (real processes, real flocks) and released together
by a barrier, several rounds each. No row may be lost, no pointer torn, and every
registry change must be in the decisions log.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
from pathlib import Path
from typing import Any

import orjson
import pytest

from data_lake.lake import Lake
from data_lake.paths import LakePaths
from data_lake.quality import CheckOutcome
from data_lake.quality_store import QualityGateError, fingerprints, save_quality
from data_lake.registry import ParamRegistry
from data_lake.sources import get_importer
from tests.data_lake.test_params import make_document
from tests.faults.storage import trade_lines

_FORK = mp.get_context("fork")
ROUNDS = 3


def _together(targets: list[tuple[Any, tuple[Any, ...]]]) -> list[int | None]:
    """Run each target in its own process, released at once; their exit codes."""
    barrier = _FORK.Barrier(len(targets))

    def run(fn: Any, args: tuple[Any, ...]) -> None:
        barrier.wait(30)
        fn(*args)

    procs = [_FORK.Process(target=run, args=(fn, args)) for fn, args in targets]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    return [p.exitcode for p in procs]


def _import(home: Path, path: Path) -> None:
    get_importer("binance")(Lake.at(home), [path])


def test_importers_racing_on_one_partition_lose_no_row(tmp_path: Path) -> None:
    for r in range(ROUNDS):
        home = tmp_path / f"round{r}"
        files = []
        for k in range(3):  # disjoint trade ids, same symbol-day partitions
            path = tmp_path / f"in{r}-{k}.txt"
            path.write_bytes(trade_lines(1500, first_id=k * 1500))
            files.append(path)
        _import(home, files[0])  # a partition already there: every writer merges
        codes = _together([(_import, (home, f)) for f in files[1:]] + [(_import, (home, files[0]))])
        assert codes == [0, 0, 0]
        ids = Lake.at(home).read("trades", columns=["trade_id"])["trade_id"].to_pylist()
        assert sorted(map(int, ids)) == list(range(4500))


def _check_and_save(home: Path) -> None:
    """The nightly checks' write path: fingerprints first, outcomes saved after a delay."""
    paths = LakePaths.at(home)
    day = dt.date(2024, 8, 8)
    files = fingerprints(paths, "binance", "BTCUSDT", day, ("trades",))
    import time

    time.sleep(1.0)  # the checks run; an import lands meanwhile
    outcome = CheckOutcome("rows", True, True, "rows present", table="trades")
    try:
        save_quality(paths, "binance", "BTCUSDT", day, [outcome], files=files)
    except QualityGateError:
        raise SystemExit(3) from None  # refused: the partition changed under the checks


def test_an_import_during_the_checks_voids_their_record_instead_of_passing_new_rows(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_bytes(trade_lines(500))
    second.write_bytes(trade_lines(500, first_id=500))
    _import(home, first)
    codes = _together([(_check_and_save, (home,)), (_import, (home, second))])
    assert codes == [3, 0]  # the checks' record is refused; the import landed whole
    assert Lake.at(home).read("trades").num_rows == 1000


def _registry(home: Path) -> ParamRegistry:
    return ParamRegistry(LakePaths.at(home))


def _submit(home: Path, seed: int, score: float) -> None:
    _registry(home).submit(make_document(seed=seed, score=score))


def _rollback(home: Path) -> None:
    registry = _registry(home)
    registry.rollback("BTC", registry.version_ids("BTC")[0], reason="race test")


@pytest.mark.parametrize("race", ["two_publishes", "publish_and_rollback"])
def test_racing_registry_writers_leave_a_whole_pointer_and_a_log_of_both(
    tmp_path: Path, race: str
) -> None:
    for r in range(ROUNDS):
        home = tmp_path / f"round{r}"
        _submit(home, 0, -1.0)
        _submit(home, 1, -0.9)  # v2 published; a rollback target v1 exists
        before = len(_registry(home).decisions("BTC"))
        if race == "two_publishes":
            targets = [(_submit, (home, 10 + r, -0.8)), (_submit, (home, 20 + r, -0.85))]
        else:
            targets = [(_submit, (home, 10 + r, -0.8)), (_rollback, (home,))]
        assert _together(targets) == [0, 0]
        registry = _registry(home)
        pointer = orjson.loads((home / "params" / "BTC" / "LATEST").read_bytes())
        latest = registry.load("BTC")  # re-validated, hash-checked: not torn
        assert pointer["version"] == latest.version
        decisions = registry.decisions("BTC")
        raw_lines = (home / "params" / "BTC" / "decisions.jsonl").read_bytes().splitlines()
        assert len(raw_lines) == len(decisions) == before + 2  # both logged, none torn
        assert decisions[-1].version == latest.version or race == "two_publishes"
        seqs = [v.split("-")[0] for v in registry.version_ids("BTC")]
        assert len(seqs) == len(set(seqs))  # no sequence number handed out twice
        assert Lake.at(home).sql("select version from param_latest")["version"].tolist() == [
            latest.version
        ]
