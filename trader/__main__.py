"""``python -m trader ...``: the ``trader`` command line without the installed script."""

from trader.cli import app

app()
