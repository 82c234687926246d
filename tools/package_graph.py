"""Draw the package graph of mmcal from its imports: docs/package-graph.{md,svg}.

Run ``make docs`` (or ``python tools/package_graph.py``) after moving code. A test
(tests/test_package_graph.py) fails when the committed Mermaid file is stale.

Nodes are packages two levels deep (``calibration.hawkes``, ``data_lake.registry``;
a top-level module such as ``calibration/funding.py`` is its own node; the flat
pipeline packages, orchestration and assets, are one node each); an edge A -> B
means some module of A imports some module of B. grimp is the import graph
import-linter already builds, so the picture and the contracts read the same imports.
Hand-drawn layout because graphviz is not a Python wheel: columns are the layers of
docs/architecture.md §3, from the pipeline's top (left) to pure numerics (right).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import grimp

# Draw this checkout's packages, whatever checkout the venv's editable install points at.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOTS = ("orchestration", "assets", "trader", "data_lake", "calibration")
FLAT = ("orchestration", "assets")
DOCS = Path(__file__).resolve().parent.parent / "docs"
MERMAID = DOCS / "package-graph.md"
SVG = DOCS / "package-graph.svg"
COLOURS = {
    "orchestration": "#c6dbef",
    "assets": "#fdd0a2",
    "trader": "#c7e9c0",
    "data_lake": "#dadaeb",
    "calibration": "#fcbba1",
}


def _node(module: str) -> str:
    root = module.split(".")[0]
    # The pipeline packages are flat and small: one node each keeps the picture legible.
    if root in FLAT:
        return root
    return ".".join(module.split(".")[:2])


def package_edges() -> tuple[list[str], list[tuple[str, str]]]:
    """Packages (two levels deep) and the import edges between distinct ones, sorted."""
    graph = grimp.build_graph(*ROOTS, include_external_packages=False, cache_dir=None)
    nodes: set[str] = set()
    edges: set[tuple[str, str]] = set()
    for module in graph.modules:
        if module.split(".")[0] not in ROOTS:
            continue
        src = _node(module)
        nodes.add(src)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.split(".")[0] not in ROOTS:
                continue
            dst = _node(imported)
            nodes.add(dst)
            if dst != src and not src.startswith(dst + ".") and dst != src.split(".")[0]:
                edges.add((src, dst))
    # A root package's own __init__ is a node only when it imports something.
    return sorted(nodes), sorted(edges)


def mermaid(nodes: list[str], edges: list[tuple[str, str]]) -> str:
    """Markdown page holding the graph as a Mermaid flowchart, one subgraph per root."""
    lines = [
        "# Package graph",
        "",
        "Generated from the imports by `make docs` (tools/package_graph.py); do not edit.",
        "An arrow A --> B means a module of A imports a module of B. The layers and",
        "contracts are in [architecture.md](architecture.md) §3; the same graph as a",
        "picture: [package-graph.svg](package-graph.svg).",
        "",
        "```mermaid",
        "flowchart LR",
    ]
    by_root: dict[str, list[str]] = defaultdict(list)
    for n in nodes:
        by_root[n.split(".")[0]].append(n)
    for root in ROOTS:
        lines.append(f"  subgraph {root}")
        lines.extend(f"    {n.replace('.', '_')}[{n}]" for n in by_root[root])
        lines.append("  end")
    lines.extend(f"  {a.replace('.', '_')} --> {b.replace('.', '_')}" for a, b in edges)
    lines += ["```", ""]
    return "\n".join(lines)


def draw_svg(nodes: list[str], edges: list[tuple[str, str]], path: Path) -> None:
    """Layered picture: one column per root package, arrows between packages."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "mmcal"  # stable ids: a rerun gives the same file
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    by_root: dict[str, list[str]] = defaultdict(list)
    for n in nodes:
        by_root[n.split(".")[0]].append(n)
    tallest = max(len(v) for v in by_root.values())
    pos: dict[str, tuple[float, float]] = {}
    for col, root in enumerate(ROOTS):
        members = by_root[root]
        offset = (tallest - len(members)) / 2.0
        for row, n in enumerate(members):
            pos[n] = (col * 3.2, -(row + offset))
    fig, ax = plt.subplots(figsize=(17, 0.55 * tallest + 1.5))
    for a, b in edges:
        (x0, y0), (x1, y1) = pos[a], pos[b]
        same = a.split(".")[0] == b.split(".")[0]
        ax.add_patch(
            FancyArrowPatch(
                (x0 + 0.9, y0), (x1 - 0.9, y1) if not same else (x1 + 0.9, y1),
                arrowstyle="-|>", mutation_scale=8, lw=0.5, alpha=0.45,
                color="#555555", connectionstyle="arc3,rad=0.25" if same else "arc3,rad=0.0",
            )
        )
    for n, (x, y) in pos.items():
        ax.text(
            x, y, n, ha="center", va="center", fontsize=7.5,
            bbox={"boxstyle": "round,pad=0.3", "fc": COLOURS[n.split(".")[0]], "ec": "#333333"},
        )
    for col, root in enumerate(ROOTS):
        ax.text(col * 3.2, 1.2, root, ha="center", fontsize=11, weight="bold")
    ax.set_xlim(-1.6, (len(ROOTS) - 1) * 3.2 + 1.6)
    ax.set_ylim(-tallest - 0.5, 1.8)
    ax.axis("off")
    ax.set_title("mmcal package graph (arrow: imports); layers run left to right", fontsize=10)
    fig.savefig(path, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)


def main() -> int:
    nodes, edges = package_edges()
    MERMAID.write_text(mermaid(nodes, edges))
    draw_svg(nodes, edges, SVG)
    print(f"{len(nodes)} packages, {len(edges)} edges -> {MERMAID}, {SVG}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
