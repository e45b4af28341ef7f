"""Shared pieces of the large-setting loaders: missing-file errors, image splits, image loading.

Nothing here downloads anything: every loader reads a local copy and raises
:class:`producers.data.DataNotFoundError` (one line: which file to put where) when a piece is missing.
torch is not imported at module level; :class:`ImageFileDataset` is a plain map-style dataset
(``__len__`` + ``__getitem__``) that ``torch.utils.data.DataLoader`` accepts as it is.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import DataNotFoundError

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png", ".bmp", ".webp")


DatasetFileError = DataNotFoundError  # the core's error: one line, says what to put where


def require(path: Path, *, dataset: str, hint: str, is_dir: bool = False) -> Path:
    """Return ``path`` if it exists (as a folder when ``is_dir``), else raise a one-line error.

    The message reads ``"<dataset>: missing <path>; <hint>"``, e.g.
    ``"CelebA: missing /data/celeba/list_eval_partition.txt; put list_eval_partition.txt
    (CelebA Eval/ folder) in /data/celeba"``.
    """
    ok = path.is_dir() if is_dir else path.is_file()
    if not ok:
        kind = "folder" if is_dir else "file"
        raise DatasetFileError(f"{dataset}: missing {kind} {path}; {hint}")
    return path


def malformed(dataset: str, path: Path, problem: str) -> DatasetFileError:
    """A one-line error for a file that exists but cannot be parsed."""
    return DatasetFileError(f"{dataset}: {path}: {problem}")


def first_name_per_class(wnids: Sequence[str], words: Mapping[str, str]) -> tuple[str, ...]:
    """Readable, unique class names from WordNet ids and a ``wnid -> "name, synonym, ..."`` map.

    The first comma-separated name is used (``"goldfish, Carassius auratus"`` -> ``goldfish``);
    a name shared by several classes (ImageNet has two ``crane`` and two ``maillot``) gets its
    wnid appended (``crane (n02012849)``); a wnid without an entry keeps the wnid as its name.
    """
    first = [
        words[w].split(",")[0].strip() if w in words and words[w].strip() else w for w in wnids
    ]
    counts: dict[str, int] = {}
    for name in first:
        counts[name] = counts.get(name, 0) + 1
    return tuple(
        name if counts[name] == 1 or name == w else f"{name} ({w})"
        for name, w in zip(first, wnids, strict=False)
    )


def read_words(path: Path) -> dict[str, str]:
    """Parse a ``wnid<whitespace>names`` file (Tiny ImageNet ``words.txt``, ``LOC_synset_mapping.txt``)."""
    words: dict[str, str] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            parts = line.split("\t", 1) if "\t" in line else line.split(None, 1)
            words[parts[0].strip()] = parts[1].strip() if len(parts) > 1 else ""
    return words


@dataclass(frozen=True)
class FileSplit:
    """One split of an image dataset as file paths, labels, sample ids and sensitive groups.

    Attributes
    ----------
    dataset, split : str
        Names, e.g. ``"celeba"``, ``"test"``.
    root : Path
        Folder the ``paths`` are relative to.
    paths : tuple of str
        Image files relative to ``root``.
    labels : ndarray of int64, shape (N,)
        Class index per image, in ``[0, len(class_names))``.
    sample_ids : ndarray of str, shape (N,)
        Stable, unique id per image (its file name or path inside the split), written as
        ``sample_id`` in prediction files.
    class_names : tuple of str
    groups : dict of str -> ndarray of str
        Sensitive attributes (``young``, ``male`` for CelebA), written as ``group.<name>``.
    positive_class : int or None
        The positive class of a binary task.
    """

    dataset: str
    split: str
    root: Path
    paths: tuple[str, ...]
    labels: np.ndarray
    sample_ids: np.ndarray
    class_names: tuple[str, ...]
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    positive_class: int | None = None

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def subset(self, indices: np.ndarray | Sequence[int]) -> FileSplit:
        """The rows ``indices`` (in that order) as a new split."""
        idx = np.asarray(indices, dtype=np.int64)
        return FileSplit(
            dataset=self.dataset,
            split=self.split,
            root=self.root,
            paths=tuple(self.paths[i] for i in idx),
            labels=self.labels[idx],
            sample_ids=self.sample_ids[idx],
            class_names=self.class_names,
            groups={k: v[idx] for k, v in self.groups.items()},
            positive_class=self.positive_class,
        )

    def to_memory(self, size: int, *, workers: int | None = None) -> Any:
        """Decode the images (:func:`decode_images`) into the core's in-memory ``ImageSplit``."""
        from . import ImageSplit

        return ImageSplit(
            decode_images(self, size, workers=workers),
            self.labels,
            self.sample_ids,
            dict(self.groups),
        )

    def dataset_view(self, transform: Callable[[Any], Any] | None = None) -> ImageFileDataset:
        """A map-style dataset over this split yielding ``(transform(image), label)``."""
        return ImageFileDataset(self, transform)


def load_rgb(path: Path) -> Any:
    """Open an image with PIL and convert it to RGB (grey and CMYK files exist in ImageNet)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except FileNotFoundError:
        raise DatasetFileError(f"missing image file {path}") from None


class ImageFileDataset:
    """Map-style dataset over an :class:`FileSplit`: item ``i`` is ``(transform(rgb_image), label)``."""

    def __init__(self, split: FileSplit, transform: Callable[[Any], Any] | None = None) -> None:
        self.split = split
        self.transform = transform

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        img = load_rgb(self.split.root / self.split.paths[index])
        if self.transform is not None:
            img = self.transform(img)
        return img, int(self.split.labels[index])


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside ``folder`` (by extension, case-insensitive), sorted by name."""
    with os.scandir(folder) as entries:  # scandir: no extra stat per file (1.28M in ImageNet train)
        names = [
            e.name
            for e in entries
            if os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS and e.is_file()
        ]
    return [folder / n for n in sorted(names)]


def _resize_center_crop(img: Any, size: int) -> np.ndarray:
    from PIL import Image

    w, h = img.size
    if (w, h) != (size, size):
        scale = size / min(w, h)
        nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
        img = img.resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=None)
        left, top = (nw - size) // 2, (nh - size) // 2
        img = img.crop((left, top, left + size, top + size))
    return np.asarray(img, dtype=np.uint8)


def decode_images(split: FileSplit, size: int, *, workers: int | None = None) -> np.ndarray:
    """Decode every image of ``split`` to RGB, resize the shorter side to ``size`` and centre-crop.

    Returns an ``(N, size, size, 3)`` uint8 array (NHWC), the layout the core trainer keeps in
    memory or on the GPU. Decoding runs in a thread pool (PIL releases the GIL while decoding).
    Memory: ``N * size * size * 3`` bytes (Tiny ImageNet train at 64 px: 1.2 GB; balanced CelebA
    train at 128 px: 7.7 GB).
    """
    from concurrent.futures import ThreadPoolExecutor

    out = np.empty((len(split), size, size, 3), dtype=np.uint8)

    def one(i: int) -> None:
        out[i] = _resize_center_crop(load_rgb(split.root / split.paths[i]), size)

    workers = workers or min(32, (os.cpu_count() or 1) + 4)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(one, range(len(split)), chunksize=256):
            pass
    return out
