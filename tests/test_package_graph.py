"""The committed package graph (docs/package-graph.md) matches the code's imports."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _tool():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("package_graph", ROOT / "tools/package_graph.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_package_graph_doc_is_current() -> None:
    tool = _tool()
    nodes, edges = tool.package_edges()
    committed = (ROOT / "docs/package-graph.md").read_text()
    stale = "docs/package-graph.md is stale: run `make docs`"
    assert committed == tool.mermaid(nodes, edges), stale


def test_package_graph_points_down_the_layers() -> None:
    order = {"orchestration": 0, "assets": 1, "trader": 2, "data_lake": 3, "calibration": 3}
    nodes, edges = _tool().package_edges()
    assert "calibration.hawkes" in nodes and "data_lake.registry" in nodes
    for a, b in edges:
        ra, rb = a.split(".")[0], b.split(".")[0]
        assert ra == rb or order[ra] < order[rb], f"{a} -> {b} points up or across the layers"
