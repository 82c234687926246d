"""Hypothesis settings of the fuzz tests and the import harness they share.

``make test`` runs a fast, derandomized profile (a fixed set of examples per property,
the same on every run). ``MMCAL_FUZZ_EXAMPLES=N`` raises the examples per property and
draws them at random (``bench/bench_faults.py`` runs it long).
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

from data_lake.importing import ImportReport
from data_lake.lake import Lake
from data_lake.sources import get_importer
from data_lake.sources.textio import InputError

_LONG = int(os.environ.get("MMCAL_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=_LONG or 10,
    derandomize=not _LONG,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CORPUS = Path(__file__).resolve().parent / "corpus"
IMPORTS: Counter[str] = Counter()  # imports run, by source (the bench reports them)


@contextmanager
def fresh_lake() -> Iterator[Lake]:
    with tempfile.TemporaryDirectory(prefix="mmcal-fuzz-") as home:
        yield Lake.at(home)


def write_input(directory: Path, name: str, data: bytes, *, gz: bool = False) -> Path:
    path = directory / (name + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def import_files(source: str, lake: Lake, paths: list[Path]) -> ImportReport | InputError:
    """Import, returning the report or the clean user error (a truncated/corrupt gz, a zip).

    Anything else raised is a crash and propagates.
    """
    IMPORTS[source] += 1
    try:
        return get_importer(source)(lake, paths)
    except InputError as exc:
        return exc


def check_accounted(lake: Lake, report: ImportReport | InputError, *, compressed: bool) -> None:
    """in = accepted + quarantined, and the lake holds what the report says it wrote."""
    if isinstance(report, InputError):
        # Only a damaged compressed stream may stop an import, with the file named.
        assert compressed, f"plain text input raised {report!r}"
        assert report.source and str(report)
        return
    assert report.records_in == report.n_accepted + report.n_quarantined
    assert sum(report.quarantined_by_table.values()) == report.n_quarantined
    held = lake.read("quarantine").num_rows
    # The quarantine keys rows by (source, line, table, reason): at most one row per key.
    assert (held > 0) == (report.n_quarantined > 0)
    assert held <= report.n_quarantined


def rows(lake: Lake, table: str, columns: list[str]) -> list[str]:
    """A table's rows (given columns) as sorted canonical JSON, to compare as multisets."""
    got = lake.read(table, columns=columns).to_pylist()
    return sorted(json.dumps(r, sort_keys=True) for r in got)


def expected(rows_: list[dict[str, Any]], columns: list[str]) -> list[str]:
    return sorted(json.dumps({c: r[c] for c in columns}, sort_keys=True) for r in rows_)
