"""Writing prediction files (format v1), atomically."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..atomic import atomic_write
from ..errors import KDAuditError, PredictionFileError
from ..frames import columns_of, is_dataframe
from .spec import (
    FORMAT_VERSION,
    GROUP_PREFIX,
    METADATA_KEY,
    as_int_array,
    check_metadata,
    check_range,
    encode_groups,
)

__all__ = ["write_predictions"]


# --------------------------------------------------------------------------------------------
# writer


def write_predictions(
    path: str | os.PathLike[str],
    *,
    y_true: Any,
    logits: Any = None,
    y_pred: Any = None,
    sample_id: Any = None,
    groups: Mapping[str, Any] | Any | None = None,
    seed: int,
    num_classes: int | None = None,
    metadata: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    logits_dtype: str = "float32",
) -> Path:
    """Write one prediction file (format v1), atomically.

    Parameters
    ----------
    path : path-like
        Target ``.parquet`` file; its directory is created.
    y_true : array-like of int, shape (N,)
        True classes in ``[0, num_classes)``.
    logits : array-like of float, shape (N, C), optional
        Raw pre-softmax scores. Give ``logits`` or ``y_pred`` (or both).
    y_pred : array-like of int, shape (N,), optional
        Predicted classes; written as column ``pred``.
    sample_id : array-like of int or str, shape (N,), optional
        Unique ids of the test examples; defaults to ``0..N-1``.
    groups : mapping of str -> array-like, or a pandas/polars DataFrame, optional
        Sensitive attributes, e.g. ``{"young": [...]}`` -> column ``group.young``.
    seed : int
        The run's random seed.
    num_classes : int, optional
        Defaults to the logits' width; required with ``y_pred`` alone.
    metadata : mapping, optional
        Further metadata: ``model``, ``dataset``, ``split``, ``role``, ``temperature``,
        ``alpha``, ``teacher_model``, ``class_names``, ``positive_class``, anything JSON.
    overwrite : bool, default False
        Refuse to replace an existing file unless True.
    logits_dtype : {"float32", "float16"}

    Returns
    -------
    Path
        The written file.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> runs = tempfile.mkdtemp()
    >>> y = np.array([0, 1, 2, 1])
    >>> z = np.array([[2.0, 0.1, 0.3], [0.2, 1.5, 0.1], [0.1, 0.9, 0.4], [0.3, 2.2, 0.1]])
    >>> colors = ["red", "blue", "red", "blue"]
    >>> path = write_predictions(f"{runs}/ds_T4/seed0.parquet", y_true=y, logits=z, seed=0,
    ...                          groups={"color": colors},
    ...                          metadata={"role": "distilled", "temperature": 4})
    >>> path.name, path.exists()
    ('seed0.parquet', True)
    >>> import shutil
    >>> shutil.rmtree(runs)
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise KDAuditError(f"{path}: already exists; pass overwrite=True to replace it")
    if logits is None and y_pred is None:
        raise KDAuditError(f"{path}: give logits or y_pred")
    if num_classes is not None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
            raise KDAuditError(f"{path}: num_classes must be an integer, got {num_classes!r}")
        num_classes = int(num_classes)
    y = as_int_array(y_true, path, "y_true")
    if y.ndim != 1 or y.size == 0:
        raise PredictionFileError(
            path, f"y_true must be a non-empty 1-D array, got shape {y.shape}"
        )
    n = y.shape[0]
    cols: dict[str, pa.Array] = {}

    z = None
    if logits is not None:
        if logits_dtype not in ("float32", "float16"):
            raise KDAuditError(
                f"{path}: logits_dtype must be 'float32' or 'float16', got {logits_dtype!r}"
            )
        raw = np.asarray(logits)
        if raw.dtype.kind not in "fiu" or raw.dtype == bool:
            raise PredictionFileError(path, f"logits must be numbers, got dtype {raw.dtype}")
        z = np.ascontiguousarray(raw, dtype=np.dtype(logits_dtype))
        if z.ndim != 2 or z.shape[0] != n:
            raise PredictionFileError(
                path, f"logits must have shape ({n}, num_classes), got {z.shape}"
            )
        if num_classes is None:
            num_classes = int(z.shape[1])
        if z.shape[1] != num_classes:
            raise PredictionFileError(
                path, f"logits have length {z.shape[1]} but num_classes is {num_classes}"
            )
        if not np.isfinite(z).all():
            why = f" (out of range for {logits_dtype})" if np.isfinite(raw).all() else ""
            raise PredictionFileError(path, f"logits contain NaN or inf{why}")
        if y_pred is None and raw.dtype != z.dtype and raw.ndim == 2 and raw.shape[1]:
            # Narrowing (float64 -> float32, anything -> float16) can turn a near tie into an
            # exact one and move the argmax: keep the predictions of the logits as given, in a
            # `pred` column beside the narrowed logits (the reader uses `pred` when present).
            exact = raw.argmax(axis=1)
            if not np.array_equal(exact, z.argmax(axis=1)):
                y_pred = exact
        del raw
    if num_classes is None:
        raise KDAuditError(f"{path}: num_classes is required when only y_pred is given")

    meta = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in (metadata or {}).items()}
    if isinstance(seed, np.integer):
        seed = int(seed)
    meta.update(format_version=FORMAT_VERSION, num_classes=int(num_classes), seed=seed)
    check_metadata(meta, path)
    try:
        meta_json = json.dumps(meta, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise KDAuditError(f"{path}: metadata is not plain JSON ({exc})") from None

    sid = np.arange(n, dtype=np.int64) if sample_id is None else np.asarray(sample_id)
    if sid.shape != (n,):
        raise PredictionFileError(path, f"sample_id must have shape ({n},), got {sid.shape}")
    if sid.dtype.kind in "US" or sid.dtype == object:
        sid_arr = pa.array(sid.astype(str), type=pa.string())
    elif np.issubdtype(sid.dtype, np.integer):
        sid_arr = pa.array(sid.astype(np.int64))
    else:
        raise PredictionFileError(
            path, f"sample_id must be integers or strings, got dtype {sid.dtype}"
        )
    if len(np.unique(sid)) != n:
        raise PredictionFileError(path, "sample_id values are not unique")
    cols["sample_id"] = sid_arr

    check_range(y, num_classes, path, "label")
    cols["label"] = pa.array(y.astype(np.int32) if num_classes < 2**31 else y)
    if y_pred is not None:
        p = as_int_array(y_pred, path, "y_pred")
        if p.shape != (n,):
            raise PredictionFileError(path, f"y_pred must have shape ({n},), got {p.shape}")
        check_range(p, num_classes, path, "pred")
        cols["pred"] = pa.array(p.astype(np.int32))
    if z is not None:
        flat = pa.array(z.reshape(-1), type=pa.float16() if z.dtype == np.float16 else pa.float32())
        cols["logits"] = pa.FixedSizeListArray.from_arrays(flat, int(num_classes))
    if groups is None or isinstance(groups, Mapping):
        group_items = list((groups or {}).items())
    elif is_dataframe(groups):  # pandas or polars: one attribute per column
        group_items = columns_of(groups) or []
    else:
        raise KDAuditError(
            f"{path}: groups must be a mapping of name -> values or a DataFrame, "
            f"got {type(groups).__name__}"
        )
    for attr, values in group_items:
        if not isinstance(attr, str) or not attr:
            raise KDAuditError(f"{path}: group names must be non-empty strings, got {attr!r}")
        v = np.asarray(values)
        if v.shape != (n,):
            raise PredictionFileError(path, f"group {attr!r} must have shape ({n},), got {v.shape}")
        encode_groups(v, path, attr)  # same checks as the reader
        if v.dtype == object:  # python strings as they are (numpy's would drop trailing NULs)
            cols[GROUP_PREFIX + attr] = pa.array([str(x) for x in v.tolist()], type=pa.string())
        elif v.dtype.kind in "US":
            cols[GROUP_PREFIX + attr] = pa.array(v.astype(str), type=pa.string())
        else:
            cols[GROUP_PREFIX + attr] = pa.array(v)

    table = pa.table(cols).replace_schema_metadata({METADATA_KEY: meta_json})
    row_group = max(1024, min(n, (8 << 20) // max(1, int(num_classes))))

    def _write(tmp: Path) -> None:
        # page checksums: a reader verifies them, so a corrupted copy is an error, never
        # different predictions (docs/format.md)
        options = dict(row_group_size=row_group, write_page_checksum=True, **_encodings(table))
        try:
            str(tmp).encode("utf-8")
        except UnicodeEncodeError:  # a directory name that is not UTF-8: Python opens it
            with open(tmp, "wb") as fh:
                pq.write_table(table, fh, **options)
            return
        pq.write_table(table, tmp, **options)

    if path.exists() and not overwrite:  # re-check just before the rename
        raise KDAuditError(f"{path}: already exists; pass overwrite=True to replace it")
    return atomic_write(path, _write)


def _encodings(table: pa.Table) -> dict[str, Any]:
    """Parquet encodings: integer sample ids delta-encoded, every other column the default.

    Sample ids are unique, so the default dictionary encoding fails over to plain 8-byte
    values; ``DELTA_BINARY_PACKED`` stores consecutive ids in about a bit each (a 50,000-row
    file with predictions only: 65 kB instead of 363 kB). Readers need nothing special.
    """
    if not pa.types.is_integer(table.schema.field("sample_id").type):
        return {}
    return {
        "use_dictionary": [c for c in table.column_names if c != "sample_id"],
        "column_encoding": {"sample_id": "DELTA_BINARY_PACKED"},
    }
