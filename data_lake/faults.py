"""Named crash points for the fault-injection tests: a process SIGKILLs itself at one.

Code that changes durable state calls :func:`crash_point` with a name before and after
each step that matters (a partition rename, a catalog swap, a pointer move...). Outside
the fault tests nothing is set and a call costs one environment lookup.

``MMCAL_CRASH_AT="name:N"`` (several separated by commas) kills the process with
SIGKILL, the signal nothing can catch, on the N-th time (1-based) it reaches ``name``;
``name`` may end with ``*`` to match a prefix. ``MMCAL_CRASH_TRACE=<file>`` appends
each point reached, one name per line, so a test can list the points a run goes
through and then kill it at every one (tests/faults/).
"""

from __future__ import annotations

import os
import signal
from collections import Counter

__all__ = ["CRASH_AT_ENV", "CRASH_TRACE_ENV", "crash_point"]

CRASH_AT_ENV = "MMCAL_CRASH_AT"
CRASH_TRACE_ENV = "MMCAL_CRASH_TRACE"

_hits: Counter[str] = Counter()


def crash_point(name: str) -> None:
    """Die here (SIGKILL) when ``MMCAL_CRASH_AT`` names this point and hit count."""
    at = os.environ.get(CRASH_AT_ENV)
    trace = os.environ.get(CRASH_TRACE_ENV)
    if not at and not trace:
        return
    _hits[name] += 1
    if trace:
        with open(trace, "a") as fh:
            fh.write(name + "\n")
    if not at:
        return
    for target in at.split(","):
        pattern, _, count = target.strip().rpartition(":")
        matches = name.startswith(pattern[:-1]) if pattern.endswith("*") else name == pattern
        if matches and count.isdigit() and _total(pattern) == int(count):
            os.kill(os.getpid(), signal.SIGKILL)


def _total(pattern: str) -> int:
    if pattern.endswith("*"):
        return sum(n for k, n in _hits.items() if k.startswith(pattern[:-1]))
    return _hits[pattern]
