"""Where prediction files live: local paths, or URLs of fsspec filesystems.

A location is either a :class:`pathlib.Path` (local files, ``file://`` URLs included) or a
:class:`RemotePath` (``s3://bucket/sweep``, ``gs://...``, ``hf://datasets/...``, any protocol
fsspec knows). Remote files are opened through fsspec and read by pyarrow's Parquet reader with
column projection, so only the needed column chunks travel. Credentials come from each
filesystem's own environment and configuration (``AWS_*`` variables and ``~/.aws``,
``GOOGLE_APPLICATION_CREDENTIALS``, ``HF_TOKEN``, fsspec's config files), never from the command
line.

Every failure becomes one line naming the URL: a missing object ("does not exist"), an
unreachable server or refused credentials ("cannot be read: ...").
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import PredictionFileError

__all__ = [
    "RemotePath",
    "Location",
    "as_location",
    "is_url",
    "kind",
    "exists",
    "is_file",
    "list_parquet",
    "find_parquet_dirs",
    "open_input",
    "remote_error",
    "REMOTE_BLOCK_SIZE",
]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
#: Read size of remote files (pyarrow's stream buffer): one request per 4 MiB of a column chunk.
REMOTE_BLOCK_SIZE = 4 << 20


class RemotePath:
    """A file or directory on an fsspec filesystem; ``str()`` gives its URL.

    It has the few :class:`~pathlib.Path` attributes the audit uses (``name``, ``stem``,
    ``suffix``, ``parent``, ``/``), so run sets and results carry it like a local path.
    """

    __slots__ = ("url",)
    url: str

    def __init__(self, url: str) -> None:
        scheme, rest = url.split("://", 1)
        rest = rest.rstrip("/")
        object.__setattr__(self, "url", f"{scheme.lower()}://{rest}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("RemotePath is immutable")

    def __reduce__(self) -> tuple[Any, tuple[str]]:  # pickled for --jobs worker processes
        return (RemotePath, (self.url,))

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"RemotePath({self.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemotePath) and other.url == self.url

    def __lt__(self, other: RemotePath) -> bool:
        return self.url < other.url

    def __hash__(self) -> int:
        return hash(self.url)

    def __truediv__(self, other: str) -> RemotePath:
        return RemotePath(f"{self.url}/{other}")

    @property
    def protocol(self) -> str:
        return self.url.split("://", 1)[0]

    @property
    def name(self) -> str:
        return PurePosixPath(self.url.split("://", 1)[1]).name

    @property
    def stem(self) -> str:
        return PurePosixPath(self.name).stem

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix

    @property
    def parent(self) -> RemotePath:
        head = self.url.rsplit("/", 1)[0]
        return self if head.endswith(":/") else RemotePath(head)

    def resolve(self) -> RemotePath:
        return self


Location = Path | RemotePath


def is_url(value: Any) -> bool:
    """True for ``scheme://...`` strings and :class:`RemotePath` objects."""
    return isinstance(value, RemotePath) or (isinstance(value, str) and bool(_URL.match(value)))


def as_location(value: str | os.PathLike[str] | RemotePath) -> Location:
    """A local :class:`Path` (``file://`` URLs included) or a :class:`RemotePath`."""
    if isinstance(value, (Path, RemotePath)):
        return value
    if isinstance(value, str) and _URL.match(value):
        parts = urlsplit(value)
        if parts.scheme.lower() in ("file", "local"):
            return Path(unquote(parts.netloc + parts.path) if parts.netloc else unquote(parts.path))
        return RemotePath(value)
    return Path(value)


def _filesystem(loc: RemotePath) -> tuple[Any, str]:
    try:
        import fsspec
    except ImportError:
        raise PredictionFileError(
            loc, "reading URLs needs fsspec (pip install 'kdbias-audit[remote]')"
        ) from None
    try:
        return fsspec.core.url_to_fs(loc.url)
    except (ImportError, ValueError) as exc:  # protocol unknown or its package missing
        raise PredictionFileError(loc, f"cannot open this URL: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def remote_error(loc: RemotePath, exc: BaseException) -> PredictionFileError:
    """The one-line error for a failed remote operation on ``loc``."""
    if isinstance(exc, FileNotFoundError):
        return PredictionFileError(loc, "does not exist")
    if isinstance(exc, PermissionError):
        return PredictionFileError(loc, f"access denied: {_first_line(exc)}")
    return PredictionFileError(loc, f"cannot be read: {_first_line(exc)}")


def _info(loc: RemotePath) -> dict[str, Any] | None:
    fs, path = _filesystem(loc)
    try:
        return fs.info(path)
    except FileNotFoundError:
        return None
    except Exception as exc:  # network errors come in many library-specific types
        raise remote_error(loc, exc) from None


def kind(loc: Location) -> str | None:
    """``"file"``, ``"directory"`` (or another kind of entry), or None when ``loc`` does not exist."""
    if isinstance(loc, Path):
        if not loc.exists():
            return None
        return "file" if loc.is_file() else "directory" if loc.is_dir() else "other"
    info = _info(loc)
    return None if info is None else str(info.get("type", "other"))


def exists(loc: Location) -> bool:
    return kind(loc) is not None


def is_file(loc: Location) -> bool:
    return kind(loc) == "file"


def _is_prediction_name(name: str) -> bool:
    return name.endswith(".parquet") and not name.startswith(".")


def list_parquet(loc: Location) -> list[Location]:
    """The ``*.parquet`` files directly in directory ``loc`` (sorted, hidden files skipped)."""
    if isinstance(loc, Path):
        return sorted(p for p in loc.iterdir() if _is_prediction_name(p.name) and p.is_file())
    fs, path = _filesystem(loc)
    try:
        entries = fs.ls(path, detail=True)
    except Exception as exc:
        raise remote_error(loc, exc) from None
    names = sorted(
        PurePosixPath(e["name"]).name
        for e in entries
        if e.get("type") == "file" and _is_prediction_name(PurePosixPath(e["name"]).name)
    )
    return [loc / n for n in names]


def find_parquet_dirs(root: Location) -> list[Location]:
    """Every directory at or below ``root`` that directly holds ``*.parquet`` files (sorted;
    hidden directories skipped)."""
    found: list[Location] = []
    if isinstance(root, Path):
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            if any(_is_prediction_name(f) for f in filenames):
                found.append(Path(dirpath))
        return sorted(found)
    fs, path = _filesystem(root)
    try:
        files = fs.find(path, withdirs=False)
    except Exception as exc:
        raise remote_error(root, exc) from None
    base = PurePosixPath(path)
    dirs = set()
    for f in files:
        rel = (
            PurePosixPath(f).relative_to(base)
            if f != path
            else PurePosixPath(PurePosixPath(f).name)
        )
        if not _is_prediction_name(rel.name) or any(p.startswith(".") for p in rel.parts[:-1]):
            continue
        dirs.add(rel.parent)
    return sorted(root if str(d) == "." else root / d.as_posix() for d in dirs)


def open_input(loc: Location) -> Any:
    """What pyarrow opens: a local path string, or an fsspec file without a cache of its own.

    pyarrow asks for exactly the byte ranges it needs (the footer, then the projected column
    chunks in pieces of its read buffer), so a read-ahead cache would only fetch bytes of
    columns that are never read.
    """
    if isinstance(loc, Path):
        return str(loc)
    fs, path = _filesystem(loc)
    try:
        return fs.open(path, "rb", cache_type="none")
    except Exception as exc:
        raise remote_error(loc, exc) from None
