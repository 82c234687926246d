"""Storage: schemas, atomic partition writes, the DuckDB catalog, importers, param registry.

Importing the package registers every JSON-backed catalog view (param sets, quality
results, synthetic ground truth), so any `Lake.refresh()` creates all of them.
"""

from data_lake import quality_store as _quality_store  # noqa: F401  (quality_results)
from data_lake import registry as _params  # noqa: F401  (registers param_sets views)
from data_lake.sources.synthetic import truth as _synthetic_truth  # noqa: F401  (ground_truth)
