"""Tiny ImageNet (200 classes, 64x64) from a local copy of ``tiny-imagenet-200``.

Expected layout (as unpacked from ``tiny-imagenet-200.zip``)::

    ROOT/wnids.txt                      # the 200 WordNet ids, one per line; their order = class index
    ROOT/words.txt                      # "<wnid>\\t<name>, <synonym>, ..." (all WordNet ids)
    ROOT/train/<wnid>/images/*.JPEG     # 500 per class
    ROOT/val/val_annotations.txt        # "<file>\\t<wnid>\\t<x0>\\t<y0>\\t<x1>\\t<y1>" (tab-separated)
    ROOT/val/images/<file>

The official test split has no labels, so ``val`` (10,000 images, 50 per class) is the test
split of the study; ``split="test"`` is accepted as an alias of ``val``. Class names are the
first name of each wnid in ``words.txt`` (made unique with the wnid where two classes share it).
Sample ids are the file names inside ``val/images`` (``val_0.JPEG``) or, for train, the path
inside ``train/`` (``n01443537/images/n01443537_0.JPEG``). Images are converted to RGB when loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from ._local import FileSplit, first_name_per_class, list_images, malformed, read_words, require

DATASET = "Tiny ImageNet"


def _hint(root: Path, what: str) -> str:
    return f"unpack tiny-imagenet-200.zip so that {what} lies in {root}"


def read_classes(root: str | Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(wnids, class_names)`` from ``wnids.txt`` (order = class index) and ``words.txt``."""
    root = Path(root)
    wnids_path = require(root / "wnids.txt", dataset=DATASET, hint=_hint(root, "wnids.txt"))
    words_path = require(root / "words.txt", dataset=DATASET, hint=_hint(root, "words.txt"))
    wnids = tuple(
        ln.strip() for ln in wnids_path.read_text(encoding="utf-8").splitlines() if ln.strip()
    )
    if not wnids:
        raise malformed(DATASET, wnids_path, "no WordNet ids")
    if len(set(wnids)) != len(wnids):
        raise malformed(DATASET, wnids_path, "a WordNet id is listed twice")
    return wnids, first_name_per_class(wnids, read_words(words_path))


def load_tinyimagenet(root: str | Path, *, split: Literal["train", "val", "test"]) -> FileSplit:
    """Load the ``train`` or ``val`` (= ``test``) split of Tiny ImageNet as an :class:`FileSplit`."""
    root = Path(root)
    wnids, class_names = read_classes(root)
    index = {w: i for i, w in enumerate(wnids)}
    paths: list[str] = []
    labels: list[int] = []
    if split == "train":
        base = require(
            root / "train", dataset=DATASET, is_dir=True, hint=_hint(root, "train/<wnid>/images/")
        )
        for w in wnids:
            folder = require(
                base / w / "images",
                dataset=DATASET,
                is_dir=True,
                hint=_hint(root, f"train/{w}/images/"),
            )
            for p in list_images(folder):
                paths.append(f"{w}/images/{p.name}")
                labels.append(index[w])
        sample_ids = list(paths)
    elif split in ("val", "test"):
        base = root / "val"
        ann = require(
            base / "val_annotations.txt",
            dataset=DATASET,
            hint=_hint(root, "val/val_annotations.txt"),
        )
        require(base / "images", dataset=DATASET, is_dir=True, hint=_hint(root, "val/images/"))
        with ann.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                parts = line.rstrip("\n").split("\t")
                if len(parts) < 2:
                    raise malformed(
                        DATASET,
                        ann,
                        f"line {lineno} is not '<file>\\t<wnid>\\t...' (tab-separated)",
                    )
                if parts[1] not in index:
                    raise malformed(
                        DATASET, ann, f"line {lineno}: wnid {parts[1]} is not in wnids.txt"
                    )
                paths.append(f"images/{parts[0]}")
                labels.append(index[parts[1]])
        sample_ids = [p.split("/", 1)[1] for p in paths]
        if len(set(sample_ids)) != len(sample_ids):
            raise malformed(DATASET, ann, "a file name is listed twice")
    else:
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    return FileSplit(
        dataset="tinyimagenet",
        split="train" if split == "train" else "val",
        root=base,
        paths=tuple(paths),
        labels=np.array(labels, dtype=np.int64),
        sample_ids=np.array(sample_ids, dtype=str),
        class_names=class_names,
    )
