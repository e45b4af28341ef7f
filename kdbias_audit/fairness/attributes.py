"""Sensitive attributes of a run set: which attributes (and intersections) to audit, the
positive class of a binary audit and the group code of every sample."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..checks import where
from ..errors import InvalidArgumentError, KDAuditError
from .counts import INTERSECTION_SEP, as_codes, intersect_codes

__all__ = ["parse_sensitive", "resolve_positive", "attribute_codes"]


def parse_sensitive(
    sensitive: Sequence[str] | str | None, available: Sequence[str], *, where: str = "run set"
) -> list[tuple[str, tuple[str, ...]]]:
    """Resolve ``sensitive`` entries into ``(key, components)`` pairs.

    An entry is an attribute name (``"young"``; a ``group.`` prefix is accepted) or an
    intersection written ``"young&male"`` (``"young,male"`` means the same). ``None``: every
    available attribute separately. The key of an intersection is its components joined by
    ``&`` in the order given.

    Attribute names are literal: an entry that is exactly the name of an available attribute
    (``"a&b"``, ``"a,b"``, ``" x "``, ``"group.x"``), or that name behind one ``group.`` prefix,
    is that attribute; only other text is parsed as the syntax above. The default (``None``)
    never parses anything.
    """
    available = tuple(available)
    if sensitive is None:
        return [(a, (a,)) for a in available]
    if isinstance(sensitive, str):
        sensitive = [sensitive]
    if len(sensitive) == 0:  # an empty selection means the default, as None does
        return [(a, (a,)) for a in available]
    out: list[tuple[str, tuple[str, ...]]] = []
    for entry in sensitive:
        literal = _literal_attribute(str(entry), available)
        if literal is not None:
            if literal not in (k for k, _ in out):
                out.append((literal, (literal,)))
            continue
        parts = [
            p.strip() for p in str(entry).replace(",", INTERSECTION_SEP).split(INTERSECTION_SEP)
        ]
        parts = [p[len("group.") :] if p.startswith("group.") else p for p in parts]
        if not parts or any(not p for p in parts):
            raise InvalidArgumentError(
                f"sensitive: empty attribute name in {entry!r}", parameter="sensitive"
            )
        if len(set(parts)) != len(parts):
            raise InvalidArgumentError(
                f"sensitive: attribute repeated in {entry!r}", parameter="sensitive"
            )
        for p in parts:
            if p not in available:
                has = ", ".join(available) if available else "none"
                raise KDAuditError(f"{where}: no group attribute '{p}' (group attributes: {has})")
        key = INTERSECTION_SEP.join(parts)
        if key not in (k for k, _ in out):
            out.append((key, tuple(parts)))
    return out


def _literal_attribute(entry: str, available: tuple[str, ...]) -> str | None:
    if entry in available:
        return entry
    if entry.startswith("group.") and entry[len("group.") :] in available:
        return entry[len("group.") :]
    return None


def resolve_positive(runset: Any, positive_class: int | None) -> int:
    k = int(runset.num_classes)
    if positive_class is None:
        meta = getattr(runset, "positive_class", None)
        if meta is None:
            meta = (getattr(runset, "metadata", None) or {}).get("positive_class")
        positive_class = 1 if meta is None else meta
        origin = "metadata positive_class" if meta is not None else "default positive class"
    else:
        origin = "positive_class"
    if isinstance(positive_class, bool) or not isinstance(positive_class, (int, np.integer)):
        raise KDAuditError(f"{where(runset)}: {origin} must be an integer, got {positive_class!r}")
    if not 0 <= int(positive_class) < k:
        raise KDAuditError(
            f"{where(runset)}: {origin} {int(positive_class)} is not a class "
            f"of this {k}-class task (expected 0..{k - 1})"
        )
    return int(positive_class)


def attribute_codes(runset: Any, components: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    levels = [tuple(str(v) for v in runset.group_levels(a)) for a in components]
    codes = []
    for a, lv in zip(components, levels, strict=False):
        codes.append(
            as_codes(
                runset.group_codes(a),
                len(lv),
                int(runset.n_samples),
                f"{where(runset)}: group.{a}",
            )
        )
    if len(components) == 1:
        return codes[0], list(levels[0])
    return intersect_codes(codes, levels)
