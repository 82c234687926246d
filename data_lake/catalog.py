"""The DuckDB catalog: ``$MMCAL_HOME/lake.duckdb`` holding views over the lake.

Views use absolute globs so ``duckdb data/lake.duckdb`` works from any directory. A
table with no files yet gets an empty view of the right columns, so queries never fail
on a fresh lake. The catalog is rebuilt after every write; it holds no data itself.
A rebuild writes a temporary database and swaps it in with ``os.replace``, so a crash
mid-refresh leaves the previous catalog whole (tests/faults/test_crash_points.py).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from data_lake.durable import fsync_dir
from data_lake.faults import crash_point
from data_lake.partitions import PARTITION_FILE
from data_lake.paths import LakePaths
from data_lake.schemas import TABLES, TableSpec

__all__ = [
    "JsonView",
    "connect",
    "parquet_glob",
    "parquet_scan_sql",
    "refresh_catalog",
    "register_json_view",
]

_DUCK_TYPES = {
    pa.int64(): "BIGINT",
    pa.int8(): "TINYINT",
    pa.float64(): "DOUBLE",
    pa.string(): "VARCHAR",
    pa.list_(pa.float64()): "DOUBLE[]",
}

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JsonView:
    """A view over JSON documents somewhere under the home directory."""

    name: str
    glob: Callable[[LakePaths], str]
    empty_columns: tuple[tuple[str, str], ...] = (("path", "VARCHAR"),)


_JSON_VIEWS: dict[str, JsonView] = {}


def register_json_view(view: JsonView) -> None:
    """Add a JSON-backed view (ground truth, param sets...) to every catalog refresh."""
    _JSON_VIEWS[view.name] = view


def parquet_glob(paths: LakePaths, table: str) -> str:
    return str(paths.table_root(table) / "venue=*" / "symbol=*" / "date=*" / PARTITION_FILE)


def parquet_scan_sql(paths: LakePaths, spec: TableSpec) -> str:
    """A SELECT over one table's partitions, or an empty typed SELECT if it has none."""
    glob = parquet_glob(paths, spec.name)
    if not _has_files(glob):
        cols = [f"NULL::{_DUCK_TYPES[f.type]} AS {f.name}" for f in spec.schema]
        cols += ["NULL::VARCHAR AS venue", "NULL::VARCHAR AS symbol", "NULL::DATE AS date"]
        return f"SELECT {', '.join(cols)} WHERE false"
    return (
        f"SELECT * FROM read_parquet('{glob}', hive_partitioning = true, "
        "hive_types = {'venue': VARCHAR, 'symbol': VARCHAR, 'date': DATE})"
    )


def _has_files(glob: str) -> bool:
    root = Path(glob.split("venue=*")[0])
    return root.is_dir() and any(root.glob(f"venue=*/symbol=*/date=*/{PARTITION_FILE}"))


def _json_scan_sql(paths: LakePaths, view: JsonView) -> str:
    glob = view.glob(paths)
    base = Path(glob.split("*")[0])
    pattern = glob[len(str(base)) + 1 :] if "*" in glob else Path(glob).name
    if not base.is_dir() or not any(base.glob(pattern)):
        cols = ", ".join(f"NULL::{typ} AS {name}" for name, typ in view.empty_columns)
        return f"SELECT {cols} WHERE false"
    return f"SELECT * FROM read_json_auto('{glob}', union_by_name = true, filename = 'path')"


def _retry_locked(fn: Callable[[], T], *, attempts: int = 50, delay_s: float = 0.1) -> T:
    """DuckDB allows one writer process per file; wait briefly for another to finish."""
    for i in range(attempts):
        try:
            return fn()
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or i == attempts - 1:
                raise
            time.sleep(delay_s)
    raise AssertionError("unreachable")


def refresh_catalog(paths: LakePaths, *, force: bool = False) -> Path:
    """(Re)create every view in ``lake.duckdb``; returns the catalog path.

    Atomic: the views are built in a temporary database beside the catalog, which then
    replaces it with ``os.replace``, so a reader (or a process killed mid-refresh) sees
    the old catalog or the new one, never a half-built one. Refreshes are serialised by
    a lock file; ``force`` rebuilds even when the views are unchanged.
    """
    paths.home.mkdir(parents=True, exist_ok=True)
    with _catalog_lock(paths):
        statements = [
            f"CREATE OR REPLACE VIEW {spec.name} AS {parquet_scan_sql(paths, spec)}"
            for spec in TABLES.values()
        ]
        statements += [
            f"CREATE OR REPLACE VIEW {view.name} AS {_json_scan_sql(paths, view)}"
            for view in _JSON_VIEWS.values()
        ]
        # Views read globs, so they only change when a table gains its first file (or a
        # JSON view is registered): skip the catalog write when the SQL is what it was.
        digest = hashlib.sha256("\n".join(statements).encode()).hexdigest()
        stamp = paths.home / ".lake.duckdb.views"
        if (not force and paths.catalog.exists() and stamp.exists()
                and stamp.read_text() == digest):
            return paths.catalog
        _sweep_dead_builds(paths)
        tmp = paths.home / f"{_BUILD_PREFIX}{os.getpid()}-{uuid.uuid4().hex}.duckdb"
        try:
            con = duckdb.connect(str(tmp))
            try:
                for stmt in statements:
                    con.execute(stmt)
                crash_point("catalog.views_created")
                con.execute("CHECKPOINT")
            finally:
                con.close()
            _fsync_file(tmp)
            crash_point("catalog.built")
            # A WAL beside the old catalog (a pre-atomic writer killed mid-commit) would be
            # replayed into the new file: drop it first; the old file stands without it.
            Path(f"{paths.catalog}.wal").unlink(missing_ok=True)
            os.replace(tmp, paths.catalog)
            fsync_dir(paths.home)
            crash_point("catalog.swapped")
        finally:
            tmp.unlink(missing_ok=True)
            Path(f"{tmp}.wal").unlink(missing_ok=True)
        stamp_tmp = stamp.with_suffix(f".{os.getpid()}.tmp")
        stamp_tmp.write_text(digest)
        os.replace(stamp_tmp, stamp)
    return paths.catalog


_BUILD_PREFIX = ".lake.duckdb.build-"


@contextmanager
def _catalog_lock(paths: LakePaths) -> Iterator[None]:
    """Serialise catalog builds, so the last swap reflects the newest lake."""
    with open(paths.home / ".lake.duckdb.lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _sweep_dead_builds(paths: LakePaths) -> None:
    """Remove temporary catalogs of refreshes killed before their swap (lock held)."""
    for stale in paths.home.glob(f"{_BUILD_PREFIX}*"):
        stale.unlink(missing_ok=True)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def connect(paths: LakePaths, *, read_only: bool = True) -> Any:
    """A connection to the catalog, rebuilt first when stale, missing or unreadable.

    A home the process cannot write (a read-only lake) keeps the catalog it has.
    """
    try:
        refresh_catalog(paths)
    except OSError:
        if not paths.catalog.exists():
            raise
    try:
        return _retry_locked(lambda: duckdb.connect(str(paths.catalog), read_only=read_only))
    except duckdb.Error as exc:
        log.warning("lake catalog %s unreadable (%s); rebuilding it", paths.catalog, exc)
        refresh_catalog(paths, force=True)
        return _retry_locked(lambda: duckdb.connect(str(paths.catalog), read_only=read_only))
