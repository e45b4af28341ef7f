"""Datasets for the producers, read from local copies (nothing is downloaded).

Every loader returns a `DatasetSplits`: uint8 images in NHWC layout plus int64 labels, optional
group attributes (one string array per attribute) and the class names. Images this small are
held whole in memory (and on the GPU by the trainer's fast path).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kdbias_audit.errors import KDAuditError

__all__ = [
    "DataNotFoundError",
    "DatasetSplits",
    "ImageSplit",
]


class DataNotFoundError(KDAuditError, FileNotFoundError):
    """A dataset's files are not where they were expected; the message says what to put where."""

    def __str__(self) -> str:  # FileNotFoundError would format (errno, strerror)
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class ImageSplit:
    """One split: ``images`` (N, H, W, 3) uint8, ``labels`` (N,) int64, ``sample_id`` (N,) int64,
    ``groups``: attribute name -> (N,) array of str (written as ``group.<name>``)."""

    images: np.ndarray
    labels: np.ndarray
    sample_id: np.ndarray
    groups: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.labels)
        if self.images.dtype != np.uint8 or self.images.ndim != 4 or self.images.shape[-1] != 3:
            raise ValueError(
                f"images must be (N, H, W, 3) uint8, got {self.images.shape} {self.images.dtype}"
            )
        if len(self.images) != n or len(self.sample_id) != n:
            raise ValueError("images, labels and sample_id must have the same length")
        for name, g in self.groups.items():
            if len(g) != n:
                raise ValueError(f"group {name!r} has {len(g)} values for {n} samples")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def image_size(self) -> tuple[int, int]:
        return int(self.images.shape[1]), int(self.images.shape[2])

    def subset(self, n: int | None) -> ImageSplit:
        """The first ``n`` samples (all when ``n`` is None)."""
        if n is None or n >= len(self):
            return self
        return ImageSplit(
            self.images[:n],
            self.labels[:n],
            self.sample_id[:n],
            {k: v[:n] for k, v in self.groups.items()},
        )


@dataclass(frozen=True)
class DatasetSplits:
    """A dataset's train and test splits with its class names."""

    name: str
    train: ImageSplit
    test: ImageSplit
    class_names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def channel_stats(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel mean and standard deviation of the training images, in [0, 1] units."""
        x = self.train.images.reshape(-1, 3)
        step = max(1, len(x) // 2_000_000)  # a strided sample is plenty for large sets
        x = x[::step].astype(np.float64) / 255.0
        std = np.maximum(x.std(axis=0), 1e-3)
        return tuple(float(v) for v in x.mean(axis=0)), tuple(float(v) for v in std)
