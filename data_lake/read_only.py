"""The statement check of ``lake sql``: only queries run, nothing that writes.

The catalog connection is already read-only, but DuckDB can still write files through
a read-only connection (``COPY ... TO`` over a partition, ``EXPORT DATABASE``), attach
another database read-write (``ATTACH``), load extensions or change settings. Every
statement of the text is therefore parsed first and the whole text refused unless each
one is a query (``SELECT``, including ``WITH``, ``DESCRIBE``, ``SHOW``, ``SUMMARIZE``)
or an ``EXPLAIN``.
"""

from __future__ import annotations

import duckdb

__all__ = ["ALLOWED_STATEMENTS", "ReadOnlyQueryError", "require_read_only"]

ALLOWED_STATEMENTS = ("SELECT", "EXPLAIN")


class ReadOnlyQueryError(ValueError):
    """A statement that could modify the lake or the machine, refused before it ran."""


def require_read_only(query: str) -> None:
    """Raise :class:`ReadOnlyQueryError` unless every statement of ``query`` only reads.

    A text DuckDB cannot parse is left to the query itself (its own error is clearer).
    """
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error:
        return
    for st in statements:
        kind = st.type.name
        if kind not in ALLOWED_STATEMENTS:
            text = " ".join(st.query.split())[:80]
            raise ReadOnlyQueryError(
                f"refusing a {kind} statement ({text!r}): lake sql runs read-only queries "
                "(SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN); the lake is written "
                "only by lake import / lake generate"
            )
