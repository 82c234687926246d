"""Every asset states its cost in the day's trades and snapshots (issue #15: nothing worse
than n log n without a reason next to it)."""

from __future__ import annotations

import re

from orchestration.definitions import defs


def test_every_asset_description_states_its_complexity() -> None:
    specs = list(defs.resolve_all_asset_specs())
    assert len(specs) >= 19
    missing = [s.key.to_user_string() for s in specs if "O(" not in (s.description or "")]
    assert not missing, f"assets without an O(...) cost in their description: {missing}"
    for spec in specs:
        text = spec.description or ""
        cost = text[text.index("Cost:") :] if "Cost:" in text else text
        # Every stated cost names n or m, or says why it does not depend on them.
        assert re.search(r"O\([^)]*\b[nmDF]\b|O\(1\)", cost), (spec.key, cost)
