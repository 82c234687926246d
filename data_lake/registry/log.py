"""One symbol's registry directory: version files, the decisions log, the ``LATEST`` pointer.

The layout is described in :mod:`data_lake.registry`. These helpers take the symbol's
directory (``<params>/<symbol>``) and do no locking: writers hold the symbol's lock (see
:class:`data_lake.registry.ParamRegistry`). Importing this module registers the DuckDB views
``param_sets``, ``param_decisions`` and ``param_latest`` over those files.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
from pydantic import ValidationError

from data_lake.catalog import JsonView, register_json_view
from data_lake.registry.document import VERSION_PATTERN, ParamSet, ParamStatus, content_hash
from data_lake.registry.errors import CorruptParamSetError
from data_lake.registry.files import append_line, replace_atomically
from data_lake.registry.gate import NON_STATUS_CODES, Decision, describe_validation_error

__all__ = [
    "DECISIONS_FILE",
    "POINTER_FILE",
    "REJECTED_DIR",
    "VersionInfo",
    "append_decision",
    "has_history",
    "move_pointer",
    "read_decisions",
    "read_document",
    "read_pointer",
    "statuses",
    "version_files",
    "version_ids",
    "version_path",
]

log = logging.getLogger(__name__)

POINTER_FILE = "LATEST"
DECISIONS_FILE = "decisions.jsonl"
REJECTED_DIR = "rejected"
_VERSION_FILE = re.compile(VERSION_PATTERN[:-1] + r"\.json$")

register_json_view(
    JsonView(
        "param_sets",
        lambda p: str(p.params / "*" / "*.json"),
        (("schema_version", "BIGINT"), ("symbol", "VARCHAR"), ("venue", "VARCHAR"),
         ("version", "VARCHAR"), ("code_version", "VARCHAR"),
         ("created_at", "TIMESTAMP WITH TIME ZONE"), ("path", "VARCHAR")),
    )
)
register_json_view(
    JsonView(
        "param_decisions",
        lambda p: str(p.params / "*" / DECISIONS_FILE),
        (("symbol", "VARCHAR"), ("version", "VARCHAR"), ("status", "VARCHAR"),
         ("code", "VARCHAR"), ("event", "VARCHAR"), ("reason", "VARCHAR"),
         ("decided_at", "TIMESTAMP WITH TIME ZONE"), ("previous", "VARCHAR"),
         ("path", "VARCHAR")),
    )
)
register_json_view(
    JsonView(
        "param_latest",
        lambda p: str(p.params / "*" / POINTER_FILE),
        (("symbol", "VARCHAR"), ("version", "VARCHAR"),
         ("published_at", "TIMESTAMP WITH TIME ZONE"), ("path", "VARCHAR")),
    )
)


@dataclass(frozen=True)
class VersionInfo:
    """One row of :meth:`ParamRegistry.versions`; ``error`` is set if the file is corrupt."""

    symbol: str
    version: str
    status: ParamStatus
    reason: str | None
    is_latest: bool
    path: Path
    created_at: datetime | None = None
    code_version: str | None = None
    primary_score: tuple[str, float] | None = None
    error: str | None = None


# -- version files ---------------------------------------------------------------------------


def version_path(directory: Path, version: str) -> Path:
    """The immutable document of ``version`` in a symbol's directory."""
    return directory / f"{version}.json"


def version_files(directory: Path) -> Iterator[Path]:
    """The version documents in a symbol's directory, unordered (none if it is missing)."""
    if not directory.is_dir():
        return iter(())
    return (p for p in directory.iterdir() if _VERSION_FILE.match(p.name))


def version_ids(directory: Path) -> list[str]:
    """Every version in a symbol's directory, oldest first (empty if none)."""
    return sorted(p.name[:-5] for p in version_files(directory))


def has_history(directory: Path) -> bool:
    """True if the symbol has at least one version or a decisions log."""
    return any(version_files(directory)) or (directory / DECISIONS_FILE).exists()


def read_document(directory: Path, symbol: str, version: str) -> ParamSet:
    """Read one version document, re-validated and checked against its name and hash.

    Raises
    ------
    CorruptParamSetError
    The file is missing, not valid JSON, fails the schema or bounds, names another
    version or symbol, or its content no longer matches the hash in its name.
    """
    path = version_path(directory, version)
    try:
        raw = orjson.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise CorruptParamSetError(path, "file is missing") from exc
    except orjson.JSONDecodeError as exc:
        raise CorruptParamSetError(path, f"not valid JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise CorruptParamSetError(path, f"expected a JSON object, found {type(raw).__name__}")
    try:
        doc = ParamSet.model_validate(raw)
    except ValidationError as exc:
        code, reason = describe_validation_error(exc)
        raise CorruptParamSetError(path, f"fails the {code} checks: {reason}") from exc
    if doc.version != version:
        raise CorruptParamSetError(path, f"document says version {doc.version!r}")
    if doc.symbol != symbol:
        raise CorruptParamSetError(path, f"document is for symbol {doc.symbol!r}")
    # The hash is of the JSON as written: a field the schema gained since (an optional
    # one, absent from an older document) must not make that document look edited.
    if version.split("-")[1] not in (content_hash(raw)[:8], content_hash(doc)[:8]):
        raise CorruptParamSetError(
            path, "content does not match the hash in its name (edited after writing)"
        )
    return doc


# -- the publish pointer -------------------------------------------------------------------


def read_pointer(directory: Path) -> str | None:
    """The version ``LATEST`` names, or None if nothing was published. Cheap: one read.

    Raises
    ------
    CorruptParamSetError
        The pointer is unreadable, names no version, or names a version with no file.
    """
    pointer = directory / POINTER_FILE
    try:
        raw = pointer.read_bytes()
    except FileNotFoundError:
        return None
    try:
        version = orjson.loads(raw)["version"]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise CorruptParamSetError(pointer, f"unreadable publish pointer ({exc})") from exc
    if not isinstance(version, str) or not re.match(VERSION_PATTERN, version):
        raise CorruptParamSetError(pointer, f"publish pointer names {version!r}, not a version")
    if not version_path(directory, version).exists():
        raise CorruptParamSetError(pointer, f"publish pointer names {version}, with no file")
    return version


def move_pointer(directory: Path, symbol: str, version: str) -> None:
    """Point ``LATEST`` at ``version`` atomically (``os.replace``), stamped now (UTC)."""
    body = {"symbol": symbol, "version": version,
            "published_at": datetime.now(UTC).isoformat()}
    replace_atomically(directory / POINTER_FILE, orjson.dumps(body))


# -- the decisions log ---------------------------------------------------------------------


def read_decisions(directory: Path) -> list[Decision]:
    """The symbol's decisions log, oldest first.

    A torn last line (crash) is skipped, as is a damaged line naming another symbol.
    """
    path = directory / DECISIONS_FILE
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            decision = Decision.from_dict(orjson.loads(line))
        except (orjson.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
            log.warning("skipping unreadable line %d of %s: %s", n, path, exc)
            continue
        if decision.symbol != directory.name:  # a damaged line naming another symbol
            log.warning("skipping line %d of %s: it names symbol %r", n, path, decision.symbol)
            continue
        out.append(decision)
    return out


def append_decision(directory: Path, decision: Decision) -> None:
    """Append one decision to the log as a single JSON line."""
    append_line(directory / DECISIONS_FILE, orjson.dumps(decision.to_dict()))


def statuses(
    decisions: Iterable[Decision], latest: str | None
) -> dict[str, tuple[ParamStatus, str | None]]:
    """Each version's current status: its last decision; the pointer's target is published."""
    out: dict[str, tuple[ParamStatus, str | None]] = {}
    for d in decisions:
        if d.version is not None and d.code not in NON_STATUS_CODES:
            out[d.version] = (d.status, d.reason)
    if latest is not None and out.get(latest, (None,))[0] is not ParamStatus.PUBLISHED:
        out[latest] = (ParamStatus.PUBLISHED, "named by LATEST (no decision logged)")
    return out
