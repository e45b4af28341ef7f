"""CelebA from a local copy: a binary attribute label, ``young``/``male`` groups, balanced training.

Expected layout (only these files are read; the other annotation files are not needed)::

    ROOT/list_attr_celeba.txt      # line 1: image count; line 2: the 40 attribute names;
                                   # then "<file name> <40 values of 1 or -1>" per image
    ROOT/list_eval_partition.txt   # "<file name> <0|1|2>" = train / valid / test
    ROOT/img_align_celeba/<file name>

The label is one attribute (``Smiling`` as in the paper's main text, or ``Eyeglasses`` as in
its Table 8): class 1 = the attribute is present (+1), class 0 = absent (-1). The sensitive
groups are the ``Young`` and ``Male`` attributes, written as ``group.young`` (``Young`` /
``Not Young``) and ``group.male`` (``Male`` / ``Not Male``). The training split is balanced by
seeded random undersampling of the majority label (paper, Section 5 and Table 4); the valid
and test splits are kept as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ._local import FileSplit, malformed, require

DATASET = "CelebA"
LABEL_ATTRIBUTES = ("Smiling", "Eyeglasses")
GROUP_ATTRIBUTES = {"young": ("Young", "Not Young"), "male": ("Male", "Not Male")}
SPLITS = {"train": 0, "valid": 1, "test": 2}
_NEGATIVE_NAMES = {"Smiling": "Not Smiling", "Eyeglasses": "No Eyeglasses"}


@dataclass(frozen=True)
class CelebAAttributes:
    """The parsed ``list_attr_celeba.txt``: file names, attribute names, values as booleans."""

    filenames: tuple[str, ...]
    names: tuple[str, ...]
    values: np.ndarray  # (N, 40) bool, True where the file says +1

    def column(self, name: str) -> np.ndarray:
        """Boolean column of attribute ``name``."""
        try:
            return self.values[:, self.names.index(name)]
        except ValueError:
            raise KeyError(
                f"CelebA has no attribute {name!r}; attributes: {', '.join(self.names)}"
            ) from None


def _hint(root: Path, name: str) -> str:
    where = "Anno/" if name.startswith("list_attr") else "Eval/"
    return f"put {name} (CelebA {where} folder) in {root}"


def read_attributes(root: str | Path) -> CelebAAttributes:
    """Parse ``ROOT/list_attr_celeba.txt`` (count line, names line, one row per image)."""
    root = Path(root)
    path = require(
        root / "list_attr_celeba.txt", dataset=DATASET, hint=_hint(root, "list_attr_celeba.txt")
    )
    with path.open(encoding="utf-8") as fh:
        lines = [ln for ln in fh.read().splitlines() if ln.strip()]
    if len(lines) < 2:
        raise malformed(DATASET, path, "expected a count line and an attribute-name line")
    try:
        expected = int(lines[0].split()[0])
    except ValueError:
        raise malformed(
            DATASET, path, f"first line should be the image count, found {lines[0][:40]!r}"
        ) from None
    names = tuple(lines[1].split())
    rows = [ln.split() for ln in lines[2:]]
    if len(rows) != expected:
        raise malformed(
            DATASET, path, f"first line says {expected} images but {len(rows)} rows follow"
        )
    bad = next((i for i, r in enumerate(rows) if len(r) != len(names) + 1), None)
    if bad is not None:
        raise malformed(
            DATASET, path, f"row {bad + 3} has {len(rows[bad]) - 1} values, expected {len(names)}"
        )
    filenames = tuple(r[0] for r in rows)
    raw = np.array([r[1:] for r in rows], dtype=np.int64).reshape(len(rows), len(names))
    if not np.isin(raw, (-1, 1)).all():
        i = int(np.argwhere(~np.isin(raw, (-1, 1)))[0, 0])
        raise malformed(DATASET, path, f"row {i + 3} ({filenames[i]}) has a value other than 1/-1")
    return CelebAAttributes(filenames=filenames, names=names, values=raw == 1)


def read_partition(root: str | Path) -> dict[str, int]:
    """Parse ``ROOT/list_eval_partition.txt`` into ``{file name: 0 | 1 | 2}``."""
    root = Path(root)
    path = require(
        root / "list_eval_partition.txt",
        dataset=DATASET,
        hint=_hint(root, "list_eval_partition.txt"),
    )
    out: dict[str, int] = {}
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            parts = line.replace(",", " ").split()
            if not parts:
                continue
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                if lineno == 1 and len(parts) == 2:  # a csv header such as "image_id,partition"
                    continue
                raise malformed(
                    DATASET,
                    path,
                    f"line {lineno} should be '<file name> <0|1|2>', found {line.strip()[:60]!r}",
                )
            out[parts[0]] = int(parts[1])
    return out


def undersample_majority(labels: np.ndarray, *, seed: int) -> np.ndarray:
    """Indices that keep every sample of the minority label and as many random majority samples.

    Parameters
    ----------
    labels : array of int, shape (N,)
        Binary labels (0/1).
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same subset.

    Returns
    -------
    ndarray of int64
        Sorted row indices; the kept set has ``2 * min(n_0, n_1)`` rows, ``min(n_0, n_1)`` per label.
    """
    labels = np.asarray(labels)
    idx0 = np.flatnonzero(labels == 0)
    idx1 = np.flatnonzero(labels == 1)
    if idx0.size + idx1.size != labels.size:
        raise ValueError("undersample_majority expects binary labels 0/1")
    minority, majority = (idx0, idx1) if idx0.size <= idx1.size else (idx1, idx0)
    rng = np.random.default_rng(seed)
    kept = rng.choice(majority, size=minority.size, replace=False)
    return np.sort(np.concatenate([minority, kept])).astype(np.int64)


def load_celeba(
    root: str | Path,
    *,
    split: Literal["train", "valid", "test"],
    label: str = "Smiling",
    balance: bool | None = None,
    balance_seed: int = 0,
) -> FileSplit:
    """Load one CelebA split as an :class:`FileSplit`.

    Parameters
    ----------
    root : path
        Folder with ``list_attr_celeba.txt``, ``list_eval_partition.txt``, ``img_align_celeba/``.
    split : {"train", "valid", "test"}
        Partition 0, 1 or 2 of ``list_eval_partition.txt``.
    label : str
        The attribute used as the binary label (``Smiling`` or ``Eyeglasses``; any of the 40 works).
    balance : bool, optional
        Undersample the majority label (:func:`undersample_majority`). Default: only for ``train``.
    balance_seed : int
        Seed of the undersampling. Fixed by default so that every model of a sweep (every
        training seed) sees the same balanced training set, as in the paper's Table 4.

    Returns
    -------
    FileSplit
        ``labels`` 1 = attribute present; ``groups`` ``young`` and ``male``; ``sample_ids`` the
        image file names; ``class_names`` e.g. ``("Not Smiling", "Smiling")``; positive class 1.
    """
    root = Path(root)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    attrs = read_attributes(root)
    partition = read_partition(root)
    require(
        root / "img_align_celeba",
        dataset=DATASET,
        is_dir=True,
        hint=f"unpack img_align_celeba.zip (the aligned 178x218 JPEGs) into {root}",
    )
    missing = [f for f in attrs.filenames if f not in partition]
    if missing:
        raise malformed(
            DATASET,
            root / "list_eval_partition.txt",
            f"{len(missing)} images of list_attr_celeba.txt have no partition, e.g. {missing[0]}",
        )
    part = np.array([partition[f] for f in attrs.filenames], dtype=np.int64)
    rows = np.flatnonzero(part == SPLITS[split])
    y = attrs.column(label).astype(np.int64)
    groups = {
        name: np.where(attrs.column(attr), attr, negative).astype(str)
        for name, (attr, negative) in GROUP_ATTRIBUTES.items()
    }
    if balance is None:
        balance = split == "train"
    if balance and rows.size:
        rows = rows[undersample_majority(y[rows], seed=balance_seed)]
    names = attrs.filenames
    return FileSplit(
        dataset="celeba",
        split=split,
        root=root / "img_align_celeba",
        paths=tuple(names[i] for i in rows),
        labels=y[rows],
        sample_ids=np.array([names[i] for i in rows], dtype=str),
        class_names=(_NEGATIVE_NAMES.get(label, f"Not {label}"), label),
        groups={k: v[rows] for k, v in groups.items()},
        positive_class=1,
    )


@dataclass(frozen=True)
class LabelGroupTable:
    """Counts of a binary label crossed with binary sensitive groups (the paper's Table 4).

    Attributes
    ----------
    counts : DataFrame
        Rows: class names, positive class first; columns: a MultiIndex ``(attribute, group)``,
        e.g. ``("young", "Young")``; values: number of samples.
    """

    counts: pd.DataFrame

    @property
    def label_share(self) -> pd.Series:
        """Share of each label among all samples (the "Distribution" column), as a fraction."""
        first_attr = self.counts.columns.get_level_values(0)[0]
        per_label = self.counts.xs(first_attr, axis=1, level=0).sum(axis=1)
        return per_label / per_label.sum()

    @property
    def group_share(self) -> pd.Series:
        """Share of each group within its attribute (the "Distribution" row), as a fraction."""
        col_totals = self.counts.sum(axis=0)
        return col_totals / col_totals.groupby(level=0).transform("sum")

    def to_frame(self) -> pd.DataFrame:
        """The table as the paper prints it: counts, a Distribution column and row (percent strings)."""
        flat = self.counts.copy()
        flat.columns = [g for _, g in self.counts.columns]
        out = flat.astype(object)
        out["Distribution"] = [f"{100 * v:.2f}%" for v in self.label_share]
        out.loc["Distribution"] = [f"{100 * v:.2f}%" for v in self.group_share] + [""]
        out.index.name = "label"
        return out


def label_group_table(
    split: FileSplit, *, attributes: tuple[str, ...] = ("young", "male")
) -> LabelGroupTable:
    """Count samples per label x group for each attribute of ``split`` (Table 4 of the paper).

    ``n[c, g] = #{i : label_i = c and group_i = g}``; rows sum, per attribute, to the label
    counts. Group levels are ordered as ``GROUP_ATTRIBUTES`` lists them (``Young`` before
    ``Not Young``); the positive class is the first row.
    """
    order = (
        list(range(split.num_classes))[::-1]
        if split.positive_class == 1
        else list(range(split.num_classes))
    )
    columns, data = [], []
    for attr in attributes:
        levels = GROUP_ATTRIBUTES.get(attr) or tuple(sorted(np.unique(split.groups[attr])))
        for level in levels:
            columns.append((attr, level))
            mask = split.groups[attr] == level
            data.append([int(np.sum(mask & (split.labels == c))) for c in order])
    counts = pd.DataFrame(
        np.array(data, dtype=np.int64).T,
        index=pd.Index([split.class_names[c] for c in order], name="label"),
        columns=pd.MultiIndex.from_tuples(columns, names=["attribute", "group"]),
    )
    return LabelGroupTable(counts=counts)
