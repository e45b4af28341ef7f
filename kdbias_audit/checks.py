"""Argument checks and labels shared by several modules (public inside the package).

Modules whose names start with ``_`` are private to their package, and so are ``_names``
inside a module: no module imports another module's ``_private`` name. A helper that two
modules need lives here (or in its layer's module) under a plain name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InvalidArgumentError, KDAuditError

__all__ = [
    "check_alpha",
    "check_comparable",
    "check_jobs",
    "check_permutations",
    "printable",
    "where",
    "where_named",
    "RUNSET_AGREEING_KEYS",
]

#: Metadata two compared run sets must agree on where both give it.
RUNSET_AGREEING_KEYS = ("class_names", "positive_class")


def printable(text: Any) -> str:
    """``text`` as a string that can be encoded as UTF-8: a file name byte that is not UTF-8
    (kept by ``os.fsdecode`` as a lone surrogate) is shown as ``\\xff``."""
    s = str(text)
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


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


def _whole(value: Any) -> bool:
    """An int (numpy ints too), or a float with no fractional part; never a bool."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, np.integer)):
        return True
    return isinstance(value, (float, np.floating)) and float(value).is_integer()


def check_jobs(jobs: int, name: str = "jobs") -> int:
    """``jobs`` (worker processes) as an int of at least 1 (``2.5`` is refused, not cut)."""
    if not _whole(jobs) or int(jobs) < 1:
        raise InvalidArgumentError(
            f"{name} must be an integer of at least 1, got {jobs!r}", parameter=name
        )
    return int(jobs)


def check_permutations(permutations: int | None, name: str = "permutations") -> int | None:
    """``None`` (the default number of splits), 0 (no calibration) or a positive int.

    ``2.7`` is an error, never silently truncated to 2.
    """
    if permutations is None:
        return None
    if not _whole(permutations) or int(permutations) < 0:
        raise InvalidArgumentError(
            f"{name} must be 0 (no calibration) or a positive integer, got {permutations!r}",
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


def check_comparable(a: Any, b: Any) -> None:
    """Run sets ``a`` and ``b`` may enter one statistic together.

    Same sample ids in the same order (alignment by ``sample_id``), same labels, same number of
    classes, the same value of every group attribute both have, and no disagreement on
    ``class_names`` or ``positive_class`` where both give one. Every statistic that takes two
    run sets calls this, however they were built (``load_runset`` twice, ``from_arrays``), so
    that nothing is ever compared position by position over different samples.
    """
    if a is b:
        return
    wa, wb = where(a), where(b)
    if int(a.num_classes) != int(b.num_classes):
        raise KDAuditError(
            f"{wb}: has {b.num_classes} classes but {wa} has {a.num_classes}; "
            "compared run sets must have the same classes"
        )
    sa, sb = np.asarray(a.sample_id), np.asarray(b.sample_id)
    if (
        (sa.dtype == object) != (sb.dtype == object)
        or sa.shape != sb.shape
        or not np.array_equal(sa, sb)
    ):
        only_b = np.setdiff1d(sb, sa) if (sa.dtype == object) == (sb.dtype == object) else sb
        only_a = np.setdiff1d(sa, sb) if (sa.dtype == object) == (sb.dtype == object) else sa
        if only_b.size:
            detail = f"sample_id {only_b[0]} is only in {wb}"
        elif only_a.size:
            detail = f"sample_id {only_a[0]} is only in {wa}"
        else:
            detail = "same sample_id values in another order"
        raise KDAuditError(
            f"{wb}: covers different samples than {wa} ({sb.size} vs {sa.size} samples; "
            f"{detail}); run sets are aligned by sample_id (load them with load_runsets)"
        )
    la, lb = np.asarray(a.label), np.asarray(b.label)
    diff = np.flatnonzero(la != lb)
    if diff.size:
        i = int(diff[0])
        raise KDAuditError(f"{wb}: label of sample_id {sa[i]} is {lb[i]} here but {la[i]} in {wa}")
    shared = set(getattr(a, "group_attributes", ())) & set(getattr(b, "group_attributes", ()))
    for attr in sorted(shared):
        va = np.asarray(a.group_levels(attr), dtype=object)[np.asarray(a.group_codes(attr))]
        vb = np.asarray(b.group_levels(attr), dtype=object)[np.asarray(b.group_codes(attr))]
        diff = np.flatnonzero(va != vb)
        if diff.size:
            i = int(diff[0])
            raise KDAuditError(
                f"{wb}: group.{attr} of sample_id {sa[i]} is {vb[i]!r} here but {va[i]!r} in {wa}"
            )
    ma, mb = getattr(a, "metadata", None) or {}, getattr(b, "metadata", None) or {}
    for key in RUNSET_AGREEING_KEYS:
        x, y = ma.get(key), mb.get(key)
        if x is not None and y is not None and x != y:
            raise KDAuditError(
                f"{wb}: metadata {key} is {y!r} here but {x!r} in {wa}; run sets that disagree "
                "on it cannot be compared"[:400]
            )
