"""ImageNet (ILSVRC 2012) from a local copy in the standard class-folder layout.

Expected layout::

    ROOT/train/<wnid>/*.JPEG    # 1,000 class folders
    ROOT/val/<wnid>/*.JPEG      # the 50,000 validation images sorted into the same folders
                                # (e.g. with the usual valprep.sh); this is the test split

Classes are the folder names of ``train/`` in sorted order (as ``torchvision.datasets.ImageFolder``
numbers them); every folder of ``val/`` must be one of them. Class names: the first name per
wnid from an optional ``ROOT/LOC_synset_mapping.txt``, ``ROOT/synset_words.txt`` or
``ROOT/words.txt`` (``"<wnid> <name>, <synonym>"``), else the wnid itself. Sample ids are the
paths inside the split folder (``n01440764/ILSVRC2012_val_00000293.JPEG``). Images (a few are
grey or CMYK) are converted to RGB when loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from ._local import FileSplit, first_name_per_class, list_images, malformed, read_words, require

DATASET = "ImageNet"
NAME_FILES = ("LOC_synset_mapping.txt", "synset_words.txt", "words.txt")


def read_classes(root: str | Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(wnids, class_names)``: sorted folder names of ``train/`` and their readable names."""
    root = Path(root)
    train = require(
        root / "train",
        dataset=DATASET,
        is_dir=True,
        hint=f"put the training images in {root}/train/<wnid>/*.JPEG",
    )
    wnids = tuple(sorted(p.name for p in train.iterdir() if p.is_dir()))
    if not wnids:
        raise malformed(DATASET, train, "no class folders (expected train/<wnid>/*.JPEG)")
    words: dict[str, str] = {}
    for name in NAME_FILES:
        if (root / name).is_file():
            words = read_words(root / name)
            break
    return wnids, first_name_per_class(wnids, words)


def load_imagenet(root: str | Path, *, split: Literal["train", "val", "test"]) -> FileSplit:
    """Load ``train`` or ``val`` (= ``test``) of ImageNet as an :class:`FileSplit`."""
    root = Path(root)
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    wnids, class_names = read_classes(root)
    folder = "train" if split == "train" else "val"
    base = require(
        root / folder,
        dataset=DATASET,
        is_dir=True,
        hint=f"put the validation images, sorted into class folders, in {root}/val/<wnid>/*.JPEG",
    )
    index = {w: i for i, w in enumerate(wnids)}
    extra = sorted(p.name for p in base.iterdir() if p.is_dir() and p.name not in index)
    if extra:
        raise malformed(DATASET, base, f"class folder {extra[0]} is not among the train/ classes")
    paths: list[str] = []
    labels: list[int] = []
    for w in wnids:
        if not (base / w).is_dir():
            continue
        for p in list_images(base / w):
            paths.append(f"{w}/{p.name}")
            labels.append(index[w])
    if not paths:
        raise malformed(DATASET, base, "no images found (expected <wnid>/*.JPEG)")
    return FileSplit(
        dataset="imagenet",
        split=folder,
        root=base,
        paths=tuple(paths),
        labels=np.array(labels, dtype=np.int64),
        sample_ids=np.array(paths, dtype=str),
        class_names=class_names,
    )
