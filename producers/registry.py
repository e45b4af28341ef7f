"""The typed registry of experiment settings: `Setting`, `DataOptions`, `register_setting`.

Only the types and the registry live here; the settings themselves are registered by
`producers.settings` (small, in-memory settings) and `producers.settings_large` (CelebA,
Tiny ImageNet, ImageNet, HateXplain), which both import this module and never each other in
a cycle (`producers.settings` imports `producers.settings_large` once, at its end). Import
`get_setting` from `producers.settings` to have every built-in setting registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from kdbias_audit.errors import KDAuditError

from .data import DatasetSplits

__all__ = [
    "RUNNERS",
    "DataOptions",
    "SETTINGS",
    "Setting",
    "get_setting",
    "register_setting",
]

Runner = Literal["memory", "ddp", "text"]
Optimizer = Literal["sgd", "adamw"]
TransformStyle = Literal["crop", "imagenet"]
RUNNERS: tuple[str, ...] = ("memory", "ddp", "text")


@dataclass(frozen=True)
class DataOptions:
    """What a loader may be asked for. ``None`` means the setting's default.

    ``root`` is the directory holding the dataset files (``--data-root``); ``train_size`` and
    ``test_size`` keep the first N samples (generated datasets make exactly N);
    ``data_seed`` seeds generated datasets (kept fixed across a sweep).
    """

    root: Path | None = None
    image_size: int | None = None
    train_size: int | None = None
    test_size: int | None = None
    data_seed: int = 0
    allow_pickle: bool = False


@dataclass(frozen=True)
class Setting:
    """One experiment setting.

    Attributes
    ----------
    name : str
        Registry key and the ``dataset`` written into prediction metadata.
    load : callable
        ``load(options: DataOptions) -> DatasetSplits`` (images uint8 NHWC).
    teacher_arch, student_arch : str
        Names for `producers.models.build_model`.
    image_size : int
        Default side length (``DataOptions.image_size`` may change it for generated data).
    batch_size : int
    num_classes : int
    class_names : tuple of str
    group_attributes : tuple of str
        Attributes exported as ``group.<name>`` on the test split.
    crop_padding : int
        Random-crop padding in pixels at the default image size (scaled with the image size).
    hflip : bool
        Random horizontal flips in training.
    epochs : int
        The study's epoch count (``--epochs`` overrides).
    student_grad_clip : float or None
        Maximum global gradient norm of the students' SGD steps (NDS and DS alike; teachers
        are never clipped). ``None`` is the paper's recipe. LeNet-5 settings use 1.0: without
        it, distillation at T >= 3 with lr 0.1 diverges or dies (see docs/producers.md,
        "Gradient clipping for LeNet-5 students"). ``--student-grad-clip`` overrides.
    student_warmup : float
        The students' linear learning-rate warm-up, as a fraction of their training steps
        (NDS and DS alike; teachers never warm up). 0 is the paper's recipe. Trifeature uses
        0.1: without it a third of its LeNet-5 students stay on a plateau until the first LR
        drop freezes them (docs/producers.md). ``--student-warmup`` overrides.
    train_size : int or None
        Training images of the full setting (used to project a sweep's cost), if known.
    description : str
    generated : bool
        The data is generated (cached as ``.npz`` under the sweep's work directory).
    runner : ``"memory"``, ``"ddp"`` or ``"text"``
        Which executor trains it: the in-memory trainer (`producers.train`, `producers.batched`),
        the streamed DDP trainer (`producers.ddp`) or the transformers one (`producers.text`).
    optimizer : ``"sgd"`` or ``"adamw"``
        The streamed runners' optimiser (AdamW + cosine for ViTs; the text runner's AdamW).
    label : str or None
        The attribute used as the label (CelebA: ``Smiling`` or ``Eyeglasses``).
    files : callable or None
        ``files(root, label=..., data_seed=...) -> (train, test)`` file splits, for settings the
        DDP trainer streams from disk.
    transform_style : ``"crop"`` or ``"imagenet"``
        The file-based path's augmentation (`producers.data.transforms.image_transform`).
    lr, weight_decay : float or None
        Default initial learning rate and weight decay of the setting's runs; ``None`` takes
        the optimiser's (`optim_defaults`). ``--lr`` / `producers.runspec.RunSpec` override.
    """

    name: str
    load: Callable[[DataOptions], DatasetSplits]
    teacher_arch: str
    student_arch: str
    image_size: int
    batch_size: int
    num_classes: int
    class_names: tuple[str, ...]
    group_attributes: tuple[str, ...] = ()
    crop_padding: int = 4
    hflip: bool = True
    epochs: int = 100
    student_grad_clip: float | None = None
    student_warmup: float = 0.0
    train_size: int | None = None
    description: str = ""
    generated: bool = False
    runner: Runner = "memory"
    optimizer: Optimizer = "sgd"
    label: str | None = None
    files: Callable[..., tuple[Any, Any]] | None = None
    transform_style: TransformStyle = "crop"
    lr: float | None = None
    weight_decay: float | None = None

    def __post_init__(self) -> None:
        if self.runner not in RUNNERS:
            raise ValueError(f"{self.name}: runner must be one of {RUNNERS}, got {self.runner!r}")
        if self.optimizer not in ("sgd", "adamw"):
            raise ValueError(f"{self.name}: optimizer must be sgd or adamw, got {self.optimizer!r}")
        if self.transform_style not in ("crop", "imagenet"):
            raise ValueError(f"{self.name}: transform_style must be crop or imagenet")

    @property
    def extra(self) -> dict[str, Any]:
        """Deprecated: the typed fields as the former ``extra`` dict (read-only copy)."""
        out: dict[str, Any] = {}
        if self.generated:
            out["generated"] = True
        if self.runner != "memory":
            out["runner"] = self.runner
        if self.optimizer != "sgd":
            out["optimizer"] = self.optimizer
        if self.label is not None:
            out["label"] = self.label
        return out

    def optim_defaults(self, optimizer: str | None, batch_size: int) -> tuple[float, float]:
        """``(lr, weight_decay)`` of a run with ``optimizer`` (default: the setting's).

        The setting's own ``lr`` / ``weight_decay`` when set (for its own optimiser); else SGD: 0.1 and 1e-3 (the
        study's recipe); AdamW: 1e-3 x ``batch_size`` / 1024 and 0.05 (DeiT-style, for ViTs).
        """
        kind = optimizer or self.optimizer
        if kind == "sgd":
            lr, wd = 0.1, 1e-3
        elif kind == "adamw":
            lr, wd = 1e-3 * batch_size / 1024, 0.05
        else:
            raise KDAuditError(f"optimizer must be sgd or adamw, got {kind!r}")
        own = kind == self.optimizer
        return (
            self.lr if own and self.lr is not None else lr,
            self.weight_decay if own and self.weight_decay is not None else wd,
        )

    def load_files(
        self, root: str | Path, *, label: str | None = None, data_seed: int = 0
    ) -> tuple[Any, Any]:
        """The (train, test) file splits of a file-based setting (`producers.ddp`)."""
        if self.files is None:
            raise KDAuditError(f"setting {self.name!r} has no file-based loader")
        return self.files(Path(root), label=label or self.label, data_seed=data_seed)

    def transform(self, size: int, *, train: bool) -> Any:
        """torchvision transforms of the file-based path (see `image_transform`)."""
        from .data.transforms import image_transform

        return image_transform(size, train=train, style=self.transform_style)

    def padding_for(self, image_size: int) -> int:
        """Crop padding scaled to ``image_size`` (4 px at 32 px, 28 px at 224 px)."""
        return (
            max(1, round(self.crop_padding * image_size / self.image_size))
            if self.crop_padding
            else 0
        )


SETTINGS: dict[str, Setting] = {}


def register_setting(setting: Setting, *, replace: bool = False) -> Setting:
    """Add ``setting`` to `SETTINGS` under ``setting.name`` (refuses to replace unless asked)."""
    if setting.name in SETTINGS and not replace:
        raise ValueError(f"setting {setting.name!r} is already registered")
    SETTINGS[setting.name] = setting
    return setting


def get_setting(name: str) -> Setting:
    try:
        return SETTINGS[name]
    except KeyError:
        raise KDAuditError(
            f"unknown setting {name!r}; known: {', '.join(sorted(SETTINGS))}"
        ) from None
