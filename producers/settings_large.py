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
from pathlib import Path
from typing import Any

from kdbias_audit.errors import KDAuditError

from .data.transforms import IMAGENET_MEAN, IMAGENET_STD, image_transform
from .registry import SETTINGS, Setting, register_setting

__all__ = [
    "IMAGE_SETTINGS",
    "ImageSetting",
    "image_setting",
    "image_transform",
    "HATEXPLAIN_BATCH_SIZE",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
]

HATEXPLAIN_BATCH_SIZE = 32

ImageSetting = Setting  # deprecated alias: a file-based image setting is a `Setting` with ``files``


def _celeba_files(root: Path, *, label: str | None = "Smiling", data_seed: int = 0, **_: Any):
    """Balanced train (undersampling seeded by ``data_seed``) and test split of CelebA."""
    from .data.celeba import load_celeba

    label = label or "Smiling"
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


def _root(opts: Any, name: str) -> Path:
    if opts.root is None:
        raise KDAuditError(f"setting {name!r} reads local files: pass --data-root DIR")
    return Path(opts.root)


def _head(split: Any, n: int | None) -> Any:
    return split if n is None or n >= len(split) else split.subset(range(n))


def _in_memory(
    name: str, files: Callable[..., tuple[Any, Any]], default_size: int, label: str | None = None
) -> Callable[[Any], Any]:
    """A core ``Setting.load``: the file splits decoded into uint8 arrays at ``--image-size``."""

    def load(opts: Any) -> Any:
        from .data import DatasetSplits

        train, test = files(_root(opts, name), label=label, data_seed=opts.data_seed)
        size = opts.image_size or default_size
        train, test = _head(train, opts.train_size), _head(test, opts.test_size)
        return DatasetSplits(name, train.to_memory(size), test.to_memory(size), train.class_names)

    return load


def _not_in_memory(name: str, why: str) -> Callable[[Any], Any]:
    def load(opts: Any) -> Any:
        raise KDAuditError(
            f"setting {name!r} {why}; run it through python -m producers.sweep "
            "(under torchrun for several GPUs)"
        )

    return load


def _entries() -> list[Setting]:
    celeba_doc = (
        "CelebA {label} (binary), groups young/male; train balanced by undersampling; "
        "needs list_attr_celeba.txt, list_eval_partition.txt, img_align_celeba/"
    )
    too_big = "reads 1.28M JPEGs and does not fit the in-memory trainer"
    celeba = [
        Setting(
            name,
            _in_memory(name, _celeba_files, 128, label),
            "resnet50",
            "resnet18",
            128,
            256,
            2,
            names,
            ("young", "male"),
            crop_padding=16,
            train_size=train_size,
            description=celeba_doc.format(label=label),
            label=label,
            files=_celeba_files,
        )
        for name, label, names, train_size in (
            ("celeba", "Smiling", ("Not Smiling", "Smiling"), 156_160),
            ("celeba_eyeglasses", "Eyeglasses", ("No Eyeglasses", "Eyeglasses"), None),
        )
    ]
    return [
        *celeba,
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
            train_size=100_000,
            description="Tiny ImageNet (tiny-imagenet-200/): train, val as the test split",
            files=_tiny_files,
        ),
        Setting(
            "imagenet",
            _not_in_memory("imagenet", too_big),
            "resnet50",
            "resnet18",
            224,
            512,
            1000,
            (),
            train_size=1_281_167,
            description="ImageNet train/ and val/ class folders; DDP (torchrun)",
            runner="ddp",
            files=_imagenet_files,
            transform_style="imagenet",
        ),
        Setting(
            "imagenet_vit",
            _not_in_memory("imagenet_vit", too_big),
            "vit_base_patch16_224",
            "tiny_vit_5m_224",
            224,
            512,
            1000,
            (),
            train_size=1_281_167,
            description="ImageNet, ViT-Base -> TinyViT; DDP (torchrun), AdamW",
            runner="ddp",
            optimizer="adamw",
            files=_imagenet_files,
            transform_style="imagenet",
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
            runner="text",
            optimizer="adamw",
            lr=2e-5,
            weight_decay=0.01,
        ),
    ]


def _register() -> dict[str, Setting]:
    out = {}
    for s in _entries():
        if s.name not in SETTINGS:
            register_setting(s)
        if SETTINGS[s.name].files is not None:
            out[s.name] = SETTINGS[s.name]
    return out


IMAGE_SETTINGS: dict[str, Setting] = _register()


def image_setting(name: str) -> Setting:
    """A file-based image setting (one with ``files``), for `producers.ddp`."""
    try:
        return IMAGE_SETTINGS[name]
    except KeyError:
        raise KDAuditError(
            f"unknown image setting {name!r}; known: {', '.join(sorted(IMAGE_SETTINGS))}"
        ) from None
