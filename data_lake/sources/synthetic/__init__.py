"""The synthetic market with planted truth: config and defaults, price, order flow,
book and funding paths, the day generator and its truth document.
"""

from data_lake.sources.synthetic import generate as _generate
from data_lake.sources.synthetic.generate import *  # noqa: F403  (the package's public names)

__all__ = list(_generate.__all__)
