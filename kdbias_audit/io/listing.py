"""The files of a run set and the run sets under a root: listing, local or remote.

Nothing is ever skipped silently: a ``*.parquet`` entry that is a broken link, a link loop, a
directory or anything but a readable regular file is a :class:`PredictionFileError`.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from ..errors import PredictionFileError
from .fs import Location, RemotePath, as_location, find_parquet_dirs, kind, list_parquet

__all__ = ["find_prediction_files", "find_runsets", "candidate_files", "check_entry"]


def _is_candidate(name: str) -> bool:
    return name.endswith(".parquet") and not name.startswith(".")


def check_entry(p: Path) -> None:
    """A ``*.parquet`` entry of a run set must be a readable regular file (links followed):
    never skipped silently, whatever else it is."""
    try:
        p.stat()  # follows links: fails on a broken link or a loop
    except OSError as exc:
        if p.is_symlink():
            try:
                target = os.readlink(p)
            except OSError:
                target = "?"
            what = "a symbolic link loop" if exc.errno == errno.ELOOP else "a broken symbolic link"
            raise PredictionFileError(p, f"is {what} (to {target})") from None
        raise PredictionFileError(p, f"cannot be accessed: {exc.strerror or exc}") from None
    if p.is_dir():
        raise PredictionFileError(
            p,
            "is a directory, not a prediction file (partitioned Parquet datasets are not "
            "supported: write one file per seed)",
        )
    if not p.is_file():
        raise PredictionFileError(p, "is not a regular file")


def candidate_files(path: str | os.PathLike[str]) -> list[Path]:
    """Every ``*.parquet`` entry of a run-set directory (names starting with ``.`` ignored),
    sorted, whatever each entry is; a path that is not a directory is its own only entry."""
    path = Path(path)
    if not os.path.lexists(path):
        raise PredictionFileError(path, "does not exist")
    if not path.is_dir():
        return [path]
    try:
        names = sorted(e.name for e in os.scandir(path) if _is_candidate(e.name))
    except OSError as exc:
        raise PredictionFileError(path, f"cannot be listed: {exc.strerror or exc}") from None
    if not names:
        raise PredictionFileError(path, "contains no prediction files (*.parquet)")
    return [path / n for n in names]


def find_prediction_files(path: str | os.PathLike[str] | Location) -> list[Location]:
    """The prediction files of a run set: the file itself, or the ``*.parquet`` entries of a
    directory (names starting with ``.`` are ignored).

    Valid symbolic links are followed. No entry is ever skipped: a broken link, a link loop, a
    directory or anything else that is not a file named ``*.parquet`` is a
    :class:`PredictionFileError`.
    """
    loc = as_location(path)  # s3://, gs://, hf://, ... (docs/remote.md); file:// is local
    if isinstance(loc, RemotePath):
        return _remote_files(loc)
    files = candidate_files(loc)
    for f in files:
        check_entry(f)
    return list(files)


def _remote_files(loc: RemotePath) -> list[Location]:
    what = kind(loc)
    if what is None:
        raise PredictionFileError(loc, "does not exist")
    if what == "file":
        return [loc]
    files = list_parquet(loc)
    if not files:
        raise PredictionFileError(loc, "contains no prediction files (*.parquet)")
    return files


def find_runsets(root: str | os.PathLike[str] | Location) -> list[Location]:
    """Run set locations under ``root``: a file, a run set directory, or every directory below
    ``root`` (recursively, sorted, hidden directories skipped) that directly holds ``*.parquet``
    entries.

    Symbolic links to directories are followed (a linked run set is a run set), each real
    directory visited once, so a link loop ends the walk instead of repeating it.
    """
    loc = as_location(root)  # s3://, gs://, hf://, ... (docs/remote.md); file:// is local
    if isinstance(loc, RemotePath):
        what = kind(loc)
        if what is None:
            raise PredictionFileError(loc, "does not exist")
        if what == "file":
            return [loc]
        dirs = find_parquet_dirs(loc)
        if not dirs:
            raise PredictionFileError(loc, "contains no prediction files (*.parquet)")
        return dirs
    root = loc
    if not os.path.lexists(root):
        raise PredictionFileError(root, "does not exist")
    if not root.is_dir():
        check_entry(root)
        return [root]
    found: list[Location] = []
    seen: set[tuple[int, int]] = set()

    def walk(d: Path) -> None:
        try:
            st = d.stat()
        except OSError:
            return
        if (st.st_dev, st.st_ino) in seen:
            return
        seen.add((st.st_dev, st.st_ino))
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as exc:
            raise PredictionFileError(d, f"cannot be listed: {exc.strerror or exc}") from None
        if any(_is_candidate(e.name) for e in entries):
            found.append(d)
        for e in entries:
            if e.name.startswith(".") or _is_candidate(e.name):
                continue
            try:
                is_dir = e.is_dir()  # follows links
            except OSError:
                is_dir = False
            if is_dir:
                walk(d / e.name)

    walk(root)
    found.sort()
    if not found:
        raise PredictionFileError(root, "contains no prediction files (*.parquet)")
    return found
