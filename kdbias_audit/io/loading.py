"""Loading run sets: many files, optionally in a process pool, with a progress bar."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

from ..checks import check_jobs
from ..errors import InvalidArgumentError, KDAuditError
from .fs import Location, RemotePath, as_location
from .listing import find_prediction_files
from .reader import read_predictions
from .runset import RunSet, SeedRun, check_aligned, check_runset_consistency

__all__ = ["load_runset", "load_runsets"]


#: Remote files read at once (threads) when ``jobs == 1``.
REMOTE_FILES_IN_FLIGHT = 8


def _read_streamed(f: Location) -> SeedRun:
    return read_predictions(f, threads=1)


def read_many(files: Sequence[Location], *, jobs: int, progress: bool) -> list[SeedRun]:
    """Read files in order, with a rich progress bar on stderr.

    ``jobs == 1``: one file after the other in this process, each streamed (its row groups
    decoded in parallel threads), so memory holds a few batches, never a file; remote files
    up to ``REMOTE_FILES_IN_FLIGHT`` at once (threads), since round trips dominate.
    ``jobs > 1``: files in ``jobs`` processes, each streamed the same way.
    """
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
        if jobs == 1 and len(files) > 1 and any(isinstance(f, RemotePath) for f in files):
            # remote files: the time goes to round trips, so several files are in flight at
            # once (each streamed by one thread; memory holds a few batches per file)
            from concurrent.futures import ThreadPoolExecutor

            threads = ThreadPoolExecutor(max_workers=min(REMOTE_FILES_IN_FLIGHT, len(files)))
            try:
                out = []
                for run in threads.map(_read_streamed, files):
                    out.append(run)
                    if bar is not None:
                        bar.advance(task)
                return out
            finally:  # after an error, files not yet started are not read
                threads.shutdown(wait=True, cancel_futures=True)
        if jobs == 1 or len(files) == 1:
            out = []
            for f in files:
                out.append(read_predictions(f))
                if bar is not None:
                    bar.advance(task)
            return out
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        out = []
        try:
            with ProcessPoolExecutor(max_workers=min(int(jobs), len(files))) as pool:
                for run in pool.map(read_predictions, files):
                    out.append(run)
                    if bar is not None:
                        bar.advance(task)
                return out
        except BrokenProcessPool:
            raise KDAuditError(
                f"{files[len(out)] if len(out) < len(files) else files[-1]}: the process reading "
                "it died (out of memory?); read with one process (jobs=1)"
            ) from None
    finally:
        if bar is not None:
            bar.stop()


def load_runset(
    path: str | os.PathLike[str] | Location, *, jobs: int = 1, progress: bool = False
) -> RunSet:
    """Load a run set: a directory of prediction files (one per seed) or a single file."""
    return load_runsets([path], jobs=jobs, progress=progress)[0]


def load_runsets(
    paths: Sequence[str | os.PathLike[str] | Location], *, jobs: int = 1, progress: bool = False
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
        Processes used to read and reduce files in parallel (1: in this process, one file at
        a time, its row groups decoded in parallel threads).
    progress : bool, default False
        Show a progress bar (stderr) while files load.
    """
    if isinstance(paths, (str, bytes, os.PathLike)):
        raise InvalidArgumentError(
            f"paths={os.fsdecode(paths)!r}: load_runsets takes a list of paths; use load_runset "
            "for one run set",
            parameter="paths",
        )
    paths = list(paths)
    per_set = [find_prediction_files(p) for p in paths]
    flat = [f for files in per_set for f in files]
    runs = read_many(flat, jobs=jobs, progress=progress)
    chunks: list[list[SeedRun]] = []
    i = 0
    for files in per_set:
        chunk = runs[i : i + len(files)]
        i += len(files)
        check_runset_consistency(chunk)
        chunks.append(chunk)
    ref = chunks[0][0]
    for chunk in chunks[1:]:
        check_aligned(chunk[0], ref)
    # aligned: every run has ref's sample ids and labels; keep one copy of them, not one per file
    return [
        RunSet(
            as_location(p), tuple(replace(r, sample_id=ref.sample_id, label=ref.label) for r in c)
        )
        for p, c in zip(paths, chunks, strict=True)
    ]
