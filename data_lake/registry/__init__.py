"""The param-set registry: the pydantic document, the publish gate, immutable version
files, the decisions log and the LATEST pointer.
"""

from data_lake.registry.registry import (
    LATEST,
    CorruptParamSetError,
    Decision,
    GateConfig,
    ParamRegistry,
    ParamRegistryError,
    ParamSet,
    ParamStatus,
    RollbackError,
    UnknownSymbolError,
    UnknownVersionError,
    VersionInfo,
    current_code_version,
)

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
