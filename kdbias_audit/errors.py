"""Exceptions and warnings of kdbias-audit.

Every error message is one line and, where a file is involved, starts with that file's path,
so the CLI can print it as it is and tests can assert on it.
"""

from __future__ import annotations

from os import PathLike
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .io.fs import RemotePath


class KDAuditError(Exception):
    """Base class of every error this package raises on bad input."""


class PredictionFileError(KDAuditError):
    """A prediction file (or run set) breaks a rule of format v1.

    ``str(error)`` is ``"<path>: <problem>"``.
    """

    def __init__(self, path: str | PathLike[str] | RemotePath, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self) -> tuple[type[PredictionFileError], tuple[str, str]]:
        # Rebuilt from (path, problem), not from the message: errors raised in worker processes
        # (``--jobs``) cross back to the parent intact instead of breaking the process pool.
        return (type(self), (self.path, self.problem))


class DegenerateDataWarning(RuntimeWarning):
    """Data that is valid but leaves a quantity undefined (0/0, an empty group, zero variance).

    The quantity is reported as NaN and never silently replaced by 0.
    """


class InvalidArgumentError(KDAuditError, ValueError):
    """An invalid argument to a library function (a ``ValueError`` too, as in fairlearn).

    Library messages name parameters as they are written in a call, never command-line flags:
    a message about one argument starts with its name (``"jobs must be at least 1, got 0"``;
    ``parameter`` then holds that name), and a message that suggests an argument writes it as
    ``name=value`` (``"use pairing='all'"``). The CLI turns both forms into its flags in one
    place (``kdbias_audit.cli._common.cli_message``).
    """

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        self.parameter = parameter
        super().__init__(message)
