"""Argument checks and labels shared by several modules (public inside the package).

Modules whose names start with ``_`` are private to their package, and so are ``_names``
inside a module: no module imports another module's ``_private`` name. A helper that two
modules need lives here (or in its layer's module) under a plain name.
"""

from __future__ import annotations

from typing import Any

from .errors import InvalidArgumentError

__all__ = ["check_alpha", "check_jobs", "check_permutations", "where", "where_named"]


def check_alpha(alpha: float, name: str = "alpha") -> float:
    """``alpha`` as a float in the open interval (0, 1); otherwise an
    :class:`~kdbias_audit.errors.InvalidArgumentError` naming the parameter ``name``."""
    try:
        value = float(alpha)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"{name} must be a number in (0, 1); got {alpha!r}", parameter=name
        ) from None
    if not (0.0 < value < 1.0):
        raise InvalidArgumentError(f"{name} must be in (0, 1); got {value}", parameter=name)
    return value


def check_jobs(jobs: int, name: str = "jobs") -> int:
    """``jobs`` (worker processes) as an int of at least 1."""
    if isinstance(jobs, bool) or int(jobs) < 1:
        raise InvalidArgumentError(f"{name} must be at least 1, got {jobs}", parameter=name)
    return int(jobs)


def check_permutations(permutations: int | None, name: str = "permutations") -> int | None:
    """``None`` (the default number of splits), 0 (no calibration) or a positive int."""
    if permutations is None:
        return None
    if isinstance(permutations, bool) or int(permutations) < 0:
        raise InvalidArgumentError(
            f"{name} must be 0 (no calibration) or a positive integer, got {permutations}",
            parameter=name,
        )
    return int(permutations)


def where(runset: Any) -> str:
    """A run set's label in messages: its path, else ``"run set '<name>'"``, else ``"run set"``.

    >>> from types import SimpleNamespace as NS
    >>> where(NS(path="runs/ds_T4", name="ds_T4")), where(NS(path=None, name="ds_T4"))
    ('runs/ds_T4', "run set 'ds_T4'")
    """
    path = getattr(runset, "path", None)
    if path is not None:
        return str(path)
    name = getattr(runset, "name", None)
    return "run set" if name is None else f"run set '{name}'"


#: The former name of :func:`where` in fairness messages (one label style now).
where_named = where
