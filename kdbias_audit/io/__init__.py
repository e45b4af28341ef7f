"""Prediction file format v1: spec, writer, streaming reader, run sets, parallel loading.

One Apache Parquet file per model per seed; a directory of such files is a *run set*; a directory
of run sets is a *sweep*. See ``docs/format.md`` for the user-facing description.

Modules, by layer: :mod:`.spec` (format constants, metadata checks), :mod:`.writer`,
:mod:`.reader` (one file, row-group streaming), :mod:`.listing` (the files of a run set, the
run sets under a root), :mod:`.runset` (``SeedRun``/``RunSet``, alignment checks),
:mod:`.loading` (many files, process pool, progress), :mod:`.convert`,
:mod:`.validate`. This package re-exports the names ``kdbias_audit.io`` always exported.
"""

from __future__ import annotations

from .listing import find_prediction_files, find_runsets
from .loading import load_runset, load_runsets
from .reader import read_predictions
from .runset import RunSet, SeedRun
from .spec import FORMAT_VERSION, GROUP_PREFIX, MAX_NUM_CLASSES, METADATA_KEY
from .writer import write_predictions

__all__ = [
    "FORMAT_VERSION",
    "METADATA_KEY",
    "MAX_NUM_CLASSES",
    "GROUP_PREFIX",
    "SeedRun",
    "RunSet",
    "write_predictions",
    "read_predictions",
    "load_runset",
    "load_runsets",
    "find_prediction_files",
    "find_runsets",
]
