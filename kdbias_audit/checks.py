"""Argument checks and labels shared by several modules (public inside the package).

Modules whose names start with ``_`` are private to their package, and so are ``_names``
inside a module: no module imports another module's ``_private`` name. A helper that two
modules need lives here (or in its layer's module) under a plain name.
"""

from __future__ import annotations

from typing import Any

from .errors import KDAuditError

__all__ = ["check_alpha", "where", "where_named"]


def check_alpha(alpha: float, name: str = "alpha") -> float:
    """``alpha`` as a float in the open interval (0, 1); otherwise a :class:`KDAuditError`."""
    alpha = float(alpha)
    if not (0.0 < alpha < 1.0):
        raise KDAuditError(f"{name} must be in (0, 1); got {alpha}")
    return alpha


def where(rs: Any) -> str:
    """A run set's label in messages: its path, else its name, else ``"run set"``."""
    path = getattr(rs, "path", None)
    return str(path) if path is not None else str(getattr(rs, "name", "run set"))


def where_named(runset: Any) -> str:
    """A run set's label in fairness messages: its path, else ``"run set '<name>'"``."""
    path = getattr(runset, "path", None)
    return str(path) if path is not None else f"run set '{getattr(runset, 'name', '?')}'"
