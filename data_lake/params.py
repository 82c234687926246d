"""The param registry: immutable versioned param sets, the publish gate, ``latest``, rollback.

Layout under ``$MMCAL_HOME/params/<symbol>/`` (DESIGN §5)::

    000001-3fa9c1e2.json   one immutable document per version (read-only, never rewritten)
    decisions.jsonl        append-only log: every publish, refusal and rollback, with reason
    LATEST                 the publish pointer {"symbol", "version", "published_at"}, atomic
    rejected/<hash>.json   documents refused before they could get a version (bad schema)
    .lock                  flock serialising writers of this symbol

A version is ``<sequence>-<hash8>``: the next integer for the symbol and the first 8 hex
digits of the content hash (:func:`data_lake.param_document.content_hash`). Writing the
same content again returns the existing version. Files are written to a temporary name,
fsynced, then hard-linked into place, so a reader sees the whole file or none, and an
existing version can never be overwritten. The pointer moves by ``os.replace``.

The publish gate (:meth:`ParamRegistry.submit`, :meth:`ParamRegistry.publish`) refuses a
set that fails schema or sanity bounds, was fitted on partitions whose blocking checks
failed (or were never checked), or scores worse out of sample than the current published
set by more than :attr:`GateConfig.oos_margin_rel`. Every refusal is logged with its
reason. The loader re-validates every document and its hash, so a corrupt or
out-of-bounds file on disk is refused with the file named.

No Dagster here: the trader imports this module.
"""

from __future__ import annotations

import contextlib
import logging
import re
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from data_lake.catalog import JsonView, refresh_catalog, register_json_view
from data_lake.param_document import (
    SYMBOL_PATTERN,
    VERSION_PATTERN,
    ParamSet,
    ParamStatus,
    content_hash,
)
from data_lake.param_files import (
    FileExistsImmutableError,
    append_line,
    create_once,
    locked_directory,
    replace_atomically,
)
from data_lake.param_gate import Decision, GateConfig, describe_validation_error, gate_problems
from data_lake.paths import LakePaths

__all__ = [
    "LATEST",
    "CorruptParamSetError",
    "Decision",
    "GateConfig",
    "ParamRegistry",
    "ParamRegistryError",
    "ParamSet",
    "ParamStatus",
    "RollbackError",
    "UnknownSymbolError",
    "UnknownVersionError",
    "VersionInfo",
    "current_code_version",
]

log = logging.getLogger(__name__)

LATEST = "latest"
_POINTER = "LATEST"
_DECISIONS = "decisions.jsonl"
_REJECTED = "rejected"
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
        lambda p: str(p.params / "*" / _DECISIONS),
        (("symbol", "VARCHAR"), ("version", "VARCHAR"), ("status", "VARCHAR"),
         ("code", "VARCHAR"), ("event", "VARCHAR"), ("reason", "VARCHAR"),
         ("decided_at", "TIMESTAMP WITH TIME ZONE"), ("previous", "VARCHAR"),
         ("path", "VARCHAR")),
    )
)
register_json_view(
    JsonView(
        "param_latest",
        lambda p: str(p.params / "*" / _POINTER),
        (("symbol", "VARCHAR"), ("version", "VARCHAR"),
         ("published_at", "TIMESTAMP WITH TIME ZONE"), ("path", "VARCHAR")),
    )
)


# -- errors ------------------------------------------------------------------------------


class ParamRegistryError(Exception):
    """Anything the registry refuses, with a message meant for a person."""


class UnknownSymbolError(ParamRegistryError, KeyError):
    """No param sets for this symbol; the message lists the symbols that exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class UnknownVersionError(ParamRegistryError, KeyError):
    """No such version (or nothing published yet); the message lists what exists."""

    def __str__(self) -> str:
        return str(self.args[0])


class CorruptParamSetError(ParamRegistryError):
    """A document (or the pointer) on disk is unreadable, invalid, or not what its name says."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class RollbackError(ParamRegistryError):
    """The version asked for cannot be republished (never published, or already latest)."""


# -- value objects -------------------------------------------------------------------------


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


# -- the registry ----------------------------------------------------------------------------


class ParamRegistry:
    """Versioned param sets under ``paths.params``; safe for concurrent processes.

    Parameters
    ----------
    paths : LakePaths
        The home directory (``LakePaths.default()`` follows ``$MMCAL_HOME``).
    gate : GateConfig, optional
        Publish gate settings.
    refresh_catalog : bool
        Rebuild the DuckDB catalog after each change so ``param_sets`` sees new files.
    """

    def __init__(
        self,
        paths: LakePaths,
        *,
        gate: GateConfig | None = None,
        refresh_catalog: bool = True,
    ) -> None:
        self.paths = paths
        self.gate = gate or GateConfig()
        self._refresh = refresh_catalog

    @classmethod
    def default(cls) -> ParamRegistry:
        return cls(LakePaths.default())

    @property
    def root(self) -> Path:
        return self.paths.params

    # -- reading -------------------------------------------------------------------------

    def symbols(self) -> list[str]:
        """Symbols with at least one version or decision, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(
            d.name for d in self.root.iterdir()
            if d.is_dir() and re.match(SYMBOL_PATTERN, d.name)
            and (any(self._version_files(d.name)) or (d / _DECISIONS).exists())
        )

    def version_ids(self, symbol: str) -> list[str]:
        """Every version of a symbol, oldest first (empty if none)."""
        return sorted(p.name[:-5] for p in self._version_files(symbol))

    def latest_version(self, symbol: str) -> str | None:
        """The version ``LATEST`` names, or None if nothing was published. Cheap: one read."""
        pointer = self._dir(symbol) / _POINTER
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
        if not self.path_of(symbol, version).exists():
            raise CorruptParamSetError(pointer, f"publish pointer names {version}, with no file")
        return version

    def resolve(self, symbol: str, version: str = LATEST) -> str:
        """A concrete version id for ``version`` (``latest`` or an id), or a helpful error."""
        self._require_symbol(symbol)
        known = self.version_ids(symbol)
        if version == LATEST:
            latest = self.latest_version(symbol)
            if latest is None:
                raise UnknownVersionError(
                    f"nothing published for {symbol} yet; versions: {', '.join(known) or 'none'}"
                )
            return latest
        if version not in known:
            raise UnknownVersionError(
                f"no version {version!r} for {symbol}; versions: {', '.join(known) or 'none'}"
            )
        return version

    def path_of(self, symbol: str, version: str) -> Path:
        return self._dir(symbol) / f"{version}.json"

    def load(self, symbol: str, version: str = LATEST) -> ParamSet:
        """Read, re-validate and hash-check one version; status is as of now (from the log).

        Raises
        ------
        UnknownSymbolError, UnknownVersionError
            Nothing by that name; the message lists what exists.
        CorruptParamSetError
            The file is not valid JSON, fails the schema or bounds, or its content no
            longer matches the hash in its name (edited after writing).
        """
        resolved = self.resolve(symbol, version)
        document = self._read_document(symbol, resolved)
        status, reason = self._status_of(symbol, resolved)
        return document.model_copy(update={"status": status, "reason": reason})

    def decisions(self, symbol: str) -> list[Decision]:
        """The symbol's decisions log, oldest first. A torn last line (crash) is skipped."""
        path = self._dir(symbol) / _DECISIONS
        try:
            lines = path.read_bytes().splitlines()
        except FileNotFoundError:
            return []
        out = []
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                out.append(Decision.from_dict(orjson.loads(line)))
            except (orjson.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
                log.warning("skipping unreadable line %d of %s: %s", n, path, exc)
        return out

    def versions(self, symbol: str) -> list[VersionInfo]:
        """Every version with its status, oldest first; corrupt files are listed with ``error``."""
        self._require_symbol(symbol)
        try:
            latest = self.latest_version(symbol)
        except CorruptParamSetError:
            latest = None
        statuses = self._statuses(symbol)
        rows = []
        for version in self.version_ids(symbol):
            status, reason = statuses.get(version, (ParamStatus.CANDIDATE, None))
            path = self.path_of(symbol, version)
            try:
                doc = self._read_document(symbol, version)
            except CorruptParamSetError as exc:
                rows.append(VersionInfo(symbol, version, status, reason, version == latest, path,
                                        error=exc.problem))
                continue
            rows.append(VersionInfo(
                symbol, version, status, reason, version == latest, path,
                created_at=doc.created_at, code_version=doc.code_version,
                primary_score=doc.primary_score(),
            ))
        return rows

    # -- writing -------------------------------------------------------------------------

    def write(self, document: ParamSet | Mapping[str, Any]) -> str:
        """Store a valid document as a candidate version; identical content -> same version.

        Raises ``pydantic.ValidationError`` on an invalid document (use :meth:`submit` to
        have the refusal recorded instead).
        """
        doc = _validated(document)
        with self._locked(doc.symbol):
            version = self._write_locked(doc)
        self._refresh_catalog()
        return version

    def submit(self, document: ParamSet | Mapping[str, Any]) -> Decision:
        """Validate, store, gate and (if it passes) publish a candidate; every refusal logged.

        A document that fails the schema or bounds gets no version: it is kept as
        ``rejected/<hash8>.json`` and the decision names that file.
        """
        try:
            doc = _validated(document)
        except ValidationError as exc:
            decision = self._reject_invalid(document, exc)
            self._refresh_catalog()
            return decision
        with self._locked(doc.symbol):
            version = self._write_locked(doc)
            decision = self._publish_locked(doc.symbol, version)
        self._refresh_catalog()
        return decision

    def publish(self, symbol: str, version: str) -> Decision:
        """Run the gate on an already-written version and publish it if it passes."""
        resolved = self.resolve(symbol, version)
        with self._locked(symbol):
            decision = self._publish_locked(symbol, resolved)
        self._refresh_catalog()
        return decision

    def rollback(self, symbol: str, version: str, *, reason: str = "manual rollback") -> Decision:
        """Point ``latest`` back at a previously published version (re-validated), logged.

        The out-of-sample comparison is skipped (one rolls back *because* the current set
        is bad); schema, bounds and data checks still apply.
        """
        resolved = self.resolve(symbol, version)
        with self._locked(symbol):
            current = self.latest_version(symbol)
            if resolved == current:
                raise RollbackError(f"{symbol} {resolved} is already the published version")
            history = [d for d in self.decisions(symbol) if d.version == resolved]
            if not any(d.status is ParamStatus.PUBLISHED for d in history):
                last = history[-1] if history else None
                was = f"{last.status.value}: {last.reason}" if last else "a candidate"
                published = [v for v, (s, _) in self._statuses(symbol).items()
                             if s is ParamStatus.PUBLISHED]
                raise RollbackError(
                    f"{symbol} {resolved} was never published (it is {was}); roll back to a "
                    f"previously published version: {', '.join(published) or 'none'}"
                )
            doc = self._read_document(symbol, resolved)
            problems = gate_problems(doc, None, self.gate, compare_oos=False)
            if problems:
                raise RollbackError(
                    f"{symbol} {resolved} no longer passes the gate: "
                    + "; ".join(msg for _, msg in problems)
                )
            self._move_pointer(symbol, resolved)
            decision = Decision(
                symbol, resolved, ParamStatus.PUBLISHED, "rollback",
                f"rollback from {current}: {reason}", event="rollback", previous=current,
            )
            self._append_decision(symbol, decision)
        self._refresh_catalog()
        return decision

    # -- internals (callers hold the symbol's lock) ----------------------------------------

    def _write_locked(self, doc: ParamSet) -> str:
        digest = content_hash(doc)
        short = digest[:8]
        existing = [v for v in self.version_ids(doc.symbol) if v.endswith(short)]
        for version in existing:
            stored = self._read_document(doc.symbol, version)
            if content_hash(stored) == digest:
                return version
            raise ParamRegistryError(
                f"hash prefix collision: {version} holds different content; refusing to write"
            )
        known = self.version_ids(doc.symbol)
        seq = int(known[-1].split("-")[0]) + 1 if known else 1
        version = f"{seq:06d}-{short}"
        body = doc.model_copy(update={"version": version}).model_dump(
            mode="json", exclude={"status", "reason"}
        )
        blob = orjson.dumps(body, option=orjson.OPT_INDENT_2)
        try:
            create_once(self.path_of(doc.symbol, version), blob)
        except FileExistsImmutableError as exc:  # only if a writer ignored the lock
            raise ParamRegistryError(str(exc)) from exc
        return version

    def _publish_locked(self, symbol: str, version: str) -> Decision:
        try:
            current_version = self.latest_version(symbol)
        except CorruptParamSetError as exc:
            log.warning("ignoring the current pointer: %s", exc)
            current_version = None
        if current_version == version:
            return Decision(symbol, version, ParamStatus.PUBLISHED, "already_latest",
                            f"{version} is already the published version", previous=version)
        doc = self._read_document(symbol, version)
        current: ParamSet | None = None
        notes = []
        if current_version is not None:
            try:
                current = self._read_document(symbol, current_version)
            except CorruptParamSetError as exc:
                notes.append(f"current {current_version} unreadable ({exc.problem}); "
                             "out-of-sample comparison skipped")
        problems = gate_problems(doc, current, self.gate)
        if problems:
            decision = Decision(
                symbol, version, ParamStatus.REJECTED, problems[0][0],
                "; ".join(msg for _, msg in problems), previous=current_version,
            )
        else:
            self._move_pointer(symbol, version)
            decision = Decision(
                symbol, version, ParamStatus.PUBLISHED, "published",
                "; ".join(["passed the gate", *notes]), previous=current_version,
            )
        self._append_decision(symbol, decision)
        return decision

    def _reject_invalid(
        self, document: ParamSet | Mapping[str, Any], exc: ValidationError
    ) -> Decision:
        raw = document.model_dump(mode="json") if isinstance(document, ParamSet) else dict(document)
        symbol = raw.get("symbol")
        if not isinstance(symbol, str) or not re.match(SYMBOL_PATTERN, symbol):
            symbol = "_invalid"  # cannot be a real symbol: the pattern forbids a leading '_'
        code, reason = describe_validation_error(exc)
        name = f"{_REJECTED}/{content_hash(raw)[:8]}.json"
        with self._locked(symbol):
            path = self._dir(symbol) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                opts = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
                create_once(path, orjson.dumps(raw, default=str, option=opts))
            decision = Decision(symbol, None, ParamStatus.REJECTED, code, reason, document=name,
                                previous=None)
            self._append_decision(symbol, decision)
        return decision

    def _read_document(self, symbol: str, version: str) -> ParamSet:
        path = self.path_of(symbol, version)
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
        if content_hash(doc)[:8] != version.split("-")[1]:
            raise CorruptParamSetError(
                path, "content does not match the hash in its name (edited after writing)"
            )
        return doc

    def _statuses(self, symbol: str) -> dict[str, tuple[ParamStatus, str | None]]:
        """Each version's current status: its last decision; the pointer's target is published."""
        out: dict[str, tuple[ParamStatus, str | None]] = {}
        for d in self.decisions(symbol):
            if d.version is not None and d.code != "already_latest":
                out[d.version] = (d.status, d.reason)
        try:
            latest = self.latest_version(symbol)
        except CorruptParamSetError:
            latest = None
        if latest is not None and out.get(latest, (None,))[0] is not ParamStatus.PUBLISHED:
            out[latest] = (ParamStatus.PUBLISHED, "named by LATEST (no decision logged)")
        return out

    def _status_of(self, symbol: str, version: str) -> tuple[ParamStatus, str | None]:
        return self._statuses(symbol).get(version, (ParamStatus.CANDIDATE, None))

    def _move_pointer(self, symbol: str, version: str) -> None:
        body = {"symbol": symbol, "version": version,
                "published_at": datetime.now(UTC).isoformat()}
        replace_atomically(self._dir(symbol) / _POINTER, orjson.dumps(body))

    def _append_decision(self, symbol: str, decision: Decision) -> None:
        append_line(self._dir(symbol) / _DECISIONS, orjson.dumps(decision.to_dict()))

    def _locked(self, symbol: str) -> contextlib.AbstractContextManager[None]:
        return locked_directory(self._dir(symbol), sweep=(".", _REJECTED))

    def _refresh_catalog(self) -> None:
        if not self._refresh:
            return
        try:
            refresh_catalog(self.paths)
        except Exception as exc:  # the param files are the truth; the catalog is a view
            log.warning("param registry changed but the DuckDB catalog refresh failed: %s", exc)

    def _dir(self, symbol: str) -> Path:
        self._check_symbol(symbol)
        return self.root / symbol

    def _version_files(self, symbol: str) -> Iterator[Path]:
        directory = self.root / symbol
        if not directory.is_dir():
            return iter(())
        return (p for p in directory.iterdir() if _VERSION_FILE.match(p.name))

    def _require_symbol(self, symbol: str) -> None:
        self._check_symbol(symbol)
        if not any(self._version_files(symbol)) and not (self._dir(symbol) / _DECISIONS).exists():
            have = ", ".join(self.symbols()) or "none"
            raise UnknownSymbolError(f"no param sets for symbol {symbol!r}; known symbols: {have}")

    @staticmethod
    def _check_symbol(symbol: str) -> None:
        if symbol != "_invalid" and not re.match(SYMBOL_PATTERN, symbol):
            raise UnknownSymbolError(f"{symbol!r} is not a valid symbol name")


# -- helpers ---------------------------------------------------------------------------------


def current_code_version(repo: Path | None = None) -> str:
    """``<package version>+<git describe --always --dirty>``, for ``ParamSet.code_version``.

    Falls back to the package version alone outside a git checkout. It is part of the
    content hash, so the same code on the same data gives the same version.
    """
    try:
        package = metadata.version("mmcal")
    except metadata.PackageNotFoundError:
        package = "0+unknown"
    cwd = repo if repo is not None else Path(__file__).resolve().parent.parent
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=8"],
            cwd=cwd, capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return package
    return f"{package}+g{described}" if described else package


def _validated(document: ParamSet | Mapping[str, Any]) -> ParamSet:
    # Re-validate even a ParamSet: model_construct or model_copy(update=) skip validation.
    raw = document.model_dump() if isinstance(document, ParamSet) else document
    return ParamSet.model_validate(raw)
