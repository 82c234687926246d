"""The synthetic market with planted truth: config and defaults, price, order flow,
book and funding paths, the day generator and its truth document.
"""

from data_lake.sources.synthetic.generate import (
    DEFAULT_MARKET,
    DEFAULT_START,
    DEFAULT_SYMBOLS,
    GROUND_TRUTH_VIEW,
    TABLE_NAMES,
    GenerateSummary,
    SymbolDay,
    SymbolState,
    generate_symbol_day,
    generate_to_lake,
    read_truth,
    write_book,
)

__all__ = [
    "DEFAULT_MARKET",
    "DEFAULT_START",
    "DEFAULT_SYMBOLS",
    "GROUND_TRUTH_VIEW",
    "TABLE_NAMES",
    "GenerateSummary",
    "SymbolDay",
    "SymbolState",
    "generate_symbol_day",
    "generate_to_lake",
    "read_truth",
    "write_book",
]
