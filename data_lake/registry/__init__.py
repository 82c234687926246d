"""The param-set registry: the pydantic document, the publish gate, immutable version
files, the decisions log and the LATEST pointer.
"""

from data_lake.registry import registry as _registry
from data_lake.registry.registry import *  # noqa: F403  (the package's public names)

__all__ = list(_registry.__all__)
