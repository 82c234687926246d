"""Plots for the Dagster UI: matplotlib figures rendered to PNG inside markdown metadata."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # headless: assets run in worker processes with no display

import dagster as dg
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["figure", "figure_metadata"]


def figure(width: float = 7.0, height: float = 4.0) -> tuple[Figure, Axes]:
    fig, ax = plt.subplots(figsize=(width, height), dpi=90)
    return fig, ax


def figure_metadata(fig: Figure, title: str = "plot") -> dg.MetadataValue:
    """The figure as a markdown image Dagster renders on the asset page."""
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    encoded = base64.b64encode(buf.getvalue()).decode("ascii")
    return dg.MetadataValue.md(f"![{title}](data:image/png;base64,{encoded})")
