"""Registry of experiment settings: dataset + teacher/student architectures + recipe.

A `Setting` bundles what a sweep needs to know about one experiment of the study: how to load
the data, which teacher and student to train, the image size, batch size and class names, and
which group attributes the test split carries. ``SETTINGS[name]`` looks one up;
`register_setting` adds one (another module can register more settings and be imported at the
end of this file).

Registered here (paper Appendix C):

=============  ====================  ==========  =====  =====  ==================
name           teacher -> student    image size  batch  C      groups
=============  ====================  ==========  =====  =====  ==================
``trifeature`` resnet20 -> lenet5    224         64     10     color, texture
``cifar10``    resnet56 -> resnet20  32          128    10     --
``cifar100``   resnet56 -> resnet20  32          128    100    --
``svhn``       resnet56 -> resnet20  32          128    10     --
=============  ====================  ==========  =====  =====  ==================
"""

from __future__ import annotations

from pathlib import Path

from kdbias_audit.errors import KDAuditError

from .data import DatasetSplits
from .registry import SETTINGS, DataOptions, Setting, get_setting, register_setting

__all__ = ["DataOptions", "SETTINGS", "Setting", "get_setting", "register_setting"]


def _need_root(opts: DataOptions, name: str) -> Path:
    if opts.root is None:
        raise KDAuditError(f"setting {name!r} reads local files: pass --data-root DIR")
    return Path(opts.root)


def _subset(d: DatasetSplits, opts: DataOptions) -> DatasetSplits:
    if opts.image_size not in (None, d.train.image_size[0]):
        raise KDAuditError(
            f"{d.name} images are {d.train.image_size[0]}x{d.train.image_size[1]}; "
            f"--image-size {opts.image_size} is only for generated datasets"
        )
    return DatasetSplits(
        d.name, d.train.subset(opts.train_size), d.test.subset(opts.test_size), d.class_names
    )


def _load_trifeature(opts: DataOptions) -> DatasetSplits:
    from .data.trifeature import TEST_SIZE, TRAIN_SIZE, load_trifeature

    return load_trifeature(
        image_size=opts.image_size or 224,
        train_size=TRAIN_SIZE if opts.train_size is None else opts.train_size,
        test_size=TEST_SIZE if opts.test_size is None else opts.test_size,
        seed=opts.data_seed,
    )


def _load_cifar10(opts: DataOptions) -> DatasetSplits:
    from .data.cifar import load_cifar10

    return _subset(load_cifar10(_need_root(opts, "cifar10"), allow_pickle=opts.allow_pickle), opts)


def _load_cifar100(opts: DataOptions) -> DatasetSplits:
    from .data.cifar import load_cifar100

    return _subset(
        load_cifar100(_need_root(opts, "cifar100"), allow_pickle=opts.allow_pickle), opts
    )


def _load_svhn(opts: DataOptions) -> DatasetSplits:
    from .data.cifar import load_svhn

    return _subset(load_svhn(_need_root(opts, "svhn")), opts)


def _load_digits(opts: DataOptions) -> DatasetSplits:
    from .data.digits import load_digits_splits

    d = load_digits_splits(image_size=opts.image_size or 16, seed=opts.data_seed)
    return DatasetSplits(
        d.name, d.train.subset(opts.train_size), d.test.subset(opts.test_size), d.class_names
    )


def _register_builtin() -> None:
    from .data.cifar import CIFAR10_CLASSES, CIFAR100_CLASSES, SVHN_CLASSES
    from .data.trifeature import SHAPES

    register_setting(
        Setting(
            "trifeature",
            _load_trifeature,
            "resnet20",
            "lenet5",
            224,
            64,
            10,
            SHAPES,
            ("color", "texture"),
            crop_padding=28,
            train_size=10000,
            student_grad_clip=1.0,
            student_warmup=0.1,
            description="Trifeature shapes (label) with colour and texture groups; generated",
            generated=True,
        )
    )
    register_setting(
        Setting(
            "cifar10",
            _load_cifar10,
            "resnet56",
            "resnet20",
            32,
            128,
            10,
            CIFAR10_CLASSES,
            train_size=50000,
            description="CIFAR-10 from cifar-10-batches-bin/",
        )
    )
    register_setting(
        Setting(
            "cifar100",
            _load_cifar100,
            "resnet56",
            "resnet20",
            32,
            128,
            100,
            CIFAR100_CLASSES,
            train_size=50000,
            description="CIFAR-100 (fine labels) from cifar-100-binary/",
        )
    )
    register_setting(
        Setting(
            "digits",
            _load_digits,
            "resnet20",
            "lenet5",
            16,
            64,
            10,
            tuple(str(d) for d in range(10)),
            crop_padding=2,
            hflip=False,
            epochs=30,
            student_grad_clip=1.0,
            description="scikit-learn's bundled 8x8 handwritten digits, enlarged to 16 px; real images, no download",
            generated=True,
        )
    )
    # The study uses crop + flip everywhere; flips are questionable for digits but kept for
    # fidelity (pass --no-hflip to the sweep to turn them off).
    register_setting(
        Setting(
            "svhn",
            _load_svhn,
            "resnet56",
            "resnet20",
            32,
            128,
            10,
            SVHN_CLASSES,
            train_size=73257,
            description="SVHN cropped digits from svhn/{train,test}_32x32.mat",
        )
    )


_register_builtin()

# More settings (CelebA, TinyImageNet, ImageNet, HateXplain) live in their own modules and
# register themselves on import; add one import line per module below, e.g.
#   from . import settings_large  # noqa: E402,F401
from . import settings_large  # noqa: E402,F401
