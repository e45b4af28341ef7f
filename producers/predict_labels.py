"""Label spaces for ``python -m producers.predict``: which model output scores which dataset class.

The output file's classes are always the **dataset's** classes, in the dataset's order (the
class sub-folders, or the sorted label values of a table), so that a teacher's and a student's
files agree on every label. Each dataset class is matched to one model output:

- by an explicit map (``--class-map FILE``: JSON ``{dataset class: model class name or
  index}`` or a CSV/Parquet table with columns ``dataset`` and ``model``);
- else by name, when the model carries class names (Hugging Face ``id2label``, a timm
  directory's ``label_names``, ``--model-classes FILE`` or ``imagenet``): exact names first,
  then ignoring case, spaces and underscores; an unknown name is a one-line error;
- else, for a model without class names (a bare state dict) with as many outputs as the
  dataset has classes, in sorted order (recorded as ``label_mapping: sorted-order``).

A model with more outputs than the dataset has classes is refused unless
``--restrict-to-dataset-classes`` (the argmax then runs over the dataset's classes only).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kdbias_audit import KDAuditError

from .predict_data import read_table

__all__ = ["ClassMapping", "map_classes", "read_class_map", "read_model_classes"]


@dataclass(frozen=True)
class ClassMapping:
    """Which model output scores each dataset class: ``columns[d]`` for dataset class ``d``."""

    columns: np.ndarray
    method: str  # "by-name" | "class-map" | "sorted-order" | "setting"
    restricted: bool

    def metadata(self, num_outputs: int) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "label_mapping": self.method,
            "model_num_outputs": int(num_outputs),
            "restricted_to_dataset_classes": self.restricted,
        }
        if self.method == "sorted-order":
            meta["label_mapping_note"] = (
                "the model carries no class names: its outputs 0..K-1 were taken to be the "
                "dataset's classes in their order (sorted, for folders and tables)"
            )
        if not (
            len(self.columns) == num_outputs
            and np.array_equal(self.columns, np.arange(num_outputs))
        ):
            meta["model_output_index"] = [int(c) for c in self.columns]
        return meta


def _norm(name: str) -> str:
    return " ".join(str(name).replace("_", " ").split()).casefold()


def _name_index(model_names: Sequence[Sequence[str]]) -> dict[str, int]:
    """name -> output index, exact names first, then case/space/underscore-insensitive ones."""
    exact: dict[str, int] = {}
    loose: dict[str, set[int]] = {}
    for i, aliases in enumerate(model_names):
        for a in aliases:
            exact.setdefault(str(a), i)
            loose.setdefault(_norm(a), set()).add(i)
    out = {k: next(iter(v)) for k, v in loose.items() if len(v) == 1}
    out.update(exact)
    return out


def _lookup(index: dict[str, int], name: str) -> int | None:
    hit = index.get(name)
    return hit if hit is not None else index.get(_norm(name))


def read_class_map(path: Path) -> dict[str, str | int]:
    """``--class-map``: a JSON object ``{dataset class: model class name or index}`` or a
    CSV/Parquet table with columns ``dataset`` and ``model``."""
    if not path.is_file():
        raise KDAuditError(f"{path}: class map not found")
    if path.suffix.lower() == ".json":
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise KDAuditError(f"{path}: not JSON ({str(exc).splitlines()[0]})") from None
        if not isinstance(obj, dict) or not all(isinstance(v, (str, int)) for v in obj.values()):
            raise KDAuditError(
                f"{path}: a class map is a JSON object {{dataset class: model class}}"
            )
        return {str(k): v for k, v in obj.items()}
    table = read_table(path)
    if not {"dataset", "model"} <= set(table.column_names):
        raise KDAuditError(f"{path}: a class-map table needs columns 'dataset' and 'model'")
    keys = [str(x) for x in table.column("dataset").to_pylist()]
    vals = table.column("model").to_pylist()
    if len(set(keys)) != len(keys):
        raise KDAuditError(f"{path}: a dataset class appears twice")
    return {k: (v if isinstance(v, int) else str(v)) for k, v in zip(keys, vals, strict=True)}


def read_model_classes(spec: str) -> list[tuple[str, ...]]:
    """``--model-classes``: a text file (one name per line, in output order) or ``imagenet``
    (the ImageNet-1k order bundled with timm: WordNet id, first name, full description)."""
    if spec.lower() in ("imagenet", "imagenet-1k", "imagenet1k"):
        from timm.data import ImageNetInfo

        info = ImageNetInfo()
        return [
            (w, info.index_to_description(i).split(",")[0].strip(), info.index_to_description(i))
            for i, w in enumerate(info.label_names())
        ]
    path = Path(spec)
    if not path.is_file():
        raise KDAuditError(f"{path}: model class list not found")
    names = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not names:
        raise KDAuditError(f"{path}: no class names")
    return [(n,) for n in names]


def map_classes(
    data_names: Sequence[str],
    model_names: Sequence[Sequence[str]] | None,
    num_outputs: int,
    *,
    class_map: Mapping[str, str | int] | None = None,
    class_map_source: str = "--class-map",
    restrict: bool = False,
    where: str = "data",
    model_spec: str = "model",
) -> ClassMapping:
    """Map the dataset's classes onto the model's outputs; a mismatch is a one-line error.

    Parameters
    ----------
    data_names : the dataset's class names (the output file's class order).
    model_names : per model output, its name(s); ``None`` when the model carries none.
    num_outputs : the model's number of outputs K.
    class_map : dataset class -> model class (name or index), overrides name matching.
    restrict : allow K > D (argmax over the dataset's classes only).
    """
    d, k = len(data_names), num_outputs
    if model_names is not None and len(model_names) != k:
        raise KDAuditError(f"{model_spec}: {len(model_names)} class names for {k} outputs")
    index = _name_index(model_names) if model_names is not None else {}
    if class_map is not None:
        method = "class-map"
        cols = []
        for name in data_names:
            if name not in class_map:
                raise KDAuditError(f"{class_map_source}: no entry for dataset class {name!r}")
            target = class_map[name]
            if isinstance(target, int) or (
                isinstance(target, str) and target.isdigit() and not index
            ):
                i = int(target)
                if not 0 <= i < k:
                    raise KDAuditError(
                        f"{class_map_source}: index {i} for {name!r} outside 0..{k - 1}"
                    )
            else:
                hit = _lookup(index, str(target))
                if hit is None:
                    raise KDAuditError(
                        f"{class_map_source}: {target!r} (for {name!r}) is not a class of {model_spec}"
                    )
                i = hit
            cols.append(i)
    elif model_names is not None:
        method = "by-name"
        hits = [_lookup(index, n) for n in data_names]
        unknown = [n for n, h in zip(data_names, hits, strict=True) if h is None]
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:3]) + (" ..." if len(unknown) > 3 else "")
            known = ", ".join(repr(a[0]) for a in model_names[:5]) + (" ..." if k > 5 else "")
            raise KDAuditError(
                f"{where}: {len(unknown)} class name(s) the model does not know: {shown} "
                f"(model classes: {known}); pass --class-map FILE"
            )
        cols = [int(h) for h in hits]  # type: ignore[arg-type]
    else:
        if k != d:
            raise KDAuditError(
                f"{model_spec} has {k} outputs and no class names, {where} has {d} classes; "
                "pass --class-map FILE or --model-classes FILE"
            )
        method = "sorted-order"
        cols = list(range(d))
    if len(set(cols)) != len(cols):
        dup = next(c for c in cols if cols.count(c) > 1)
        raise KDAuditError(f"{where}: two dataset classes map to the same model output {dup}")
    if k > d and not restrict:
        raise KDAuditError(
            f"{model_spec} has {k} classes, {where} has {d}; pass --restrict-to-dataset-classes "
            "to predict among the dataset's classes only"
        )
    return ClassMapping(np.asarray(cols, dtype=np.int64), method, bool(restrict))
