"""CIFAR-10, CIFAR-100 and SVHN from their official on-disk formats.

Where to put the files (``root`` is the directory you pass as ``--data-root``):

- CIFAR-10, **binary version** (preferred; needs no unpickling):
  ``root/cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin`` (+ ``batches.meta.txt``),
  from ``cifar-10-binary.tar.gz``.
- CIFAR-100, binary version: ``root/cifar-100-binary/{train,test}.bin``
  (+ ``fine_label_names.txt``), from ``cifar-100-binary.tar.gz``.
- The **python version** (``cifar-10-batches-py/``, ``cifar-100-python/``) stores pickled
  dicts. This project never unpickles third-party files by default; pass
  ``allow_pickle=True`` (``--allow-pickle`` on the command line) to read these official
  dataset files that *you* placed locally, knowing that unpickling runs code from the file.
- SVHN (cropped digits): ``root/svhn/{train,test}_32x32.mat`` (MATLAB files, read with
  `scipy.io.loadmat`; label 10 means digit 0).

Binary record layouts (from the dataset page): CIFAR-10 ``<1 byte label><3072 bytes image>``;
CIFAR-100 ``<1 byte coarse label><1 byte fine label><3072 bytes>``; image bytes are the red,
green and blue 32x32 planes, row-major.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import DataNotFoundError, DatasetSplits, ImageSplit

__all__ = [
    "load_cifar10",
    "load_cifar100",
    "load_svhn",
    "CIFAR10_CLASSES",
    "CIFAR100_CLASSES",
    "SVHN_CLASSES",
]

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
CIFAR100_CLASSES = (
    "apple",
    "aquarium_fish",
    "baby",
    "bear",
    "beaver",
    "bed",
    "bee",
    "beetle",
    "bicycle",
    "bottle",
    "bowl",
    "boy",
    "bridge",
    "bus",
    "butterfly",
    "camel",
    "can",
    "castle",
    "caterpillar",
    "cattle",
    "chair",
    "chimpanzee",
    "clock",
    "cloud",
    "cockroach",
    "couch",
    "crab",
    "crocodile",
    "cup",
    "dinosaur",
    "dolphin",
    "elephant",
    "flatfish",
    "forest",
    "fox",
    "girl",
    "hamster",
    "house",
    "kangaroo",
    "keyboard",
    "lamp",
    "lawn_mower",
    "leopard",
    "lion",
    "lizard",
    "lobster",
    "man",
    "maple_tree",
    "motorcycle",
    "mountain",
    "mouse",
    "mushroom",
    "oak_tree",
    "orange",
    "orchid",
    "otter",
    "palm_tree",
    "pear",
    "pickup_truck",
    "pine_tree",
    "plain",
    "plate",
    "poppy",
    "porcupine",
    "possum",
    "rabbit",
    "raccoon",
    "ray",
    "road",
    "rocket",
    "rose",
    "sea",
    "seal",
    "shark",
    "shrew",
    "skunk",
    "skyscraper",
    "snail",
    "snake",
    "spider",
    "squirrel",
    "streetcar",
    "sunflower",
    "sweet_pepper",
    "table",
    "tank",
    "telephone",
    "television",
    "tiger",
    "tractor",
    "train",
    "trout",
    "tulip",
    "turtle",
    "wardrobe",
    "whale",
    "willow_tree",
    "wolf",
    "woman",
    "worm",
)
SVHN_CLASSES = tuple(str(d) for d in range(10))

_IMG_BYTES = 3 * 32 * 32


def _missing(what: str, root: Path, expected: list[str], hint: str) -> DataNotFoundError:
    return DataNotFoundError(
        f"{root}: {what} not found; expected {', '.join(expected)} under {root} ({hint})"
    )


def _read_records(path: Path, label_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    raw = np.fromfile(path, dtype=np.uint8)
    rec = label_bytes + _IMG_BYTES
    if raw.size == 0 or raw.size % rec:
        raise DataNotFoundError(
            f"{path}: size {raw.size} bytes is not a multiple of the {rec}-byte record"
        )
    raw = raw.reshape(-1, rec)
    images = raw[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), raw[:, :label_bytes].astype(np.int64)


def _read_names(path: Path, default: tuple[str, ...]) -> tuple[str, ...]:
    if not path.is_file():
        return default
    names = tuple(line.strip() for line in path.read_text().splitlines() if line.strip())
    return names if len(names) == len(default) else default


def _split(images: np.ndarray, labels: np.ndarray) -> ImageSplit:
    return ImageSplit(images, labels.astype(np.int64), np.arange(len(labels), dtype=np.int64))


def _unpickle(path: Path) -> dict:
    import pickle

    with open(path, "rb") as f:
        return pickle.load(f, encoding="bytes")  # noqa: S301 - opt-in, official dataset files only


def _python_images(data: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(
        np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    )


def load_cifar10(root: str | Path, *, allow_pickle: bool = False) -> DatasetSplits:
    """CIFAR-10 (50,000 train / 10,000 test, 32x32) from ``root`` (see the module docstring)."""
    root = Path(root)
    bdir = root / "cifar-10-batches-bin"
    train_files = [bdir / f"data_batch_{i}.bin" for i in range(1, 6)]
    if all(p.is_file() for p in train_files) and (bdir / "test_batch.bin").is_file():
        parts = [_read_records(p, 1) for p in train_files]
        xtr = np.concatenate([p[0] for p in parts])
        ytr = np.concatenate([p[1][:, 0] for p in parts])
        xte, yte = _read_records(bdir / "test_batch.bin", 1)
        names = _read_names(bdir / "batches.meta.txt", CIFAR10_CLASSES)
        return DatasetSplits("cifar10", _split(xtr, ytr), _split(xte, yte[:, 0]), names)
    pdir = root / "cifar-10-batches-py"
    if pdir.is_dir() and (pdir / "test_batch").is_file():
        if not allow_pickle:
            raise DataNotFoundError(
                f"{pdir}: the python version of CIFAR-10 is pickled; pass --allow-pickle to read "
                f"these official files, or use the binary version ({bdir})"
            )
        batches = [_unpickle(pdir / f"data_batch_{i}") for i in range(1, 6)]
        test = _unpickle(pdir / "test_batch")
        xtr = np.concatenate([_python_images(b[b"data"]) for b in batches])
        ytr = np.concatenate([np.asarray(b[b"labels"]) for b in batches])
        return DatasetSplits(
            "cifar10",
            _split(xtr, ytr),
            _split(_python_images(test[b"data"]), np.asarray(test[b"labels"])),
            CIFAR10_CLASSES,
        )
    raise _missing(
        "CIFAR-10",
        root,
        ["cifar-10-batches-bin/data_batch_{1..5}.bin", "test_batch.bin"],
        "unpack cifar-10-binary.tar.gz there",
    )


def load_cifar100(root: str | Path, *, allow_pickle: bool = False) -> DatasetSplits:
    """CIFAR-100 (fine labels; 50,000 train / 10,000 test, 32x32) from ``root``."""
    root = Path(root)
    bdir = root / "cifar-100-binary"
    if (bdir / "train.bin").is_file() and (bdir / "test.bin").is_file():
        xtr, ltr = _read_records(bdir / "train.bin", 2)
        xte, lte = _read_records(bdir / "test.bin", 2)
        names = _read_names(bdir / "fine_label_names.txt", CIFAR100_CLASSES)
        return DatasetSplits("cifar100", _split(xtr, ltr[:, 1]), _split(xte, lte[:, 1]), names)
    pdir = root / "cifar-100-python"
    if (pdir / "train").is_file() and (pdir / "test").is_file():
        if not allow_pickle:
            raise DataNotFoundError(
                f"{pdir}: the python version of CIFAR-100 is pickled; pass --allow-pickle to read "
                f"these official files, or use the binary version ({bdir})"
            )
        tr, te = _unpickle(pdir / "train"), _unpickle(pdir / "test")
        return DatasetSplits(
            "cifar100",
            _split(_python_images(tr[b"data"]), np.asarray(tr[b"fine_labels"])),
            _split(_python_images(te[b"data"]), np.asarray(te[b"fine_labels"])),
            CIFAR100_CLASSES,
        )
    raise _missing(
        "CIFAR-100",
        root,
        ["cifar-100-binary/train.bin", "cifar-100-binary/test.bin"],
        "unpack cifar-100-binary.tar.gz there",
    )


def load_svhn(root: str | Path) -> DatasetSplits:
    """SVHN cropped digits (73,257 train / 26,032 test, 32x32) from ``root/svhn/*.mat``.

    The ``extra`` split is not used (the study trains on ``train``). Label 10 is digit 0.
    """
    from scipy.io import loadmat

    root = Path(root)
    sdir = root / "svhn"
    files = {s: sdir / f"{s}_32x32.mat" for s in ("train", "test")}
    if not all(p.is_file() for p in files.values()):
        raise _missing(
            "SVHN",
            root,
            ["svhn/train_32x32.mat", "svhn/test_32x32.mat"],
            "the cropped-digits format 2 files",
        )
    splits = {}
    for s, p in files.items():
        mat = loadmat(p)
        x = np.asarray(mat["X"], dtype=np.uint8)  # (32, 32, 3, N)
        y = np.asarray(mat["y"]).reshape(-1).astype(np.int64)
        if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != len(y):
            raise DataNotFoundError(f"{p}: expected X of shape (32, 32, 3, N) and y of N labels")
        y[y == 10] = 0
        splits[s] = _split(np.ascontiguousarray(x.transpose(3, 0, 1, 2)), y)
    return DatasetSplits("svhn", splits["train"], splits["test"], SVHN_CLASSES)
