"""``lake sql`` cannot modify the lake: DDL, DML, COPY, ATTACH, EXPORT, SET... are refused.

Each statement is refused before it runs (parsed statement types), on top of the
read-only catalog connection; the lake's files, the catalog and the directory listing
are unchanged afterwards.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from data_lake.cli import app
from data_lake.lake import Lake, ReadOnlyQueryError
from data_lake.sources import get_importer
from tests.data_lake.helpers import FIXTURES


def _tree(home: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(home)): p.read_bytes()
        for p in sorted(home.rglob("*"))
        if p.is_file() and ".staging" not in p.parts
    }


def _statements(home: Path, target: str) -> list[str]:
    return [
        "CREATE TABLE evil AS SELECT 1",
        "CREATE OR REPLACE VIEW trades AS SELECT 1 AS x",
        "DROP VIEW trades",
        "INSERT INTO trades SELECT * FROM trades",
        "UPDATE trades SET price = 0",
        "DELETE FROM trades",
        f"COPY (SELECT 1 AS x) TO '{target}' (FORMAT parquet)",
        f"COPY trades TO '{home}/stolen.csv'",
        f"ATTACH '{home}/other.duckdb' AS other",
        f"EXPORT DATABASE '{home}/export'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET memory_limit = '1GB'",
        "PRAGMA enable_profiling",
        "CHECKPOINT",
        "BEGIN TRANSACTION",
        "VACUUM",
        "SELECT 1; DROP VIEW trades",  # a harmless head does not carry the rest
        "ALTER VIEW trades RENAME TO t2",
    ]


def test_every_modifying_statement_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    lake = Lake.at(home)
    get_importer("binance")(lake, [FIXTURES / "binance_small.txt"])
    target = next(lake.root.glob("trades/**/data.parquet"))
    before = _tree(home)
    for statement in _statements(home, str(target)):
        with pytest.raises(ReadOnlyQueryError, match="refusing"):
            lake.sql(statement)
    assert _tree(home) == before
    assert lake.sql("SELECT count(*) AS n FROM trades")["n"].iloc[0] == 2
    # Queries of every read-only form still run.
    for query in (
        "WITH t AS (SELECT * FROM trades) SELECT count(*) FROM t",
        "DESCRIBE trades",
        "SHOW TABLES",
        "SUMMARIZE trades",
        "EXPLAIN SELECT * FROM trades",
    ):
        assert len(lake.sql(query)) > 0


def test_the_cli_refuses_copy_over_a_partition(tmp_path: Path) -> None:
    home = tmp_path / "home"
    lake = Lake.at(home)
    get_importer("binance")(lake, [FIXTURES / "binance_small.txt"])
    target = next(lake.root.glob("trades/**/data.parquet"))
    before = target.read_bytes()
    done = CliRunner().invoke(
        app, ["--home", str(home), "sql", f"COPY (SELECT 1 AS x) TO '{target}' (FORMAT parquet)"]
    )
    assert done.exit_code == 2
    assert "refusing a COPY statement" in done.stderr
    assert target.read_bytes() == before
