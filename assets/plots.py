"""Plots for the Dagster UI and the calibration report: matplotlib figures as PNG.

Each plot is rendered once: its PNG goes into the asset's markdown metadata (the UI shows
it behind the entry's title) and into ``$MMCAL_HOME/plots/<venue>/<symbol>/<day>/``,
where :mod:`data_lake.registry.report` reads it for the param set's report.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: assets run in worker processes with no display

import dagster as dg
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from data_lake.paths import LakePaths
from data_lake.registry.files import replace_atomically

__all__ = [
    "figure",
    "plot_dir",
    "png_bytes",
    "png_markdown",
    "save_plot",
]


def figure(width: float = 7.0, height: float = 4.0) -> tuple[Figure, Axes]:
    fig, ax = plt.subplots(figsize=(width, height), dpi=90)
    return fig, ax


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes (the figure is closed)."""
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def png_markdown(png: bytes, title: str) -> dg.MetadataValue:
    """A PNG as a markdown image Dagster renders on the asset page."""
    encoded = base64.b64encode(png).decode("ascii")
    return dg.MetadataValue.md(f"**{title}**\n\n![{title}](data:image/png;base64,{encoded})")


def plot_dir(paths: LakePaths, venue: str, symbol: str, day: dt.date) -> Path:
    """Where the plots of one symbol-day's fits are kept (read by the report)."""
    return paths.home / "plots" / venue / symbol / day.isoformat()


def save_plot(png: bytes, directory: Path, name: str) -> Path:
    """Write ``<directory>/<name>.png`` atomically (a rerun replaces it whole)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    replace_atomically(path, png)
    return path
