"""The study's larger settings: CelebA, Tiny ImageNet, ImageNet (DDP) and HateXplain.

Registered in the core registry (`producers.settings`) on import, so the sweep command runs
them like the small settings:

- ``celeba``: ResNet-50 -> ResNet-18 (timm), 128 px, batch 256, 2 classes (Smiling), groups
  ``young``, ``male``;
- ``celeba_eyeglasses``: the same with the ``Eyeglasses`` label (the paper's Table 8);
- ``tinyimagenet``: ResNet-50 -> ResNet-18, 64 px, batch 512, 200 classes;
- ``imagenet``: ResNet-50 -> ResNet-18, 224 px, batch 512, 1000 classes;
- ``imagenet_vit``: ``vit_base_patch16_224`` -> ``tiny_vit_5m_224`` (timm), 224 px, batch 512;
- ``hatexplain``: BERT-base -> DistilBERT, 128 word pieces, batch 32, 2 classes (toxic),
  groups ``race``, ``gender``.

Batch sizes are the paper's (Appendix C: CelebA 256, Tiny ImageNet and ImageNet 512); the
paper gives none for HateXplain, we use 32 (the usual BERT fine-tuning batch). CelebA's label
is ``Smiling`` (``celeba``) or ``Eyeglasses`` (``celeba_eyeglasses``, the paper's Table 8). The
paper does not give CelebA's input size; 128 px keeps the balanced training set (156k images)
at 7.7 GB of uint8 so the core's device-resident fast path applies; ``--image-size 224`` works
too (23.5 GB). The TinyViT variant is not named in the paper; we use the 5M one.

How each setting trains:

- CelebA and Tiny ImageNet: the core trainer (`producers.train`), images decoded into
  memory once per sweep invocation (decoding is threaded). For several GPUs, `producers.ddp`
  through `producers.sweep_large` under ``torchrun``.
- ImageNet (1.28M images) does not fit in memory: it trains through `producers.ddp`
  (``torchrun``, JPEGs read by DataLoader workers); ``IMAGE_SETTINGS`` below gives that module
  the loaders and transforms of every image setting.
- HateXplain: `producers.text` (transformers; local model directories).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdbias_audit.errors import KDAuditError

__all__ = [
    "IMAGE_SETTINGS",
    "ImageSetting",
    "image_setting",
    "image_transform",
    "HATEXPLAIN_BATCH_SIZE",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HATEXPLAIN_BATCH_SIZE = 32


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


@dataclass(frozen=True)
class ImageSetting:
    """What `producers.ddp` needs to know about a file-based image setting."""

    name: str
    image_size: int
    batch_size: int
    teacher_arch: str
    student_arch: str
    loader: Callable[
        ..., tuple[Any, Any]
    ]  # loader(root, label=...) -> (train FileSplit, test FileSplit)
    style: str = "crop"
    optimizer: str = "sgd"

    def load(
        self, root: str | Path, *, label: str = "Smiling", data_seed: int = 0
    ) -> tuple[Any, Any]:
        return self.loader(Path(root), label=label, data_seed=data_seed)

    def transform(self, size: int, *, train: bool) -> Any:
        return image_transform(size, train=train, style=self.style)


def _celeba_files(root: Path, *, label: str = "Smiling", data_seed: int = 0, **_: Any):
    """Balanced train (undersampling seeded by ``data_seed``) and test split of CelebA."""
    from .data.celeba import load_celeba

    return (
        load_celeba(root, split="train", label=label, balance_seed=data_seed),
        load_celeba(root, split="test", label=label),
    )


def _tiny_files(root: Path, **_: Any):
    from .data.tinyimagenet import load_tinyimagenet

    return load_tinyimagenet(root, split="train"), load_tinyimagenet(root, split="val")


def _imagenet_files(root: Path, **_: Any):
    from .data.imagenet import load_imagenet

    return load_imagenet(root, split="train"), load_imagenet(root, split="val")


IMAGE_SETTINGS: dict[str, ImageSetting] = {
    s.name: s
    for s in (
        ImageSetting("celeba", 128, 256, "resnet50", "resnet18", _celeba_files),
        ImageSetting(
            "celeba_eyeglasses",
            128,
            256,
            "resnet50",
            "resnet18",
            lambda root, data_seed=0, **_: _celeba_files(
                root, label="Eyeglasses", data_seed=data_seed
            ),
        ),
        ImageSetting("tinyimagenet", 64, 512, "resnet50", "resnet18", _tiny_files),
        ImageSetting(
            "imagenet", 224, 512, "resnet50", "resnet18", _imagenet_files, style="imagenet"
        ),
        ImageSetting(
            "imagenet_vit",
            224,
            512,
            "vit_base_patch16_224",
            "tiny_vit_5m_224",
            _imagenet_files,
            style="imagenet",
            optimizer="adamw",
        ),
    )
}


def image_setting(name: str) -> ImageSetting:
    """The file-based description of an image setting (for `producers.ddp`)."""
    try:
        return IMAGE_SETTINGS[name]
    except KeyError:
        raise KDAuditError(
            f"unknown image setting {name!r}; known: {', '.join(sorted(IMAGE_SETTINGS))}"
        ) from None


# --------------------------------------------------------------------------------------------
# registration in the core registry (producers.settings)


def _root(opts: Any, name: str) -> Path:
    if opts.root is None:
        raise KDAuditError(f"setting {name!r} reads local files: pass --data-root DIR")
    return Path(opts.root)


def _head(split: Any, n: int | None) -> Any:
    return split if n is None or n >= len(split) else split.subset(range(n))


def _in_memory(
    name: str, files: Callable[..., tuple[Any, Any]], default_size: int
) -> Callable[[Any], Any]:
    """A core ``Setting.load``: the file splits decoded into uint8 arrays at ``--image-size``."""

    def load(opts: Any) -> Any:
        from .data import DatasetSplits

        train, test = files(_root(opts, name), data_seed=opts.data_seed)
        size = opts.image_size or default_size
        train, test = _head(train, opts.train_size), _head(test, opts.test_size)
        return DatasetSplits(name, train.to_memory(size), test.to_memory(size), train.class_names)

    return load


def _not_in_memory(name: str, why: str) -> Callable[[Any], Any]:
    def load(opts: Any) -> Any:
        raise KDAuditError(
            f"setting {name!r} {why}; run it through python -m producers.sweep "
            "(or producers.sweep_large; under torchrun for several GPUs)"
        )

    return load


def _celeba_balanced(label: str) -> Callable[..., tuple[Any, Any]]:
    def files(root: Path, *, data_seed: int = 0) -> tuple[Any, Any]:
        return _celeba_files(root, label=label, data_seed=data_seed)

    return files


def _register() -> None:
    from .settings import SETTINGS, Setting, register_setting

    celeba_doc = (
        "CelebA {label} (binary), groups young/male; train balanced by undersampling; "
        "needs list_attr_celeba.txt, list_eval_partition.txt, img_align_celeba/"
    )
    entries = [
        Setting(
            "celeba",
            _in_memory("celeba", _celeba_balanced("Smiling"), 128),
            "resnet50",
            "resnet18",
            128,
            256,
            2,
            ("Not Smiling", "Smiling"),
            ("young", "male"),
            crop_padding=16,
            description=celeba_doc.format(label="Smiling"),
            extra={"label": "Smiling"},
        ),
        Setting(
            "celeba_eyeglasses",
            _in_memory("celeba_eyeglasses", _celeba_balanced("Eyeglasses"), 128),
            "resnet50",
            "resnet18",
            128,
            256,
            2,
            ("No Eyeglasses", "Eyeglasses"),
            ("young", "male"),
            crop_padding=16,
            description=celeba_doc.format(label="Eyeglasses"),
            extra={"label": "Eyeglasses"},
        ),
        # class names come from the local words.txt at load time (written into every file)
        Setting(
            "tinyimagenet",
            _in_memory("tinyimagenet", _tiny_files, 64),
            "resnet50",
            "resnet18",
            64,
            512,
            200,
            (),
            crop_padding=8,
            description="Tiny ImageNet (tiny-imagenet-200/): train, val as the test split",
        ),
        Setting(
            "imagenet",
            _not_in_memory("imagenet", "reads 1.28M JPEGs and does not fit the in-memory trainer"),
            "resnet50",
            "resnet18",
            224,
            512,
            1000,
            (),
            description="ImageNet train/ and val/ class folders; DDP via producers.sweep_large",
            extra={"runner": "ddp"},
        ),
        Setting(
            "imagenet_vit",
            _not_in_memory(
                "imagenet_vit", "reads 1.28M JPEGs and does not fit the in-memory trainer"
            ),
            "vit_base_patch16_224",
            "tiny_vit_5m_224",
            224,
            512,
            1000,
            (),
            description="ImageNet, ViT-Base -> TinyViT; DDP via producers.sweep_large",
            extra={"runner": "ddp", "optimizer": "adamw"},
        ),
        Setting(
            "hatexplain",
            _not_in_memory("hatexplain", "is a text setting (transformers)"),
            "bert-base-uncased",
            "distilbert-base-uncased",
            0,
            HATEXPLAIN_BATCH_SIZE,
            2,
            ("normal", "toxic"),
            ("race", "gender"),
            crop_padding=0,
            hflip=False,
            epochs=3,
            description="HateXplain toxic vs normal, groups race/gender; BERT -> DistilBERT from local model dirs",
            extra={"runner": "text"},
        ),
    ]
    for s in entries:
        if s.name not in SETTINGS:
            register_setting(s)


_register()
