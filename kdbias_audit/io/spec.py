"""Prediction file format v1: constants and the checks shared by the writer and the reader.

See ``docs/format.md`` for the user-facing description.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..defaults import MAX_NUM_CLASSES
from ..errors import PredictionFileError

if TYPE_CHECKING:  # pragma: no cover
    from .fs import RemotePath

__all__ = ["FORMAT_VERSION", "METADATA_KEY", "MAX_NUM_CLASSES", "GROUP_PREFIX"]

FORMAT_VERSION = 1
METADATA_KEY = "kdbias_audit"
GROUP_PREFIX = "group."
ROLES_KNOWN = ("teacher", "baseline", "distilled")


# --------------------------------------------------------------------------------------------
# small checks shared by the writer and the reader


def as_int_array(values: Any, path: Path | str | RemotePath, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        if (
            np.issubdtype(arr.dtype, np.floating)
            and arr.size
            and np.all(np.isfinite(arr))
            and np.all(arr == np.round(arr))
        ):
            arr = arr.astype(np.int64)
        else:
            raise PredictionFileError(path, f"{what} must be integers, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def check_range(
    arr: np.ndarray,
    num_classes: int,
    path: Path | str | RemotePath,
    what: str,
    sample_id: Any = None,
) -> None:
    if arr.size == 0:
        return
    bad = (arr < 0) | (arr >= num_classes)
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        where = f" of sample_id {sample_id[i]}" if sample_id is not None else ""
        raise PredictionFileError(
            path,
            f"{what}{where} is {int(arr.ravel()[i])}, outside [0, {num_classes}) (num_classes={num_classes})",
        )


def encode_groups(
    values: np.ndarray, path: Path | str | RemotePath, attr: str
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes ``0..G-1`` and sorted level names of one group column.

    Accepted: integers, booleans and strings (an object array of them). Strings are compared
    exactly as written: ``"x"`` and ``"x\\0"`` are two groups (numpy's fixed-width strings would
    drop the trailing NUL and merge them).
    """
    if values.ndim != 1:
        raise PredictionFileError(path, f"group {attr!r} must be one-dimensional")
    if values.dtype == object:
        texts = []
        for v in values.tolist():
            if v is None:
                raise PredictionFileError(path, f"{GROUP_PREFIX}{attr} has missing values")
            if isinstance(v, str):
                texts.append(v)
            elif isinstance(v, (bool, int, np.integer, np.bool_)):
                texts.append(str(v))
            else:
                raise PredictionFileError(
                    path,
                    f"{GROUP_PREFIX}{attr} must hold strings, integers or booleans, "
                    f"got a {type(v).__name__} ({v!r})"[:300],
                )
        levels = sorted(set(texts))
        index = {u: i for i, u in enumerate(levels)}
        codes = np.fromiter((index[t] for t in texts), dtype=np.int64, count=len(texts))
        return codes, tuple(levels)
    if values.dtype.kind not in "iubUS":
        raise PredictionFileError(
            path, f"{GROUP_PREFIX}{attr} must be string, integer or boolean, got {values.dtype}"
        )
    uniq, codes = np.unique(values, return_inverse=True)
    return codes.astype(np.int64).reshape(-1), tuple(str(u) for u in uniq.tolist())


def check_metadata(meta: Any, path: Path | str | RemotePath) -> dict[str, Any]:
    """Validate the ``kdbias_audit`` metadata object; return it as a dict."""
    if not isinstance(meta, dict):
        raise PredictionFileError(
            path, f"metadata '{METADATA_KEY}' must be a JSON object, got {type(meta).__name__}"
        )
    version = meta.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:  # not true, not 1.0
        raise PredictionFileError(
            path, f"metadata format_version is {version!r}; this reader supports {FORMAT_VERSION}"
        )
    nc = meta.get("num_classes")
    if not isinstance(nc, int) or isinstance(nc, bool):
        raise PredictionFileError(
            path, f"metadata num_classes must be an integer, got {nc!r}"[:300]
        )
    if not 2 <= nc <= MAX_NUM_CLASSES:
        raise PredictionFileError(
            path, f"metadata num_classes is {nc}; expected 2..{MAX_NUM_CLASSES}"
        )
    seed = meta.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise PredictionFileError(path, f"metadata seed must be an integer, got {seed!r}"[:300])
    for key in ("temperature", "alpha"):
        v = meta.get(key)
        if v is not None and (
            isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
        ):
            raise PredictionFileError(
                path, f"metadata {key} must be a finite number or null, got {v!r}"[:300]
            )
    t = meta.get("temperature")
    if t is not None and not t > 0:
        raise PredictionFileError(path, f"metadata temperature must be positive, got {t!r}")
    for key in ("model", "dataset", "split", "role", "teacher_model"):
        v = meta.get(key)
        if v is not None and not isinstance(v, str):
            raise PredictionFileError(
                path, f"metadata {key} must be a string, got {type(v).__name__}"
            )
    names = meta.get("class_names")
    if names is not None:
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise PredictionFileError(path, "metadata class_names must be a list of strings")
        if len(names) != nc:
            raise PredictionFileError(
                path, f"metadata class_names has {len(names)} names but num_classes is {nc}"
            )
    pc = meta.get("positive_class")
    if pc is not None and (isinstance(pc, bool) or not isinstance(pc, int) or not 0 <= pc < nc):
        raise PredictionFileError(
            path, f"metadata positive_class must be a class index in [0, {nc}), got {pc!r}"[:300]
        )
    return meta
