"""Loading run sets: many files, optionally in a process pool, with a progress bar."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..checks import check_jobs
from .reader import read_predictions
from .runset import RunSet, SeedRun, check_aligned, check_runset_consistency, find_prediction_files

__all__ = ["load_runset", "load_runsets"]


def read_many(files: Sequence[Path], *, jobs: int, progress: bool) -> list[SeedRun]:
    """Read files in order, optionally in ``jobs`` processes, with a rich progress bar on stderr."""
    jobs = check_jobs(jobs)
    bar = None
    if progress and len(files) > 1:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        bar = Progress(
            TextColumn("reading"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        bar.start()
        task = bar.add_task("read", total=len(files))
    try:
        if jobs == 1 or len(files) == 1:
            out = []
            for f in files:
                out.append(read_predictions(f))
                if bar is not None:
                    bar.advance(task)
            return out
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(jobs, len(files))) as pool:
            out = []
            for run in pool.map(read_predictions, files):
                out.append(run)
                if bar is not None:
                    bar.advance(task)
            return out
    finally:
        if bar is not None:
            bar.stop()


def load_runset(path: str | os.PathLike[str], *, jobs: int = 1, progress: bool = False) -> RunSet:
    """Load a run set: a directory of prediction files (one per seed) or a single file."""
    return load_runsets([path], jobs=jobs, progress=progress)[0]


def load_runsets(
    paths: Sequence[str | os.PathLike[str]], *, jobs: int = 1, progress: bool = False
) -> list[RunSet]:
    """Load several run sets, aligned for comparison.

    Every file of every run set must cover the same sample ids with the same labels (and the
    same group values where an attribute is shared); otherwise a one-line
    :class:`PredictionFileError` names the offending file and the first difference.

    Parameters
    ----------
    paths : sequence of path-like
        Run set directories (or single files).
    jobs : int, default 1
        Processes used to read and reduce files in parallel.
    progress : bool, default False
        Show a progress bar (stderr) while files load.
    """
    per_set = [find_prediction_files(p) for p in paths]
    flat = [f for files in per_set for f in files]
    runs = read_many(flat, jobs=jobs, progress=progress)
    out: list[RunSet] = []
    i = 0
    for p, files in zip(paths, per_set, strict=False):
        chunk = runs[i : i + len(files)]
        i += len(files)
        check_runset_consistency(chunk)
        out.append(RunSet(Path(p), tuple(chunk)))
    for rs in out[1:]:
        check_aligned(rs.runs[0], out[0].runs[0])
    return out
