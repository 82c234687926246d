"""The param registry: immutable versioned param sets, the publish gate, ``latest``, rollback.

Layout under ``$MMCAL_HOME/params/<symbol>/`` (docs/architecture.md §5)::

    000001-3fa9c1e2.json   one immutable document per version (read-only, never rewritten)
    decisions.jsonl        append-only log: every publish, refusal and rollback, with reason
    LATEST                 the publish pointer {"symbol", "version", "published_at"}, atomic
    rejected/<hash>.json   documents refused before they could get a version (bad schema)
    .lock                  flock serialising writers of this symbol

A version is ``<sequence>-<hash8>``: the next integer for the symbol and the first 8 hex
digits of the content hash (:func:`data_lake.registry.document.content_hash`). Writing the
same content again returns the existing version. Submitting a candidate whose *fit*
equals the published set's (a rerun on the same data) writes nothing and logs
``unchanged`` (:meth:`ParamRegistry.submit`). Files are written to a temporary name,
fsynced, then hard-linked into place, so a reader sees the whole file or none, and an
existing version can never be overwritten. The pointer moves by ``os.replace``.

The publish gate (:meth:`ParamRegistry.submit`, :meth:`ParamRegistry.publish`) refuses a
set that fails schema or sanity bounds, was fitted or validated on partitions whose
blocking checks failed (or were never checked), or scores worse out of sample than the
current published set by more than :attr:`GateConfig.oos_margin_rel`, or trades the
held-out day worse than it beyond :attr:`GateConfig.backtest_margin_se` standard errors
(:func:`~data_lake.registry.gate.backtest_problems`). Every refusal is
logged with its reason. The loader re-validates every document and its hash, so a
corrupt or out-of-bounds file on disk is refused with the file named.

No Dagster here: the trader imports this module.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from data_lake.catalog import refresh_catalog
from data_lake.paths import LakePaths
from data_lake.registry import log as param_log
from data_lake.registry.code_version import current_code_version
from data_lake.registry.document import (
    SYMBOL_PATTERN,
    ParamSet,
    ParamStatus,
    content_hash,
    fit_hash,
    json_safe,
)
from data_lake.registry.errors import (
    CorruptParamSetError,
    ParamRegistryError,
    RollbackError,
    UnknownSymbolError,
    UnknownVersionError,
)
from data_lake.registry.files import FileExistsImmutableError, create_once, locked_directory
from data_lake.registry.gate import Decision, GateConfig, describe_validation_error, gate_problems
from data_lake.registry.log import REJECTED_DIR, VersionInfo

# Re-exported so callers keep importing everything from here; importing param_log (above)
# registers the param_sets / param_decisions / param_latest DuckDB views.
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
            and param_log.has_history(d)
        )

    def version_ids(self, symbol: str) -> list[str]:
        """Every version of a symbol, oldest first (empty if none)."""
        return param_log.version_ids(self.root / symbol)

    def latest_version(self, symbol: str) -> str | None:
        """The version ``LATEST`` names, or None if nothing was published. Cheap: one read."""
        return param_log.read_pointer(self._dir(symbol))

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
        return param_log.version_path(self._dir(symbol), version)

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

    def published(self, symbol: str) -> ParamSet | None:
        """The symbol's current set (``LATEST``), or None when it has none yet."""
        try:
            return self.load(symbol, LATEST)
        except (UnknownSymbolError, UnknownVersionError):
            return None

    def decisions(self, symbol: str) -> list[Decision]:
        """The symbol's decisions log, oldest first. A torn last line (crash) is skipped."""
        return param_log.read_decisions(self._dir(symbol))

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
        """Validate, store, gate and (if it passes) publish a candidate; every verdict logged.

        A document that fails the schema or bounds gets no version: it is kept as
        ``rejected/<hash8>.json`` and the decision names that file.

        A rerun on the same data publishes nothing new: when the candidate's fit
        (:func:`~data_lake.registry.document.fit_hash`: everything but version, created_at,
        status, reason and validation) equals the published set's, nothing is written,
        ``latest`` stays, and the log records ``unchanged`` naming that version. When it
        equals a set that was rolled back from (and not republished since), it is refused
        as ``rolled_back``: a rollback sticks until the data or the code change, or
        :meth:`rollback` republishes that version on purpose.
        """
        try:
            doc = _validated(document)
        except ValidationError as exc:
            decision = self._reject_invalid(document, exc)
            self._refresh_catalog()
            return decision
        with self._locked(doc.symbol):
            self._recover_log_locked(doc.symbol)
            same = self._same_fit_locked(doc)
            if same is None:
                decision = self._publish_locked(doc.symbol, self._write_locked(doc))
            else:
                param_log.append_decision(self._dir(doc.symbol), same)
                decision = same
        self._refresh_catalog()
        return decision

    def publish(self, symbol: str, version: str) -> Decision:
        """Run the gate on an already-written version and publish it if it passes."""
        resolved = self.resolve(symbol, version)
        with self._locked(symbol):
            self._recover_log_locked(symbol)
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
            self._recover_log_locked(symbol)
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
            param_log.move_pointer(self._dir(symbol), symbol, resolved)
            decision = Decision(
                symbol, resolved, ParamStatus.PUBLISHED, "rollback",
                f"rollback from {current}: {reason}", event="rollback", previous=current,
            )
            param_log.append_decision(self._dir(symbol), decision)
        self._refresh_catalog()
        return decision

    # -- internals (callers hold the symbol's lock) ----------------------------------------

    def _recover_log_locked(self, symbol: str) -> None:
        """Log a pointer move whose decision was lost (its writer died in between).

        Publishing moves ``LATEST`` first and logs second; a process killed between the
        two leaves a pointer the log does not explain. The next writer records it.
        """
        try:
            latest = self.latest_version(symbol)
        except CorruptParamSetError:
            return
        if latest is None:
            return
        moves = [d for d in self.decisions(symbol)
                 if d.accepted and d.code in ("published", "rollback", "recovered")]
        last = moves[-1].version if moves else None
        if last == latest:
            return
        decision = Decision(
            symbol, latest, ParamStatus.PUBLISHED, "recovered",
            f"LATEST names {latest} but the log's last publish is {last or 'none'}: the "
            "process that moved the pointer died before logging it; recorded now",
            event="recovery", previous=last,
        )
        param_log.append_decision(self._dir(symbol), decision)
        log.warning("%s: %s", symbol, decision.reason)

    def _same_fit_locked(self, doc: ParamSet) -> Decision | None:
        """``unchanged`` / ``rolled_back`` when the candidate's fit already has a version."""
        symbol = doc.symbol
        try:
            latest = self.latest_version(symbol)
        except CorruptParamSetError:
            latest = None
        digest = fit_hash(doc)
        if latest is not None and self._fit_hash_of(symbol, latest) == digest:
            return Decision(
                symbol, latest, ParamStatus.PUBLISHED, "unchanged",
                f"same fit as the published {latest} (quoting, models, window, partitions "
                f"and their checks, code {doc.code_version}); nothing written, latest "
                "unchanged", previous=latest,
            )
        for version, rollback in self._rolled_back_from(symbol).items():
            if version != latest and self._fit_hash_of(symbol, version) == digest:
                return Decision(
                    symbol, version, ParamStatus.REJECTED, "rolled_back",
                    f"same fit as {version}, which was rolled back from on "
                    f"{rollback.decided_at:%Y-%m-%d %H:%M} UTC ({rollback.reason}); not "
                    "republished: new data or code gives a new candidate, or `trader params "
                    f"rollback {symbol} {version}` republishes it on purpose",
                    previous=latest,
                )
        return None

    def _fit_hash_of(self, symbol: str, version: str) -> str | None:
        try:
            return fit_hash(self._read_document(symbol, version))
        except CorruptParamSetError:
            return None

    def _rolled_back_from(self, symbol: str) -> dict[str, Decision]:
        """Versions a rollback moved ``latest`` away from, not republished since."""
        away: dict[str, Decision] = {}
        for d in self.decisions(symbol):
            if d.accepted and d.code in ("published", "rollback") and d.version is not None:
                away.pop(d.version, None)
            if d.event == "rollback" and d.previous is not None:
                away[d.previous] = d
        return away

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
            param_log.move_pointer(self._dir(symbol), symbol, version)
            decision = Decision(
                symbol, version, ParamStatus.PUBLISHED, "published",
                "; ".join(["passed the gate", *notes]), previous=current_version,
            )
        param_log.append_decision(self._dir(symbol), decision)
        return decision

    def _reject_invalid(
        self, document: ParamSet | Mapping[str, Any], exc: ValidationError
    ) -> Decision:
        raw = document.model_dump(mode="json") if isinstance(document, ParamSet) else dict(document)
        raw = json_safe(raw)  # a refused document may hold what orjson cannot write
        symbol = raw.get("symbol")
        if not isinstance(symbol, str) or not re.match(SYMBOL_PATTERN, symbol):
            symbol = "_invalid"  # cannot be a real symbol: the pattern forbids a leading '_'
        code, reason = describe_validation_error(exc)
        name = f"{REJECTED_DIR}/{content_hash(raw)[:8]}.json"
        with self._locked(symbol):
            path = self._dir(symbol) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                opts = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
                create_once(path, orjson.dumps(raw, default=str, option=opts))
            decision = Decision(symbol, None, ParamStatus.REJECTED, code, reason, document=name,
                                previous=None)
            param_log.append_decision(self._dir(symbol), decision)
        return decision

    def _read_document(self, symbol: str, version: str) -> ParamSet:
        return param_log.read_document(self._dir(symbol), symbol, version)

    def _statuses(self, symbol: str) -> dict[str, tuple[ParamStatus, str | None]]:
        """Each version's current status: its last decision; the pointer's target is published."""
        decisions = self.decisions(symbol)
        try:
            latest = self.latest_version(symbol)
        except CorruptParamSetError:
            latest = None
        return param_log.statuses(decisions, latest)

    def _status_of(self, symbol: str, version: str) -> tuple[ParamStatus, str | None]:
        return self._statuses(symbol).get(version, (ParamStatus.CANDIDATE, None))

    def _locked(self, symbol: str) -> contextlib.AbstractContextManager[None]:
        return locked_directory(self._dir(symbol), sweep=(".", REJECTED_DIR))

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

    def _require_symbol(self, symbol: str) -> None:
        self._check_symbol(symbol)
        if not param_log.has_history(self.root / symbol):
            have = ", ".join(self.symbols()) or "none"
            raise UnknownSymbolError(f"no param sets for symbol {symbol!r}; known symbols: {have}")

    @staticmethod
    def _check_symbol(symbol: str) -> None:
        if symbol != "_invalid" and not re.match(SYMBOL_PATTERN, symbol):
            raise UnknownSymbolError(f"{symbol!r} is not a valid symbol name")


def _validated(document: ParamSet | Mapping[str, Any]) -> ParamSet:
    # Re-validate even a ParamSet: model_construct or model_copy(update=) skip validation.
    raw = document.model_dump() if isinstance(document, ParamSet) else document
    return ParamSet.model_validate(raw)
