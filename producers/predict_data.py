"""Data specs for ``python -m producers.predict``: image folders, tables, the study's settings.

A data spec becomes one `PredictData`: what to feed the model (image files, in-memory images
or texts), the true class of every example as an index into the dataset's ``class_names``, the
``sample_id`` that aligns teacher and student files, and the group attributes.

- **Image folder** (``DIR``, one sub-folder per class, torchvision ``ImageFolder`` layout): the
  classes are the sub-folder names in sorted order; every image below a class folder (any
  depth, by extension) is an example; ``sample_id`` is its path relative to ``DIR``
  (``cat/001.png``). Group attributes come from a sidecar table (``--groups FILE``, CSV or
  Parquet) with a ``path`` column relative to ``DIR`` and one column per attribute; every image
  needs exactly one row.
- **Table** (``.csv``, ``.parquet``, ``.jsonl``/``.ndjson``): a text column or a path column
  (images relative to the table's folder), a label column, any number of group columns and an
  optional id column (``sample_id``; the row number when there is none). The classes are the
  label values in sorted order (numeric order for integer labels).
- **Setting** (``setting:NAME``): the test split of a registered study setting
  (`producers.settings`), with its class names, sample ids and groups; ``setting:hatexplain``
  is text (post ids, ``normal``/``toxic``, ``race`` and ``gender``).

Nothing here imports torch; the torch ``Dataset`` wrappers live in `producers.predict`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kdbias_audit import KDAuditError

__all__ = ["IMAGE_EXTENSIONS", "PredictData", "load_data_spec", "read_table"]

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff")
TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".jsonl", ".ndjson")


@dataclass(frozen=True)
class PredictData:
    """One test set, ready to predict.

    Attributes
    ----------
    kind : {"image", "text"}
    name : str
        Written as the ``dataset`` metadata key.
    spec : str
        The data spec as given (for the metadata).
    class_names : tuple of str
        The dataset's classes; ``labels`` index into them and the output file uses this order.
    labels : ndarray of int64
    sample_ids : ndarray of str or int64
    groups : dict of str -> ndarray
    paths : tuple of Path, optional
        Image files (image folders and image tables).
    images : ndarray (N, H, W, 3) uint8, optional
        In-memory images (settings).
    texts : tuple of str, optional
    root : Path, optional
        What ``sample_id`` paths are relative to.
    setting : str, optional
        The setting name, for ``setting:`` specs (the producers' own models need it).
    extra : dict
        Further metadata (``split``, setting options).
    """

    kind: str
    name: str
    spec: str
    class_names: tuple[str, ...]
    labels: np.ndarray
    sample_ids: np.ndarray
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    paths: tuple[Path, ...] | None = None
    images: np.ndarray | None = None
    texts: tuple[str, ...] | None = None
    root: Path | None = None
    setting: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def unit(self) -> str:
        return "texts" if self.kind == "text" else "images"


# --- tables ----------------------------------------------------------------------------------


def read_table(path: Path) -> Any:
    """Read a CSV, Parquet or JSON-lines file into a pyarrow Table (one-line errors)."""
    import pyarrow as pa

    if not path.is_file():
        raise KDAuditError(f"{path}: file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            import pyarrow.csv as pacsv

            return pacsv.read_csv(path)
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return pq.read_table(path)
        if suffix in (".jsonl", ".ndjson"):
            import pyarrow.json as pajson

            return pajson.read_json(path)
    except (pa.ArrowException, OSError) as exc:
        raise KDAuditError(f"{path}: cannot read the table ({_first_line(exc)})") from None
    raise KDAuditError(f"{path}: unknown table type {suffix!r}; use .csv, .parquet or .jsonl")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _column(table: Any, name: str, path: Path, what: str) -> np.ndarray:
    if name not in table.column_names:
        raise KDAuditError(
            f"{path}: no {what} column {name!r} (columns: {', '.join(table.column_names)})"
        )
    col = table.column(name)
    if col.null_count:
        raise KDAuditError(f"{path}: column {name!r} has {col.null_count} empty values")
    return col.to_numpy(zero_copy_only=False)


def _group_values(values: np.ndarray) -> np.ndarray:
    """Strings, integers and booleans are kept; anything else becomes its string form."""
    if values.dtype.kind in "biu":
        return values
    return np.asarray([str(v) for v in values], dtype=object)


def _classes_from_labels(
    raw: np.ndarray, path: Path, column: str
) -> tuple[tuple[str, ...], np.ndarray]:
    """Sorted class names (numeric order for integers) and each row's index into them."""
    if raw.dtype.kind in "iu":
        uniq = np.unique(raw)
        names = tuple(str(int(v)) for v in uniq)
        return names, np.searchsorted(uniq, raw).astype(np.int64)
    if raw.dtype.kind == "f":
        if not np.all(np.isfinite(raw)) or not np.all(raw == np.round(raw)):
            raise KDAuditError(f"{path}: label column {column!r} holds non-integer numbers")
        return _classes_from_labels(raw.astype(np.int64), path, column)
    text = np.asarray([str(v) for v in raw], dtype=object)
    uniq = np.array(sorted(set(text)), dtype=object)
    index = {name: i for i, name in enumerate(uniq)}
    return tuple(uniq), np.fromiter((index[t] for t in text), dtype=np.int64, count=len(text))


def _sample_ids(table: Any, path: Path, id_column: str | None) -> np.ndarray:
    if id_column is None and "sample_id" in table.column_names:
        id_column = "sample_id"
    if id_column is None:
        return np.arange(table.num_rows, dtype=np.int64)
    ids = _column(table, id_column, path, "id")
    ids = ids.astype(np.int64) if ids.dtype.kind in "iu" else np.asarray([str(v) for v in ids])
    uniq, counts = np.unique(ids, return_counts=True)
    if len(uniq) != len(ids):
        raise KDAuditError(
            f"{path}: id column {id_column!r} repeats {uniq[counts > 1][0]!r}; ids must be unique"
        )
    return ids


def _load_table(
    path: Path,
    *,
    text_column: str | None,
    path_column: str | None,
    label_column: str,
    group_columns: Sequence[str],
    id_column: str | None,
) -> PredictData:
    if (text_column is None) == (path_column is None):
        raise KDAuditError(f"{path}: give exactly one of --text-column or --path-column")
    table = read_table(path)
    if table.num_rows == 0:
        raise KDAuditError(f"{path}: the table has no rows")
    class_names, labels = _classes_from_labels(
        _column(table, label_column, path, "label"), path, label_column
    )
    groups = {g: _group_values(_column(table, g, path, "group")) for g in group_columns}
    ids = _sample_ids(table, path, id_column)
    common = dict(
        name=path.stem,
        spec=str(path),
        class_names=class_names,
        labels=labels,
        sample_ids=ids,
        groups=groups,
        extra={"label_column": label_column},
    )
    if text_column is not None:
        texts = tuple(str(t) for t in _column(table, text_column, path, "text"))
        return PredictData(kind="text", texts=texts, **common)  # type: ignore[arg-type]
    rel = [str(p) for p in _column(table, path_column, path, "path")]  # type: ignore[arg-type]
    root = path.parent
    paths = tuple(root / r for r in rel)
    for p in paths:
        if not p.is_file():
            raise KDAuditError(f"{path}: image {p} (column {path_column!r}) not found")
    return PredictData(kind="image", paths=paths, root=root, **common)  # type: ignore[arg-type]


# --- image folders ---------------------------------------------------------------------------


def _list_images(folder: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(
            Path(dirpath) / f
            for f in sorted(filenames)
            if not f.startswith(".") and os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS
        )
    return found


def _sidecar_groups(
    groups_file: Path, root: Path, rel_paths: Sequence[str]
) -> dict[str, np.ndarray]:
    table = read_table(groups_file)
    if "path" not in table.column_names:
        raise KDAuditError(
            f"{groups_file}: no 'path' column (paths relative to {root}); "
            f"columns: {', '.join(table.column_names)}"
        )
    keys = [
        Path(str(p)).as_posix().removeprefix("./")
        for p in _column(table, "path", groups_file, "path")
    ]
    row_of: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k in row_of:
            raise KDAuditError(f"{groups_file}: path {k!r} appears twice")
        row_of[k] = i
    missing = [r for r in rel_paths if r not in row_of]
    if missing:
        raise KDAuditError(
            f"{groups_file}: no row for {len(missing)} of {len(rel_paths)} images "
            f"(first: {missing[0]!r}, relative to {root})"
        )
    rows = np.fromiter((row_of[r] for r in rel_paths), dtype=np.int64, count=len(rel_paths))
    attrs = [c for c in table.column_names if c != "path"]
    if not attrs:
        raise KDAuditError(f"{groups_file}: no attribute columns besides 'path'")
    return {a: _group_values(_column(table, a, groups_file, "group"))[rows] for a in attrs}


def _load_folder(root: Path, groups_file: Path | None) -> PredictData:
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if len(classes) < 2:
        raise KDAuditError(
            f"{root}: an image folder needs one sub-folder per class (found {len(classes)})"
        )
    paths: list[Path] = []
    labels: list[int] = []
    for i, c in enumerate(classes):
        files = _list_images(root / c)
        paths.extend(files)
        labels.extend([i] * len(files))
    if not paths:
        raise KDAuditError(
            f"{root}: no image files ({', '.join(IMAGE_EXTENSIONS)}) in the class folders"
        )
    rel = [p.relative_to(root).as_posix() for p in paths]
    groups = _sidecar_groups(groups_file, root, rel) if groups_file is not None else {}
    return PredictData(
        kind="image",
        name=root.name,
        spec=str(root),
        class_names=tuple(classes),
        labels=np.asarray(labels, dtype=np.int64),
        sample_ids=np.asarray(rel),
        groups=groups,
        paths=tuple(paths),
        root=root,
    )


# --- settings --------------------------------------------------------------------------------


def _load_text_setting(name: str, *, data_root: Path | None, test_size: int | None) -> PredictData:
    """The test split of a text setting (HateXplain: post ids, binary toxic label, race/gender)."""
    if name != "hatexplain":
        raise KDAuditError(f"setting:{name} is text; write its test split as a table instead")
    if data_root is None:
        raise KDAuditError("setting:hatexplain reads local files: pass --data-root DIR")
    from .data.hatexplain import load_hatexplain

    split = load_hatexplain(data_root, split="test")
    n = len(split) if test_size is None else min(test_size, len(split))
    return PredictData(
        kind="text",
        name=split.dataset,
        spec=f"setting:{name}",
        class_names=tuple(split.class_names),
        labels=np.asarray(split.labels[:n], dtype=np.int64),
        sample_ids=np.asarray(split.sample_ids[:n]),
        groups={g: np.asarray(v[:n]) for g, v in split.groups.items()},
        texts=tuple(split.texts[:n]),
        setting=name,
        extra={"split": split.split, "test_size": n},
    )


def _load_setting(
    name: str,
    *,
    data_root: Path | None,
    image_size: int | None,
    train_size: int | None,
    test_size: int | None,
    data_seed: int,
) -> tuple[PredictData, Any]:
    from .settings import DataOptions, get_setting

    setting = get_setting(name)
    if setting.extra.get("runner") == "text":
        return _load_text_setting(setting.name, data_root=data_root, test_size=test_size), None
    opts = DataOptions(
        root=data_root,
        # generated settings draw their images at this size; files keep theirs (the model's
        # preprocessing still resizes to --image-size)
        image_size=image_size if setting.extra.get("generated") else None,
        train_size=train_size,
        test_size=test_size,
        data_seed=data_seed,
    )
    data = setting.load(opts)
    test = data.test
    extra = {
        "split": "test",
        "data_seed": data_seed,
        "image_size": int(test.image_size[0]),
        "train_size": len(data.train),
        "test_size": len(test),
    }
    pdata = PredictData(
        kind="image",
        name=setting.name,
        spec=f"setting:{name}",
        class_names=tuple(data.class_names),
        labels=np.asarray(test.labels, dtype=np.int64),
        sample_ids=np.asarray(test.sample_id),
        groups={g: np.asarray(v, dtype=str) for g, v in test.groups.items()},
        images=test.images,
        setting=setting.name,
        extra=extra,
    )
    return pdata, data


def load_data_spec(
    spec: str,
    *,
    text_column: str | None = None,
    path_column: str | None = None,
    label_column: str = "label",
    group_columns: Sequence[str] = (),
    id_column: str | None = None,
    groups_file: Path | None = None,
    data_root: Path | None = None,
    image_size: int | None = None,
    train_size: int | None = None,
    test_size: int | None = None,
    data_seed: int = 0,
) -> tuple[PredictData, Any]:
    """Resolve a data spec; returns the test set and, for settings, the full `DatasetSplits`.

    Parameters
    ----------
    spec : str
        ``DIR`` (image folder), a table file, or ``setting:NAME``.
    """
    if spec.startswith("setting:"):
        return _load_setting(
            spec.split(":", 1)[1],
            data_root=data_root,
            image_size=image_size,
            train_size=train_size,
            test_size=test_size,
            data_seed=data_seed,
        )
    path = Path(spec)
    if not path.exists():
        raise KDAuditError(
            f"{path}: data not found (give a class-per-folder image directory, a table, or setting:NAME)"
        )
    if groups_file is not None and not groups_file.is_file():
        raise KDAuditError(f"{groups_file}: groups file not found")
    if path.is_dir():
        if text_column or path_column:
            raise KDAuditError(f"{path}: --text-column/--path-column are for tables, not folders")
        if group_columns:
            raise KDAuditError(
                f"{path}: group attributes of an image folder come from --groups FILE"
            )
        return _load_folder(path, groups_file), None
    if groups_file is not None:
        raise KDAuditError(
            f"{path}: --groups is for image folders; name table columns with --group-column"
        )
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise KDAuditError(
            f"{path}: unknown data file type; use a folder, .csv, .parquet or .jsonl"
        )
    return (
        _load_table(
            path,
            text_column=text_column,
            path_column=path_column,
            label_column=label_column,
            group_columns=group_columns,
            id_column=id_column,
        ),
        None,
    )
