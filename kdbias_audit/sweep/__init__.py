"""Temperature sweeps: find the run sets of a sweep, give each its role, and audit them together.

A *sweep* is a directory of run sets (one directory of per-seed prediction files per model):
one teacher, one non-distilled student (NDS, role ``baseline``) and distilled students (DS,
role ``distilled``), one per softmax temperature ``T`` and, optionally, per distillation weight
``alpha`` (paper Table 7: each ``alpha`` forms its own block). Roles and temperatures come from
the file metadata (``role``, ``temperature``, ``alpha``); ``teacher=`` / ``baseline=``
override the metadata. Anything ambiguous is an error, never a guess.

:func:`analyze_sweep` loads every run set once (aligned by ``sample_id``), then computes per
model: seed accuracies, the class-wise test NDS vs DS (#SC) and teacher vs DS (#TC), the
disagreement teacher vs NDS and teacher vs DS, and group fairness where group columns exist.

Modules: :mod:`.discover` (find run sets and their roles from file footers), :mod:`.results`
(result types, frames, JSON), :mod:`.analyze` (:func:`analyze_sweep`). This package re-exports
the names ``kdbias_audit.sweep`` always exported.
"""

from __future__ import annotations

from .analyze import analyze_sweep
from .discover import DiscoveredRunSet, Role, SweepPlan, discover_sweep, find_runset_dirs
from .results import SweepResult, SweepRow

__all__ = [
    "Role",
    "DiscoveredRunSet",
    "SweepPlan",
    "SweepRow",
    "SweepResult",
    "discover_sweep",
    "analyze_sweep",
    "find_runset_dirs",
]
