"""Loading run sets: many files, optionally in a process pool, with a progress bar."""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..errors import KDAuditError
from .fs import Location, as_location
from .reader import MAX_READ_THREADS, read_predictions
from .runset import RunSet, SeedRun, check_aligned, check_runset_consistency, find_prediction_files

__all__ = ["load_runset", "load_runsets"]


def _read_one_stream(f: Location) -> SeedRun:
    return read_predictions(f, threads=1)


def read_many(files: Sequence[Location], *, jobs: int, progress: bool) -> list[SeedRun]:
    """Read files in order, with a rich progress bar on stderr.

    ``jobs == 1``: in this process, several files at once in threads (each file streamed by one
    thread; up to ``min(cpus, 4)`` files), so memory holds a few batches, never a file.
    ``jobs > 1``: in ``jobs`` processes.
    """
    if jobs < 1:
        raise KDAuditError(f"--jobs must be at least 1, got {jobs}")
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
        threads = min(os.cpu_count() or 1, MAX_READ_THREADS, len(files))
        if len(files) == 1 or (jobs == 1 and threads <= 1):
            out = []
            for f in files:
                out.append(read_predictions(f))
                if bar is not None:
                    bar.advance(task)
            return out
        if jobs == 1:
            from concurrent.futures import ThreadPoolExecutor

            threads_pool = ThreadPoolExecutor(max_workers=threads)
            try:
                out = []
                for run in threads_pool.map(_read_one_stream, files):
                    out.append(run)
                    if bar is not None:
                        bar.advance(task)
                return out
            finally:  # after an error, files not yet started are not read
                threads_pool.shutdown(wait=True, cancel_futures=True)
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
    paths : sequence of path-like or URL
        Run set directories (or single files), local or at fsspec URLs (``s3://...``,
        ``gs://...``, ``hf://...``, ``file://...``; see ``docs/remote.md``).
    jobs : int, default 1
        Processes used to read and reduce files in parallel (1: threads in this process,
        several files at once, each streamed).
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
        out.append(RunSet(as_location(p), tuple(chunk)))
    for rs in out[1:]:
        check_aligned(rs.runs[0], out[0].runs[0])
    return out
