"""The errors the param registry raises (:mod:`data_lake.registry`), each meant for a person."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "CorruptParamSetError",
    "ParamRegistryError",
    "RollbackError",
    "UnknownSymbolError",
    "UnknownVersionError",
]


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
