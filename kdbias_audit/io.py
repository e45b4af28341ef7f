"""Prediction file format v1: constants, writer, streaming reader, validation.

One Apache Parquet file per model per seed; a directory of such files is a *run set*; a directory
of run sets is a *sweep*. See ``docs/format.md`` for the user-facing description.

Reading streams one file at a time, batch by batch: logits are reduced to ``pred`` (argmax) as
they arrive and are never kept. What remains per seed is a few small integer arrays.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ._atomic import atomic_write
from ._errors import KDAuditError, PredictionFileError

__all__ = [
    "FORMAT_VERSION",
    "METADATA_KEY",
    "MAX_NUM_CLASSES",
    "GROUP_PREFIX",
    "SeedRun",
    "RunSet",
    "write_predictions",
    "read_predictions",
    "load_runset",
    "load_runsets",
    "find_prediction_files",
    "find_runsets",
]

FORMAT_VERSION = 1
METADATA_KEY = "kdbias_audit"
GROUP_PREFIX = "group."
#: Largest ``num_classes`` the reader accepts (a guard against absurd metadata).
MAX_NUM_CLASSES = 100_000
#: Largest metadata JSON the reader parses, in bytes.
MAX_METADATA_BYTES = 16 * 1024 * 1024
_ROLES_KNOWN = ("teacher", "baseline", "distilled")


# --------------------------------------------------------------------------------------------
# result containers


@dataclass(frozen=True, eq=False)
class SeedRun:
    """One prediction file reduced to small arrays, rows sorted by ``sample_id``.

    Attributes
    ----------
    path : Path
    seed : int
    sample_id : ndarray, shape (N,)
        int64, or an object array of str.
    label, pred : ndarray of int64, shape (N,)
    groups : dict of str -> ndarray of int64, shape (N,)
        Group codes per attribute (index into ``group_levels[attr]``).
    group_levels : dict of str -> tuple of str
        Sorted level names per attribute (values written as strings).
    metadata : dict
        The file's ``kdbias_audit`` metadata.
    num_classes : int
    """

    path: Path
    seed: int
    sample_id: np.ndarray
    label: np.ndarray
    pred: np.ndarray
    groups: dict[str, np.ndarray]
    group_levels: dict[str, tuple[str, ...]]
    metadata: dict[str, Any]
    num_classes: int

    @property
    def n_samples(self) -> int:
        return int(self.label.shape[0])

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.label == self.pred))


@dataclass(frozen=True, eq=False)
class RunSet:
    """The runs (one per seed) of one model configuration, aligned by ``sample_id``.

    Every run has the same sample ids in the same order, the same labels and the same group
    values; ``preds`` stacks the per-seed predictions as an array of shape (S, N).
    """

    path: Path
    runs: tuple[SeedRun, ...]
    _preds: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.runs:
            raise KDAuditError(f"{self.path}: a run set needs at least one run")
        object.__setattr__(self, "runs", tuple(sorted(self.runs, key=lambda r: r.seed)))
        preds = np.stack([r.pred for r in self.runs])
        preds.setflags(write=False)
        object.__setattr__(self, "_preds", preds)

    # -- construction without files ----------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        y_true: Any,
        preds: Any,
        *,
        seeds: Sequence[int] | None = None,
        groups: Mapping[str, Any] | None = None,
        num_classes: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        name: str = "runset",
        path: str | os.PathLike[str] | None = None,
        sample_id: Any = None,
    ) -> RunSet:
        """Build a run set from in-memory arrays (tests, notebooks, third-party predictions).

        Parameters
        ----------
        y_true : array-like of int, shape (N,)
        preds : array-like of int, shape (S, N)
            One row of predicted classes per seed.
        seeds : sequence of int, optional
            Defaults to ``0..S-1``.
        groups : mapping of str -> array-like, shape (N,), optional
        num_classes : int, optional
            Defaults to ``max(y_true, preds) + 1``.
        """
        root = Path(path) if path is not None else Path(name)
        y = _as_int_array(y_true, root, "y_true")
        p = np.asarray(preds)
        if p.ndim == 1:
            p = p[None, :]
        if p.ndim != 2 or p.shape[1] != y.shape[0]:
            raise KDAuditError(f"{root}: preds must have shape (S, {y.shape[0]}), got {p.shape}")
        p = np.stack([_as_int_array(row, root, "preds") for row in p])
        if seeds is None:
            seeds = list(range(p.shape[0]))
        if len(seeds) != p.shape[0]:
            raise KDAuditError(f"{root}: {len(seeds)} seeds for {p.shape[0]} rows of preds")
        if num_classes is None:
            num_classes = int(max(y.max(initial=0), p.max(initial=0))) + 1
        _check_range(y, num_classes, root, "label")
        _check_range(p, num_classes, root, "pred")
        sid = np.arange(y.shape[0], dtype=np.int64) if sample_id is None else np.asarray(sample_id)
        codes, levels = {}, {}
        for attr, values in (groups or {}).items():
            codes[attr], levels[attr] = _encode_groups(np.asarray(values), root, attr)
        meta = dict(metadata or {})
        meta.setdefault("format_version", FORMAT_VERSION)
        meta["num_classes"] = int(num_classes)
        runs = []
        for seed, row in zip(seeds, p, strict=False):
            m = dict(meta, seed=int(seed))
            runs.append(
                SeedRun(
                    root / f"seed{seed}", int(seed), sid, y, row, codes, levels, m, int(num_classes)
                )
            )
        rs = cls(root, tuple(runs))
        _check_runset_consistency(rs.runs)
        return rs

    # -- derived views -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.stem if self.path.suffix == ".parquet" else self.path.name

    @property
    def seeds(self) -> list[int]:
        return [r.seed for r in self.runs]

    @property
    def num_classes(self) -> int:
        return self.runs[0].num_classes

    @property
    def n_samples(self) -> int:
        return self.runs[0].n_samples

    @property
    def sample_id(self) -> np.ndarray:
        return self.runs[0].sample_id

    @property
    def label(self) -> np.ndarray:
        return self.runs[0].label

    @property
    def preds(self) -> np.ndarray:
        return self._preds

    @property
    def accuracy(self) -> np.ndarray:
        """Overall accuracy per seed, shape (S,)."""
        return (self._preds == self.label[None, :]).mean(axis=1)

    @property
    def metadata(self) -> dict[str, Any]:
        return self.runs[0].metadata

    def _meta(self, key: str) -> Any:
        return self.metadata.get(key)

    @property
    def class_names(self) -> list[str] | None:
        names = self._meta("class_names")
        return list(names) if names is not None else None

    @property
    def role(self) -> str | None:
        return self._meta("role")

    @property
    def temperature(self) -> float | None:
        t = self._meta("temperature")
        return None if t is None else float(t)

    @property
    def alpha(self) -> float | None:
        a = self._meta("alpha")
        return None if a is None else float(a)

    @property
    def model(self) -> str | None:
        return self._meta("model")

    @property
    def dataset(self) -> str | None:
        return self._meta("dataset")

    @property
    def positive_class(self) -> int | None:
        pc = self._meta("positive_class")
        return None if pc is None else int(pc)

    @property
    def group_attributes(self) -> tuple[str, ...]:
        """Attributes present in every run of the set (sorted)."""
        common = set(self.runs[0].groups)
        for r in self.runs[1:]:
            common &= set(r.groups)
        return tuple(sorted(common))

    def require_groups(self, attributes: Iterable[str]) -> None:
        """Raise a one-line error naming the first file that lacks one of ``attributes``."""
        for attr in attributes:
            for r in self.runs:
                if attr not in r.groups:
                    have = ", ".join(sorted(r.groups)) or "none"
                    raise PredictionFileError(
                        r.path,
                        f"has no column {GROUP_PREFIX}{attr} (group attributes here: {have})",
                    )

    def group_codes(self, attr: str) -> np.ndarray:
        self.require_groups([attr])
        return self.runs[0].groups[attr]

    def group_levels(self, attr: str) -> tuple[str, ...]:
        self.require_groups([attr])
        return self.runs[0].group_levels[attr]

    def summary(self) -> dict[str, Any]:
        """A short description (used by ``kdaudit validate``)."""
        acc = self.accuracy
        return {
            "path": str(self.path),
            "model": self.model,
            "role": self.role,
            "temperature": self.temperature,
            "seeds": self.seeds,
            "n_samples": self.n_samples,
            "num_classes": self.num_classes,
            "group_attributes": list(self.group_attributes),
            "accuracy_mean": float(acc.mean()),
        }

    def __repr__(self) -> str:
        return (
            f"RunSet({self.name!r}, seeds={self.seeds}, n_samples={self.n_samples}, "
            f"num_classes={self.num_classes}, groups={list(self.group_attributes)})"
        )


# --------------------------------------------------------------------------------------------
# small checks shared by the writer and the reader


def _as_int_array(values: Any, path: Path | str, what: str) -> np.ndarray:
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


def _check_range(
    arr: np.ndarray, num_classes: int, path: Path | str, what: str, sample_id: Any = None
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


def _encode_groups(
    values: np.ndarray, path: Path | str, attr: str
) -> tuple[np.ndarray, tuple[str, ...]]:
    if values.ndim != 1:
        raise PredictionFileError(path, f"group {attr!r} must be one-dimensional")
    if values.dtype == object:
        if any(v is None for v in values):
            raise PredictionFileError(path, f"{GROUP_PREFIX}{attr} has missing values")
        values = values.astype(str)
    elif np.issubdtype(values.dtype, np.floating):
        raise PredictionFileError(
            path, f"{GROUP_PREFIX}{attr} must be string, integer or boolean, got {values.dtype}"
        )
    uniq, codes = np.unique(values, return_inverse=True)
    return codes.astype(np.int64).reshape(-1), tuple(str(u) for u in uniq.tolist())


def _check_metadata(meta: Any, path: Path | str) -> dict[str, Any]:
    """Validate the ``kdbias_audit`` metadata object; return it as a dict."""
    if not isinstance(meta, dict):
        raise PredictionFileError(
            path, f"metadata '{METADATA_KEY}' must be a JSON object, got {type(meta).__name__}"
        )
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
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


# --------------------------------------------------------------------------------------------
# writer


def write_predictions(
    path: str | os.PathLike[str],
    *,
    y_true: Any,
    logits: Any = None,
    y_pred: Any = None,
    sample_id: Any = None,
    groups: Mapping[str, Any] | None = None,
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
    groups : mapping of str -> array-like, optional
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
    >>> write_predictions("runs/ds_T4/seed0.parquet", y_true=y, logits=z, seed=0,
    ...                   groups={"color": colors}, metadata={"role": "distilled", "temperature": 4})
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise KDAuditError(f"{path}: already exists; pass overwrite=True to replace it")
    if logits is None and y_pred is None:
        raise KDAuditError(f"{path}: give logits or y_pred")
    y = _as_int_array(y_true, path, "y_true")
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
        z = np.ascontiguousarray(np.asarray(logits), dtype=np.dtype(logits_dtype))
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
            raise PredictionFileError(path, "logits contain NaN or inf")
    if num_classes is None:
        raise KDAuditError(f"{path}: num_classes is required when only y_pred is given")

    meta = dict(metadata or {})
    meta.update(format_version=FORMAT_VERSION, num_classes=int(num_classes), seed=seed)
    if isinstance(meta.get("temperature"), (np.integer, np.floating)):
        meta["temperature"] = float(meta["temperature"])
    _check_metadata(meta, path)

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

    _check_range(y, num_classes, path, "label")
    cols["label"] = pa.array(y.astype(np.int32) if num_classes < 2**31 else y)
    if y_pred is not None:
        p = _as_int_array(y_pred, path, "y_pred")
        if p.shape != (n,):
            raise PredictionFileError(path, f"y_pred must have shape ({n},), got {p.shape}")
        _check_range(p, num_classes, path, "pred")
        cols["pred"] = pa.array(p.astype(np.int32))
    if z is not None:
        flat = pa.array(z.reshape(-1), type=pa.float16() if z.dtype == np.float16 else pa.float32())
        cols["logits"] = pa.FixedSizeListArray.from_arrays(flat, int(num_classes))
    for attr, values in (groups or {}).items():
        if not isinstance(attr, str) or not attr:
            raise KDAuditError(f"{path}: group names must be non-empty strings, got {attr!r}")
        v = np.asarray(values)
        if v.shape != (n,):
            raise PredictionFileError(path, f"group {attr!r} must have shape ({n},), got {v.shape}")
        _encode_groups(v, path, attr)  # same checks as the reader
        if v.dtype == object or v.dtype.kind in "US":
            cols[GROUP_PREFIX + attr] = pa.array(v.astype(str), type=pa.string())
        else:
            cols[GROUP_PREFIX + attr] = pa.array(v)

    table = pa.table(cols).replace_schema_metadata({METADATA_KEY: json.dumps(meta)})
    row_group = max(1024, min(n, (8 << 20) // max(1, int(num_classes))))

    def _write(tmp: Path) -> None:
        pq.write_table(table, tmp, row_group_size=row_group)

    if path.exists() and not overwrite:  # re-check just before the rename
        raise KDAuditError(f"{path}: already exists; pass overwrite=True to replace it")
    return atomic_write(path, _write)


# --------------------------------------------------------------------------------------------
# reader


def _open(path: Path) -> pq.ParquetFile:
    if not path.exists():
        raise PredictionFileError(path, "does not exist")
    if not path.is_file():
        raise PredictionFileError(path, "is not a file")
    try:
        return pq.ParquetFile(path, memory_map=False)
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PredictionFileError(
            path, f"not a readable Parquet file (truncated or another format): {first}"
        ) from None


def _file_metadata(pf: pq.ParquetFile, path: Path) -> dict[str, Any]:
    raw = (pf.schema_arrow.metadata or {}).get(METADATA_KEY.encode())
    if raw is None:
        raise PredictionFileError(path, f"has no '{METADATA_KEY}' metadata (see docs/format.md)")
    if len(raw) > MAX_METADATA_BYTES:
        raise PredictionFileError(
            path, f"metadata is {len(raw)} bytes; at most {MAX_METADATA_BYTES} are accepted"
        )
    try:
        meta = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PredictionFileError(
            path, f"metadata '{METADATA_KEY}' is not valid JSON ({exc})"
        ) from None
    return _check_metadata(meta, path)


def _is_int(t: pa.DataType) -> bool:
    return pa.types.is_integer(t)


def _check_schema(
    schema: pa.Schema, meta: dict[str, Any], path: Path
) -> tuple[str | None, list[str]]:
    """Check column types before any data is read; returns (logits kind, group columns)."""
    names = schema.names
    if len(set(names)) != len(names):
        raise PredictionFileError(path, "has duplicate column names")
    nc = meta["num_classes"]
    if "label" not in names:
        raise PredictionFileError(path, "has no 'label' column")
    if not _is_int(schema.field("label").type):
        raise PredictionFileError(
            path, f"column 'label' must be integer, got {schema.field('label').type}"
        )
    if "sample_id" not in names:
        raise PredictionFileError(path, "has no 'sample_id' column")
    st = schema.field("sample_id").type
    if not (_is_int(st) or pa.types.is_string(st) or pa.types.is_large_string(st)):
        raise PredictionFileError(path, f"column 'sample_id' must be int64 or string, got {st}")
    kind = None
    if "logits" in names:
        lt = schema.field("logits").type
        if pa.types.is_fixed_size_list(lt):
            if lt.list_size != nc:
                raise PredictionFileError(
                    path, f"logits have length {lt.list_size} but num_classes is {nc}"
                )
            kind = "fixed"
        elif pa.types.is_list(lt) or pa.types.is_large_list(lt):
            kind = "list"
        else:
            raise PredictionFileError(path, f"column 'logits' must be a list of floats, got {lt}")
        vt = lt.value_type
        if not (pa.types.is_float32(vt) or pa.types.is_float16(vt) or pa.types.is_float64(vt)):
            raise PredictionFileError(path, f"logits must be float32 or float16, got {vt}")
    if "pred" in names and not _is_int(schema.field("pred").type):
        raise PredictionFileError(
            path, f"column 'pred' must be integer, got {schema.field('pred').type}"
        )
    if kind is None and "pred" not in names:
        raise PredictionFileError(path, "has neither 'logits' nor 'pred'")
    groups = []
    for name in names:
        if name.startswith(GROUP_PREFIX):
            gt = schema.field(name).type
            if pa.types.is_dictionary(gt):
                gt = gt.value_type
            ok = (
                _is_int(gt)
                or pa.types.is_boolean(gt)
                or pa.types.is_string(gt)
                or pa.types.is_large_string(gt)
            )
            if not ok or len(name) == len(GROUP_PREFIX):
                raise PredictionFileError(
                    path, f"column {name!r} must be string, integer or boolean, got {gt}"
                )
            groups.append(name)
    return kind, groups


def _reduce_logits(col: pa.Array, kind: str, nc: int, path: Path) -> np.ndarray:
    """argmax of one chunk of logits, with the finiteness and length checks.

    Works on blocks of rows so that temporaries (float16 -> float32, row sums) stay small.
    """
    if col.null_count:
        raise PredictionFileError(path, "logits contain null rows")
    if kind == "list":
        lengths = np.diff(_column_to_numpy(col.offsets))
        if lengths.size and (lengths != nc).any():
            bad = int(lengths[lengths != nc][0])
            raise PredictionFileError(path, f"logits have length {bad} but num_classes is {nc}")
    values = col.flatten()
    if values.null_count:
        raise PredictionFileError(path, "logits contain null values")
    z = _column_to_numpy(values).reshape(-1, nc)
    out = np.empty(z.shape[0], dtype=np.int64)
    step = max(1, (1 << 22) // nc)  # about 4 M values per block
    for start in range(0, z.shape[0], step):
        block = z[start : start + step]
        if block.dtype == np.float16:
            block = block.astype(np.float32)
        # One pass for the check: a row sum is finite iff every entry is (an overflow to inf is
        # re-checked entry by entry).
        sums = block.sum(axis=1)
        bad = ~np.isfinite(sums)
        if bad.any() and not np.isfinite(block[bad]).all():
            raise PredictionFileError(path, "logits contain NaN or inf")
        out[start : start + step] = block.argmax(axis=1)
    return out


def _read_row_groups(
    pf: pq.ParquetFile, path: Path, small_cols: list[str], kind: str | None, nc: int
) -> tuple[pa.Table, list[np.ndarray]]:
    """Read ``small_cols`` and reduce the logits (when ``kind``), one row group at a time.

    Row groups are decoded in parallel threads (each with its own file handle): as fast as
    ``pyarrow.parquet.read_table``, which would also import pandas through pyarrow.dataset, and
    without ever holding the whole logits column.
    """
    cols = small_cols + (["logits"] if kind is not None else [])

    def one(i: int, handle: pq.ParquetFile | None = None) -> tuple[pa.Table, list[np.ndarray]]:
        part = (handle or pq.ParquetFile(path, memory_map=False)).read_row_group(
            i, columns=cols, use_threads=False
        )
        if kind is None:
            return part, []
        preds = [_reduce_logits(chunk, kind, nc, path) for chunk in part.column("logits").chunks]
        return part.drop_columns(["logits"]), preds

    n_groups = pf.metadata.num_row_groups
    workers = min(n_groups, os.cpu_count() or 1)
    if workers <= 1:
        parts = [one(i, pf) for i in range(n_groups)]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(one, range(n_groups)))
    small = pa.concat_tables([t for t, _ in parts]) if n_groups != 1 else parts[0][0]
    return small, [p for _, ps in parts for p in ps]


def _column_to_numpy(arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Arrow -> numpy straight from the buffers (``Array.to_numpy`` imports pandas: ~0.3 s)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    t = arr.type
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        dtype = np.dtype(t.to_pandas_dtype())
        return np.frombuffer(
            arr.buffers()[1], dtype=dtype, count=len(arr), offset=arr.offset * dtype.itemsize
        )
    if pa.types.is_boolean(t):
        bits = np.frombuffer(arr.buffers()[1], dtype=np.uint8)
        return np.unpackbits(bits, bitorder="little", count=arr.offset + len(arr))[
            arr.offset :
        ].astype(bool)
    return np.array(arr.to_pylist(), dtype=object)


def read_predictions(path: str | os.PathLike[str]) -> SeedRun:
    """Read and validate one prediction file; rows come back sorted by ``sample_id``.

    Logits are streamed batch by batch and reduced to ``pred`` (argmax) immediately. When the
    file has both ``logits`` and ``pred``, ``pred`` is taken from the file and logits are still
    checked (finite, right length).

    Raises
    ------
    PredictionFileError
        One line, ``"<path>: <problem>"``, for any rule of format v1 the file breaks.
    """
    path = Path(path)
    pf = _open(path)
    meta = _file_metadata(pf, path)
    nc = meta["num_classes"]
    schema = pf.schema_arrow
    kind, group_cols = _check_schema(schema, meta, path)
    n = pf.metadata.num_rows
    if n == 0:
        raise PredictionFileError(path, "has no rows")

    small_cols = ["sample_id", "label"] + (["pred"] if "pred" in schema.names else []) + group_cols
    try:
        # row groups decoded in parallel threads, logits reduced to argmax group by group, so at
        # most one row group per thread is ever in memory (pred given: logits still checked)
        small, preds = _read_row_groups(pf, path, small_cols, kind, nc)
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PredictionFileError(
            path, f"cannot be read (truncated or corrupt?): {first}"
        ) from None

    for name in small_cols:
        if small.column(name).null_count:
            raise PredictionFileError(path, f"column {name!r} has missing values")
    sid = _column_to_numpy(small.column("sample_id"))
    if sid.dtype == object:
        sid = sid.astype(str).astype(object)
    else:
        sid = sid.astype(np.int64, copy=False)
    label = _column_to_numpy(small.column("label")).astype(np.int64, copy=False)
    if "pred" in schema.names:
        pred = _column_to_numpy(small.column("pred")).astype(np.int64, copy=False)
    else:
        pred = np.concatenate(preds).astype(np.int64, copy=False)

    order = np.argsort(sid, kind="stable")
    sid = sid[order]
    dup = np.flatnonzero(sid[1:] == sid[:-1])
    if dup.size:
        raise PredictionFileError(path, f"sample_id {sid[dup[0]]} appears more than once")
    label, pred = label[order], pred[order]
    _check_range(label, nc, path, "label", sid)
    _check_range(pred, nc, path, "pred", sid)

    groups, levels = {}, {}
    for name in group_cols:
        values = _column_to_numpy(small.column(name))[order]
        attr = name[len(GROUP_PREFIX) :]
        groups[attr], levels[attr] = _encode_groups(values, path, attr)
    for arr in (sid, label, pred, *groups.values()):
        arr.setflags(write=False)
    return SeedRun(path, int(meta["seed"]), sid, label, pred, groups, levels, meta, nc)


# --------------------------------------------------------------------------------------------
# run sets


def find_prediction_files(path: str | os.PathLike[str]) -> list[Path]:
    """The prediction files of a run set: the file itself, or the ``*.parquet`` files of a directory."""
    path = Path(path)
    if not path.exists():
        raise PredictionFileError(path, "does not exist")
    if path.is_file():
        return [path]
    files = sorted(
        p
        for p in path.iterdir()
        if p.suffix == ".parquet" and p.is_file() and not p.name.startswith(".")
    )
    if not files:
        raise PredictionFileError(path, "contains no prediction files (*.parquet)")
    return files


def _first_difference(a: np.ndarray, b: np.ndarray) -> tuple[Any, Any]:
    only_a = np.setdiff1d(a, b)
    only_b = np.setdiff1d(b, a)
    return (only_a[0] if only_a.size else None, only_b[0] if only_b.size else None)


def _check_aligned(run: SeedRun, ref: SeedRun) -> None:
    """Same sample ids (hence same order) and labels as ``ref``; group values too where shared."""
    if (run.sample_id.dtype == object) != (ref.sample_id.dtype == object):
        kinds = {True: "strings", False: "integers"}
        raise PredictionFileError(
            run.path,
            f"sample_id values are {kinds[run.sample_id.dtype == object]} here but "
            f"{kinds[ref.sample_id.dtype == object]} in {ref.path}",
        )
    if run.sample_id.shape != ref.sample_id.shape or not np.array_equal(
        run.sample_id, ref.sample_id
    ):
        here, there = _first_difference(run.sample_id, ref.sample_id)
        detail = []
        if here is not None:
            detail.append(f"sample_id {here} is only here")
        if there is not None:
            detail.append(f"sample_id {there} is only in {ref.path}")
        raise PredictionFileError(
            run.path,
            f"covers a different test set than {ref.path} ({run.n_samples} vs {ref.n_samples} samples; "
            + "; ".join(detail)
            + ")",
        )
    if run.num_classes != ref.num_classes:
        raise PredictionFileError(
            run.path, f"num_classes is {run.num_classes} here but {ref.num_classes} in {ref.path}"
        )
    diff = np.flatnonzero(run.label != ref.label)
    if diff.size:
        i = diff[0]
        raise PredictionFileError(
            run.path,
            f"label of sample_id {run.sample_id[i]} is {run.label[i]} here but {ref.label[i]} in {ref.path}",
        )
    for attr in set(run.groups) & set(ref.groups):
        a = np.asarray(run.group_levels[attr], dtype=object)[run.groups[attr]]
        b = np.asarray(ref.group_levels[attr], dtype=object)[ref.groups[attr]]
        diff = np.flatnonzero(a != b)
        if diff.size:
            i = diff[0]
            raise PredictionFileError(
                run.path,
                f"{GROUP_PREFIX}{attr} of sample_id {run.sample_id[i]} is {a[i]!r} here but {b[i]!r} in {ref.path}",
            )


def _check_runset_consistency(runs: Sequence[SeedRun]) -> None:
    seen: dict[int, Path] = {}
    for r in runs:
        if r.seed in seen:
            raise PredictionFileError(
                r.path,
                f"seed {r.seed} is also the seed of {seen[r.seed]} (seeds must be unique in a run set)",
            )
        seen[r.seed] = r.path
    for r in runs[1:]:
        _check_aligned(r, runs[0])


def _read_many(files: Sequence[Path], *, jobs: int, progress: bool) -> list[SeedRun]:
    """Read files in order, optionally in ``jobs`` processes, with a rich progress bar on stderr."""
    if jobs < 1:
        raise KDAuditError(f"--jobs must be at least 1, got {jobs}")
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
        if jobs == 1 or len(files) == 1:
            out = []
            for f in files:
                out.append(read_predictions(f))
                if bar is not None:
                    bar.advance(task)
            return out
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(jobs, len(files))) as pool:
            out = []
            for run in pool.map(read_predictions, files):
                out.append(run)
                if bar is not None:
                    bar.advance(task)
            return out
    finally:
        if bar is not None:
            bar.stop()


def load_runset(path: str | os.PathLike[str], *, jobs: int = 1, progress: bool = False) -> RunSet:
    """Load a run set: a directory of prediction files (one per seed) or a single file."""
    return load_runsets([path], jobs=jobs, progress=progress)[0]


def load_runsets(
    paths: Sequence[str | os.PathLike[str]], *, jobs: int = 1, progress: bool = False
) -> list[RunSet]:
    """Load several run sets, aligned for comparison.

    Every file of every run set must cover the same sample ids with the same labels (and the
    same group values where an attribute is shared); otherwise a one-line
    :class:`PredictionFileError` names the offending file and the first difference.

    Parameters
    ----------
    paths : sequence of path-like
        Run set directories (or single files).
    jobs : int, default 1
        Processes used to read and reduce files in parallel.
    progress : bool, default False
        Show a progress bar (stderr) while files load.
    """
    per_set = [find_prediction_files(p) for p in paths]
    flat = [f for files in per_set for f in files]
    runs = _read_many(flat, jobs=jobs, progress=progress)
    out: list[RunSet] = []
    i = 0
    for p, files in zip(paths, per_set, strict=False):
        chunk = runs[i : i + len(files)]
        i += len(files)
        _check_runset_consistency(chunk)
        out.append(RunSet(Path(p), tuple(chunk)))
    for rs in out[1:]:
        _check_aligned(rs.runs[0], out[0].runs[0])
    return out


def find_runsets(root: str | os.PathLike[str]) -> list[Path]:
    """Run set locations under ``root``: a file, a run set directory, or every directory below
    ``root`` (recursively, sorted, hidden directories skipped) that directly holds ``*.parquet`` files."""
    root = Path(root)
    if not root.exists():
        raise PredictionFileError(root, "does not exist")
    if root.is_file():
        return [root]
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if any(f.endswith(".parquet") and not f.startswith(".") for f in filenames):
            found.append(Path(dirpath))
    found.sort()
    if not found:
        raise PredictionFileError(root, "contains no prediction files (*.parquet)")
    return found
