"""scikit-learn's bundled handwritten digits (UCI optdigits test set): real images, no download.

``sklearn.datasets.load_digits`` ships 1,797 grey 8x8 images of the digits 0-9 (pixel values
0..16) inside the scikit-learn package. They are scaled to 0..255, repeated over three channels
and enlarged by pixel repetition to ``image_size`` (a multiple of 8; default 16, so LeNet-5's
5x5 convolutions have room).

Split rule: a stratified split fixed by the dataset seed (``data_seed``, default 0): in each
class, a random 30% of its images (rounded) form the test split, the rest the training split.
``sample_id`` is the image's index in ``load_digits()`` order, so it identifies the same image
whatever the split.
"""

from __future__ import annotations

import numpy as np

from . import DataNotFoundError, DatasetSplits, ImageSplit

__all__ = ["DIGIT_NAMES", "load_digits_splits"]

DIGIT_NAMES = tuple(str(d) for d in range(10))


def load_digits_splits(
    *, image_size: int = 16, test_fraction: float = 0.3, seed: int = 0
) -> DatasetSplits:
    """Train and test splits of the scikit-learn digits (see the module docstring for the rule)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:  # pragma: no cover - sklearn is part of the producers extra
        raise DataNotFoundError(
            "the digits setting needs scikit-learn: pip install scikit-learn"
        ) from None
    if image_size % 8 or image_size < 8:
        raise ValueError(f"digits image size must be a multiple of 8, got {image_size}")
    data = load_digits()
    images = np.round(data.images * (255.0 / 16.0)).astype(np.uint8)  # (N, 8, 8)
    k = image_size // 8
    images = np.repeat(np.repeat(images, k, axis=1), k, axis=2)
    images = np.repeat(images[..., None], 3, axis=3)  # (N, S, S, 3)
    labels = data.target.astype(np.int64)

    rng = np.random.default_rng([seed, 8])
    test = np.zeros(len(labels), dtype=bool)
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        test[rng.choice(idx, size=int(round(test_fraction * len(idx))), replace=False)] = True
    ids = np.arange(len(labels), dtype=np.int64)

    def split(mask: np.ndarray) -> ImageSplit:
        order = np.flatnonzero(mask)
        return ImageSplit(images[order], labels[order], ids[order])

    return DatasetSplits("digits", split(~test), split(test), DIGIT_NAMES)
