"""Faults and bad input, measured: one row per fault with the times it was injected, the
times the lake, the registry or the trader survived it, the rows (or orders, or fills)
lost, and the command that reproduces it.

"Survived" means: after the fault every reader (catalog views, ``lake sql``, the Parquet
reader, the registry) saw the old state or the new one, never a mix or an error, and a
rerun completed to the expected state. The fast seeded subset of each row runs in
``make test`` (tests/faults/); this is the long run:

- crash points: SIGKILL at every named crash point of each operation
  (:mod:`data_lake.faults`), plus kills at random times;
- the issue's case: ``lake import binance`` of the real BTCUSDT sample into an empty
  home, SIGKILLed at random times, then ``lake sql``;
- storage: ENOSPC injected at every partition write of a multi-table import, a real full
  tmpfs, a read-only lake, random byte flips in partition files, locks of killed writers;
- concurrency: importers racing on one partition, racing publishes and rollbacks;
- ``lake sql`` write attempts; fuzzing of every importer and the param document loader;
- the trader (``--trader-rounds N``): every venue fault of tests/faults/trader_storm.py
  N times in one Hyperliquid session on the local server (survived: our orders, position
  and fills settle to the venue's, no kill; lost: orders or fills that differ, or two of
  our orders resting on one side), the paper feed with repeated, late and swapped
  events, the param files damaged under a running trader, SIGKILL of paper `trader run`
  (in its state save or at random) and of `trader run --venue hyperliquid` with a fill at
  the venue while it is down (the restart must show the venue's position and orders);
  the trader faults tested elsewhere are run once and counted by reference.

Usage: ``python bench/bench_faults.py [--random-kills N] [--fuzz-examples N]
[--flips N] [--rounds N] [--trader-rounds N] [--only NAME]``.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".venv" / "numba_cache"))
REAL_BTC = (
    REPO.parent / "shared" / "data" / "real" / "binance_usdm_20240808" / "btcusdt_20240808.gz"
)


@dataclass
class Row:
    fault: str
    injected: int
    survived: int
    lost: int
    command: str


ROWS: list[Row] = []


def _cmd(name: str) -> str:
    return f"python bench/bench_faults.py --only {name}"


def crash_points(args: argparse.Namespace) -> None:
    from tests.faults.crashkit import run_kills
    from tests.faults.scenarios import SCENARIOS

    for name, scenario in SCENARIOS.items():
        with tempfile.TemporaryDirectory() as work:
            summary = run_kills(scenario, Path(work), random_kills=args.random_kills, seed=7)
        for bad in summary.failures():
            print(f"  FAILED {name} at {bad.point}: {bad.seen}, rerun ok {bad.rerun_ok}")
        ROWS.append(
            Row(
                f"SIGKILL during {name.replace('_', ' ')}",
                summary.injected,
                summary.survived,
                summary.rows_lost,
                _cmd("crash"),
            )
        )


def issue_case(args: argparse.Namespace) -> None:
    """``lake import binance`` of the real sample killed at random times, then ``lake sql``."""
    from data_lake.lake import Lake

    if not REAL_BTC.is_file():
        print(f"  skipped: {REAL_BTC} missing")
        return
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    tables = ("trades", "book", "bbo", "quarantine")

    def cli(home: Path, *a: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "data_lake.cli", "--home", str(home), *a],
            env=env,
            cwd=REPO,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def counts(home: Path) -> tuple[int, ...]:
        lake = Lake.at(home)
        return tuple(int(lake.sql(f"select count(*) n from {t}")["n"].iloc[0]) for t in tables)

    with tempfile.TemporaryDirectory() as work:
        ref = Path(work) / "ref"
        t0 = time.perf_counter()
        assert cli(ref, "import", "binance", str(REAL_BTC)).wait() == 0
        seconds = time.perf_counter() - t0
        new = counts(ref)
        rng = random.Random(11)
        injected = survived = lost = 0
        for k in range(args.random_kills * 2):
            home = Path(work) / f"k{k}"
            proc = cli(home, "import", "binance", str(REAL_BTC))
            time.sleep(rng.uniform(0.1 * seconds, 0.8 * seconds))
            if proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            injected += 1
            sql = cli(home, "sql", "select count(*) as n from trades", "--format", "csv")
            sql.communicate()
            seen = counts(home)
            ok = sql.returncode == 0 and seen in (new, (0, 0, 0, 0))
            assert cli(home, "import", "binance", str(REAL_BTC)).wait() == 0
            after = counts(home)
            lost += max(0, sum(new) - sum(after))
            survived += ok and after == new
        print(f"  real BTCUSDT import {seconds:.1f} s unharmed; {injected} kills")
        ROWS.append(
            Row(
                "SIGKILL of `lake import binance` (real BTCUSDT), then `lake sql`",
                injected,
                survived,
                lost,
                _cmd("issue"),
            )
        )


def storage(args: argparse.Namespace) -> None:
    import pytest  # noqa: F401  (the tests' helpers import it)

    import data_lake.writer as writer
    from data_lake.integrity import verify_partition
    from data_lake.lake import Lake
    from data_lake.sources import get_importer
    from tests.data_lake.helpers import FIXTURES, lake_digest
    from tests.faults.storage import can_mount, trade_lines

    with tempfile.TemporaryDirectory() as work:
        big = Path(work) / "big.txt"
        big.write_bytes(trade_lines(3000, first_id=100))
        inputs = [big, FIXTURES / "binance_malformed.txt"]
        real = writer._write_final
        injected = survived = lost = 0
        for nth in range(1, 8):  # every partition file of the commit, in turn
            lake = Lake.at(Path(work) / f"enospc{nth}")
            get_importer("binance")(lake, [FIXTURES / "binance_small.txt"])
            before = lake_digest(lake)
            calls = [0]

            def full(spec, batches, path, nth=nth, calls=calls):  # type: ignore[no-untyped-def]
                calls[0] += 1
                if calls[0] == nth:
                    raise OSError(errno.ENOSPC, "No space left on device", str(path))
                return real(spec, batches, path)

            writer._write_final = full
            try:
                get_importer("binance")(lake, inputs)
                hit = False
            except OSError:
                hit = True
            finally:
                writer._write_final = real
            if not hit:
                continue
            injected += 1
            unchanged = lake_digest(lake) == before
            get_importer("binance")(lake, inputs)
            rows = lake.read("trades").num_rows
            lost += max(0, 2 + 3000 + 2 - rows)
            survived += unchanged and rows == 3004
        ROWS.append(
            Row(
                "ENOSPC injected at the n-th partition write of an import",
                injected,
                survived,
                lost,
                _cmd("storage"),
            )
        )

        if can_mount():
            from tests.faults import test_storage as ts

            full_fs = ts.test_full_filesystem_clear_error_then_rerun_completes
            ro = ts.test_a_read_only_lake_refuses_imports_plainly_and_still_answers_queries
            for label, test in (
                ("full 1 MB tmpfs during `lake import`", full_fs),
                ("read-only lake (tmpfs remounted ro)", ro),
            ):
                d = Path(tempfile.mkdtemp(dir=work))
                try:
                    test(d)
                    ok = 1
                except AssertionError as exc:
                    print(f"  FAILED {label}: {exc}")
                    ok = 0
                ROWS.append(Row(label, 1, ok, 0, _cmd("storage")))
        # Random byte flips in a partition file: detected, or harmless to the rows.
        import pyarrow.parquet as pq

        lake = Lake.at(Path(work) / "flips")
        get_importer("binance")(lake, [big])
        target = next(lake.root.glob("trades/**/data.parquet"))
        data = target.read_bytes()
        clean = pq.read_table(target)
        rng = random.Random(5)
        detected = harmless = silent = 0
        for _ in range(args.flips):
            damaged = bytearray(data)
            damaged[rng.randrange(len(data))] ^= rng.randrange(1, 256)
            target.write_bytes(bytes(damaged))
            if verify_partition(target) is not None:
                detected += 1
            elif pq.read_table(target).equals(clean):
                harmless += 1  # e.g. the writer's name in the footer: no row changed
            else:
                silent += 1  # rows read back different and nothing noticed
        target.write_bytes(data)
        print(f"  byte flips: {detected} detected, {harmless} harmless, {silent} silent")
        ROWS.append(
            Row(
                "random byte flip in a partition file (detected, or no row changed)",
                args.flips,
                detected + harmless,
                silent,
                _cmd("storage"),
            )
        )


def locks_and_races(args: argparse.Namespace) -> None:
    from tests.faults import test_concurrency as tc
    from tests.faults import test_storage as ts

    tc.ROUNDS = args.rounds
    cases: list[tuple[str, Callable[[Path], None], int]] = [
        (
            "two importers racing on one partition",
            tc.test_importers_racing_on_one_partition_lose_no_row,
            args.rounds,
        ),
        (
            "import during the quality checks",
            tc.test_an_import_during_the_checks_voids_their_record_instead_of_passing_new_rows,
            1,
        ),
        (
            "two publishes racing",
            lambda d: tc.test_racing_registry_writers_leave_a_whole_pointer_and_a_log_of_both(
                d, "two_publishes"
            ),
            args.rounds,
        ),
        (
            "a publish racing a rollback",
            lambda d: tc.test_racing_registry_writers_leave_a_whole_pointer_and_a_log_of_both(
                d, "publish_and_rollback"
            ),
            args.rounds,
        ),
        (
            "registry lock of a killed publisher",
            ts.test_a_registry_lock_left_by_a_killed_publisher_does_not_block_the_next,
            1,
        ),
    ]
    for label, test, times in cases:
        with tempfile.TemporaryDirectory() as d:
            try:
                test(Path(d))
                ok = times
            except AssertionError as exc:
                print(f"  FAILED {label}: {exc}")
                ok = 0
        ROWS.append(Row(label, times, ok, 0, _cmd("races")))


def lake_sql(args: argparse.Namespace) -> None:
    from data_lake.lake import Lake, ReadOnlyQueryError
    from data_lake.sources import get_importer
    from tests.data_lake.helpers import FIXTURES
    from tests.faults.test_lake_sql_read_only import _statements, _tree

    with tempfile.TemporaryDirectory() as d:
        home = Path(d) / "home"
        lake = Lake.at(home)
        get_importer("binance")(lake, [FIXTURES / "binance_small.txt"])
        target = next(lake.root.glob("trades/**/data.parquet"))
        before = _tree(home)
        statements = _statements(home, str(target))
        refused = 0
        for st in statements:
            try:
                lake.sql(st)
            except ReadOnlyQueryError:
                refused += 1
        survived = refused if _tree(home) == before else 0
        ROWS.append(
            Row(
                "`lake sql` DDL/DML/COPY/ATTACH/EXPORT/SET attempts",
                len(statements),
                survived,
                0,
                _cmd("sql"),
            )
        )


def fuzz(args: argparse.Namespace) -> None:
    os.environ["MMCAL_FUZZ_EXAMPLES"] = str(args.fuzz_examples)
    from tests.faults import fuzzing
    from tests.faults import test_fuzz_importers as fi
    from tests.faults import test_fuzz_params as fp

    cases = [
        (
            "fuzz: valid binance recordings round-trip",
            fi.test_binance_valid_recordings_round_trip_exactly,
            True,
        ),
        (
            "fuzz: valid hyperliquid recordings round-trip",
            fi.test_hyperliquid_valid_recordings_round_trip_exactly,
            True,
        ),
        (
            "fuzz: valid lobster recordings round-trip",
            fi.test_lobster_valid_recordings_round_trip_exactly,
            True,
        ),
        (
            "fuzz: corrupt binance/hyperliquid recordings",
            fi.test_corrupt_line_recordings_never_crash_and_every_line_is_accounted,
            True,
        ),
        (
            "fuzz: corrupt lobster pairs (and cut gz)",
            fi.test_corrupt_lobster_pairs_never_crash_and_every_pair_is_accounted,
            True,
        ),
        (
            "fuzz: valid param documents round-trip",
            fp.test_valid_documents_round_trip_exactly,
            False,
        ),
        (
            "fuzz: corrupt param version files",
            fp.test_corrupt_version_files_are_refused_naming_the_file,
            False,
        ),
        (
            "fuzz: corrupt LATEST / decisions log",
            fp.test_corrupt_pointer_and_log_give_a_named_error_or_skip_the_line,
            False,
        ),
        (
            "fuzz: random candidates to submit",
            fp.test_random_candidates_get_a_decision_never_a_crash,
            False,
        ),
    ]
    for label, test, counted in cases:
        before = sum(fuzzing.IMPORTS.values())
        try:
            test()
            ok = True
        except Exception as exc:  # a falsifying example, printed by hypothesis
            print(f"  FAILED {label}: {str(exc)[:300]}")
            ok = False
        ran = sum(fuzzing.IMPORTS.values()) - before if counted else args.fuzz_examples
        module = test.__module__.split(".")[-1]
        ROWS.append(
            Row(
                label,
                ran,
                ran if ok else 0,
                0,
                f"MMCAL_FUZZ_EXAMPLES={args.fuzz_examples} pytest tests/faults/{module}.py",
            )
        )


# Trader faults covered by tests elsewhere: counted here by running them (pytest node
# id, what it injects).
TRADER_REFERENCES = (
    ("tests/trader/live/test_kill_switch.py::test_sequence_gap_trips",
     "paper feed: events dropped (sequence gap) trips the kill switch"),
    ("tests/trader/live/test_kill_switch.py::test_feed_disconnect_trips",
     "paper feed: connection fails mid-replay"),
    ("tests/trader/live/test_kill_switch.py::test_stale_market_data_trips",
     "paper feed: goes silent"),
    ("tests/trader/hyperliquid/test_faults.py::"
     "test_dropped_connection_stops_quoting_resyncs_and_resumes",
     "hyperliquid: connection dropped with a fill in flight"),
    ("tests/trader/hyperliquid/test_faults.py::test_no_quoting_between_loss_and_resync",
     "hyperliquid: 3 drops, no quote between loss and resync"),
    ("tests/trader/hyperliquid/test_faults.py::test_out_of_order_and_duplicate_fills_apply_once",
     "hyperliquid: out-of-order and duplicate fills"),
    ("tests/trader/hyperliquid/test_faults.py::test_rejected_order_frees_its_side",
     "hyperliquid: order rejected"),
    ("tests/trader/hyperliquid/test_faults.py::"
     "test_server_that_stops_answering_trips_the_kill_switch",
     "hyperliquid: venue stops answering (every request times out)"),
    ("tests/trader/hyperliquid/test_faults.py::test_stale_book_stops_quoting_until_resynced",
     "hyperliquid: market data stops, pings still answered"),
    ("tests/trader/hyperliquid/test_faults.py::test_book_back_in_time_is_a_gap_and_resyncs",
     "hyperliquid: a book stamped back in time"),
    ("tests/trader/live/test_params_swap.py::"
     "test_a_good_version_swaps_in_a_bad_one_is_refused_and_the_running_one_kept",
     "params: a corrupt version published under a running trader"),
    ("tests/trader/live/test_process.py::test_running_trader_metrics_kill_reset_sigterm_and_resume",
     "`trader run` SIGTERM with a position, restart resumes it"),
    ("tests/trader/hyperliquid/test_keys.py::test_key_file_readable_by_others_is_refused",
     "security: key files with modes 0644/0640/0604 refused"),
    ("tests/trader/hyperliquid/test_keys.py::test_session_logs_never_contain_the_key",
     "security: the key in no log line (every logger at DEBUG)"),
)


def trader(args: argparse.Namespace) -> None:
    """The trader's faults (tests/faults/trader_*.py), each ``--trader-rounds`` times,
    and the trader faults covered elsewhere (:data:`TRADER_REFERENCES`), run once."""
    from data_lake.paths import LakePaths
    from tests.faults.trader_feed import perturbed, run_pairs
    from tests.faults.trader_params import PARAM_FAULTS, run_param_faults
    from tests.faults.trader_process import (
        kill_and_restart_on_hyperliquid,
        kill_forked_paper_trader,
        kill_paper_trader,
    )
    from tests.faults.trader_storm import plan_of, run_storm
    from tests.trader.hyperliquid.conftest import KEY
    from tests.trader.hyperliquid.server import FakeHyperliquid
    from tests.trader.live.conftest import (
        DAY,
        SYMBOL,
        build_live_home,
        head,
        make_engine,
        new_home,
    )
    from trader.live.feed import replay_day

    n = args.trader_rounds
    cmd = f"python bench/bench_faults.py --only trader --trader-rounds {n}"
    rng = random.Random(17)

    # The Hyperliquid venue: every fault n times in one session, settled each time.
    tallies = run_storm(plan_of(n, seed=7), seed=7)
    for name, t in tallies.items():
        for failure in t.failures:
            print(f"  FAILED {failure}")
        lost = t.orders_lost + t.orders_duplicated + t.fills_lost
        ROWS.append(Row(f"hyperliquid: {name}", t.injected, t.survived, lost, cmd))

    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        live = build_live_home(work / "live")
        events = replay_day(LakePaths.at(live), "synthetic", SYMBOL, DAY)
        m = 20_000
        short = head(events, m)
        clean = make_engine(short)
        run_pairs(clean, [(i, i) for i in range(m)])
        injected = survived = lost = 0
        for r in range(n):
            pairs, extra = perturbed(m, random.Random(r), repeats=200, late=50)
            faulty = make_engine(short)
            run_pairs(faulty, pairs)
            same = (faulty.acct.tolist() == clean.acct.tolist()
                    and faulty.counters() == clean.counters() and not faulty.kill.active)
            injected += extra
            survived += extra if same and faulty.dropped_events == extra else 0
            lost += abs(faulty.fills_total - clean.fills_total)
        ROWS.append(Row("paper feed: events repeated or retransmitted late", injected,
                        survived, lost, cmd))
        survived = 0
        for _ in range(n):
            k = rng.randrange(1_000, m - 1_000)
            pairs = [(i, i) for i in range(m)]
            pairs[k], pairs[k + 1] = pairs[k + 1], pairs[k]
            engine = make_engine(short)
            run_pairs(engine, pairs[: k + 1])
            orders = engine.counters()["orders"]
            run_pairs(engine, pairs[k + 1 :])
            survived += ([x.trigger for x in engine.kill.reasons] == ["sequence_gap"]
                         and engine.dropped_events == 1 and engine.resting() == 0
                         and engine.counters()["orders"] == orders)
        ROWS.append(Row("paper feed: two events swapped (gap trip, late one dropped)", n,
                        survived, 0, cmd))

        kept = dict.fromkeys(PARAM_FAULTS, 0)
        for r in range(n):
            (work / f"params{r}").mkdir()
            out = run_param_faults(new_home(work / f"params{r}", live), events)
            for how in PARAM_FAULTS:
                kept[how] += out.survived(how) and out.swapped_to == out.published
        for how in PARAM_FAULTS:
            ROWS.append(Row(f"params under a running trader: {how}", n, kept[how], 0, cmd))

        survived = lost = 0
        for r in range(n):
            point = None if r % 3 == 2 else (
                f"registry.replace.{rng.choice(('written', 'renamed'))}:{rng.randint(2, 12)}")
            (work / f"paper{r}").mkdir()
            home = new_home(work / f"paper{r}", live)
            try:
                kill = (kill_forked_paper_trader(home, point, events) if point else
                        kill_paper_trader(home, after_fills=True))
            except AssertionError as exc:
                print(f"  FAILED paper SIGKILL at {point or 'random'}: {exc}")
                continue
            survived += kill.survived
            if kill.saved is not None:
                saved_fills = kill.saved["symbols"][SYMBOL]["fills"]
                lost += max(0, saved_fills - kill.restart_summary["symbols"][0]["fills_total"])
        ROWS.append(Row("SIGKILL of the paper trader in its state save (forked) or of "
                        "`trader run` at random after fills, restart", n, survived, lost, cmd))

        survived = lost = 0
        for r in range(n):
            with FakeHyperliquid() as hl:
                try:
                    out = kill_and_restart_on_hyperliquid(hl, work / f"hl{r}")
                except AssertionError as exc:
                    print(f"  FAILED hyperliquid SIGKILL/restart: {exc}")
                    continue
            secret = any(k in out.outputs for k in (KEY, KEY[2:]))
            survived += out.reconciled and not secret
            lost += out.orders_lost + out.fills_lost + out.side_overlaps
        ROWS.append(Row("SIGKILL of `trader run --venue hyperliquid`, a fill while down, "
                        "restart = venue", n, survived, lost, cmd))

    _trader_references()


SECURITY_TESTS = (
    ("tests/faults/test_trader_faults.py::"
     "test_trader_files_are_reachable_only_by_their_owner_whatever_the_umask",
     "security: trader/ and control/ 0700, state, command, lock 0600 (umask 000/022/077)"),
    ("tests/faults/test_trader_faults.py::"
     "test_the_key_is_in_no_exception_message_repr_or_summary",
     "security: the key in no exception, traceback, repr or summary"),
)


def _trader_references() -> None:
    """Run the referenced tests once (one pytest process); a row per test, its cases
    (parametrisations) as the times injected."""
    import xml.etree.ElementTree as ET

    nodes = (*TRADER_REFERENCES, *SECURITY_TESTS)
    with tempfile.TemporaryDirectory() as d:
        report = Path(d) / "junit.xml"
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
             f"--junitxml={report}", *(node for node, _ in nodes)],
            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.DEVNULL, check=False)
        outcomes: dict[str, list[bool]] = {}
        for case in ET.parse(report).getroot().iter("testcase"):
            name = case.get("name", "").split("[")[0]
            ok = not any(child.tag in ("failure", "error", "skipped") for child in case)
            outcomes.setdefault(name, []).append(ok)
    for node, label in nodes:
        runs = outcomes.get(node.split("::")[-1], [])
        ROWS.append(Row(label, len(runs), sum(runs), 0, f"pytest {node}"))


GROUPS = {
    "crash": crash_points,
    "issue": issue_case,
    "storage": storage,
    "races": locks_and_races,
    "sql": lake_sql,
    "fuzz": fuzz,
    "trader": trader,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    logging.basicConfig(level=logging.ERROR)  # the take-over and recovery lines are expected
    parser.add_argument("--random-kills", type=int, default=4)
    parser.add_argument("--fuzz-examples", type=int, default=150)
    parser.add_argument("--flips", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--trader-rounds", type=int, default=5,
                        help="rounds of each trader fault (the venue storm, the paper "
                             "feed, the param files, the SIGKILLs)")
    parser.add_argument("--only", choices=sorted(GROUPS))
    args = parser.parse_args()
    t0 = time.perf_counter()
    for name, group in GROUPS.items():
        if args.only in (None, name):
            print(f"== {name}", flush=True)
            first = len(ROWS)
            group(args)
            for r in ROWS[first:]:
                print(f"  {r.fault}: injected {r.injected}, survived {r.survived}, "
                      f"lost {r.lost}", flush=True)
    print()
    print("| fault | injected | survived | rows, orders or fills lost | reproduce |")
    print("|---|---:|---:|---:|---|")
    for r in ROWS:
        print(f"| {r.fault} | {r.injected} | {r.survived} | {r.lost} | `{r.command}` |")
    print(
        f"\n{time.perf_counter() - t0:.0f} s; `python bench/bench_faults.py "
        f"--random-kills {args.random_kills} --fuzz-examples {args.fuzz_examples} "
        f"--flips {args.flips} --rounds {args.rounds} --trader-rounds {args.trader_rounds}`"
    )


if __name__ == "__main__":
    main()
