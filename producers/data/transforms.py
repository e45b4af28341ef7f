"""torchvision transforms of the file-based (streamed, DDP) image path."""

from __future__ import annotations

from typing import Any

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "image_transform"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def image_transform(size: int, *, train: bool, style: str) -> Any:
    """torchvision transforms for the file-based (DDP) path.

    ``style="imagenet"``: train ``RandomResizedCrop(size)`` + flip; test resize to
    ``size / 0.875`` + centre crop. ``style="crop"`` (CelebA, Tiny ImageNet: the paper's random
    crop + flip): resize the shorter side to ``size`` and centre-crop, then in training a
    ``RandomCrop(size, padding=size // 8)`` + flip. Both normalise with the ImageNet mean/std.
    """
    from torchvision import transforms as T

    norm = [T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    if style == "imagenet":
        if train:
            return T.Compose([T.RandomResizedCrop(size), T.RandomHorizontalFlip(), *norm])
        return T.Compose([T.Resize(round(size / 0.875)), T.CenterCrop(size), *norm])
    base = [T.Resize(size), T.CenterCrop(size)]
    if train:
        return T.Compose(
            [*base, T.RandomCrop(size, padding=max(1, size // 8)), T.RandomHorizontalFlip(), *norm]
        )
    return T.Compose([*base, *norm])
