"""`RunSpec`: the one description of a training run, for every runner.

A run is a role (``teacher`` | ``baseline`` | ``distilled``), a setting, an architecture, a
seed, the recipe (epochs, batch size, optimiser, learning rate, weight decay, ...) and, for a
distilled student, temperature, alpha and its teacher. The same spec drives the in-memory
trainer (`producers.train.train_run`), the batched one (`producers.batched.train_group`), the
streamed DDP trainer (`producers.ddp.train_ddp`) and the transformers one
(`producers.text.train_text`); each reads the fields it needs and ignores the others (the
field comments say which runner uses a field).

``optimizer``, ``lr`` and ``weight_decay`` left at ``None`` take the setting's defaults
(`producers.registry.Setting.optim_defaults`) when the spec is made, so a spec always carries
the numbers its run will use: SGD lr 0.1 / weight decay 1e-3 for the image settings, AdamW
lr 1e-3 x batch/1024 / 0.05 for ``imagenet_vit``, AdamW lr 2e-5 / 0.01 for ``hatexplain``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from kdbias_audit.errors import KDAuditError

from .settings import DataOptions, get_setting

if TYPE_CHECKING:
    from .data import DatasetSplits

__all__ = ["ROLES", "Role", "RunSpec"]

Role = Literal["teacher", "baseline", "distilled"]
ROLES = ("teacher", "baseline", "distilled")


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines one run (JSON-serialisable, so it can cross processes).

    Attributes
    ----------
    setting, role, seed, arch, epochs, batch_size
        What is trained. ``batch_size`` is global (split over the ranks under DDP). For the
        text runner ``arch`` is a local model directory, or a folder name under
        ``models_root``.
    temperature, alpha, teacher_arch, teacher_checkpoint
        Distilled students. The text runner's ``teacher_checkpoint`` is the fine-tuned
        teacher's directory (``teacher_arch`` then only names it in the metadata).
    save_checkpoint
        Write the trained weights here (text: a ``save_pretrained`` directory).
    optimizer, lr, momentum, weight_decay, grad_clip
        The recipe; ``None`` takes the setting's default (see the module docstring).
        ``momentum`` applies to SGD, ``grad_clip`` to the in-memory runners.
    image_size, train_size, test_size, data_seed, data_root, data_cache, allow_pickle, hflip
        The data (``data_cache``, ``allow_pickle``, ``hflip``: in-memory runners).
    device, compile, compile_mode, logits_dtype, eval_batch_size, threads
        How it runs (``compile*``, ``logits_dtype``, ``threads``: in-memory runners).
    warmup
        Linear learning-rate warm-up over this fraction of the steps, in ``[0, 0.3)`` (before
        the first LR drop). ``None`` takes the runner's default: 0.1 for the text runner, 0
        for the image runners (the Trifeature students get theirs from
        ``Setting.student_warmup`` through the sweep plan).
    max_length, models_root, model_name
        Text runner: word pieces per post, the folder holding the model directories, and the
        ``model`` written to the metadata (default: the last component of ``arch``).
    max_steps, num_workers, label
        Streamed runners: stop after N steps (smoke runs), DataLoader workers per process,
        and the CelebA label attribute (default: the setting's).
    """

    setting: str
    role: Role
    seed: int
    arch: str
    epochs: int
    batch_size: int
    temperature: float | None = None
    alpha: float | None = None
    teacher_arch: str | None = None
    teacher_checkpoint: str | None = None
    save_checkpoint: str | None = None
    lr: float | None = None
    momentum: float = 0.9
    weight_decay: float | None = None
    grad_clip: float | None = None
    image_size: int | None = None
    train_size: int | None = None
    test_size: int | None = None
    data_seed: int = 0
    data_root: str | None = None
    data_cache: str | None = None
    allow_pickle: bool = False
    hflip: bool | None = None
    device: str = "auto"
    compile: bool = False
    compile_mode: str = "reduce-overhead"
    logits_dtype: str = "float32"
    eval_batch_size: int = 512
    threads: int | None = None
    optimizer: str | None = None
    warmup: float | None = None
    max_length: int = 128
    max_steps: int | None = None
    num_workers: int = 8
    label: str | None = None
    models_root: str | None = None
    model_name: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise KDAuditError(f"role must be one of {ROLES}, got {self.role!r}")
        setting = get_setting(self.setting)
        if self.role == "distilled":
            if self.temperature is None or self.temperature <= 0:
                raise KDAuditError("a distilled run needs a temperature > 0")
            if self.alpha is None or not 0 <= self.alpha <= 1:
                raise KDAuditError("a distilled run needs an alpha in [0, 1]")
            if setting.runner == "text" and not self.teacher_checkpoint:
                raise KDAuditError(
                    "a distilled text run needs teacher_checkpoint (the teacher's directory, --teacher-dir)"
                )
            if not self.teacher_checkpoint or not (self.teacher_arch or setting.runner == "text"):
                raise KDAuditError("a distilled run needs teacher_arch and teacher_checkpoint")
        if self.epochs < 1 or self.batch_size < 1:
            raise KDAuditError("epochs and batch_size must be >= 1")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise KDAuditError(f"grad_clip must be > 0 (or None), got {self.grad_clip}")
        if self.logits_dtype not in ("float32", "float16", "none"):
            raise KDAuditError(
                f"logits_dtype must be float32, float16 or none, got {self.logits_dtype!r}"
            )
        if self.warmup is None:
            object.__setattr__(self, "warmup", 0.1 if setting.runner == "text" else 0.0)
        assert self.warmup is not None
        if not 0 <= self.warmup < 0.3:
            raise KDAuditError(
                f"warmup must be a fraction of the steps in [0, 0.3) (before the first LR "
                f"drop), got {self.warmup}"
            )
        if self.max_steps is not None and self.max_steps < 1:
            raise KDAuditError(f"max_steps must be >= 1 (or None), got {self.max_steps}")
        optimizer = self.optimizer or setting.optimizer
        lr, weight_decay = setting.optim_defaults(optimizer, self.batch_size)
        # a frozen dataclass: fill the defaults once, so the spec carries the numbers it runs
        object.__setattr__(self, "optimizer", optimizer)
        if self.lr is None:
            object.__setattr__(self, "lr", lr)
        if self.weight_decay is None:
            object.__setattr__(self, "weight_decay", weight_decay)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        return cls(**json.loads(text))

    @property
    def device_or_none(self) -> str | None:
        """``device`` with ``"auto"`` as None (the streamed runners pick CUDA when present)."""
        return None if self.device == "auto" else self.device

    @property
    def model_label(self) -> str:
        """The ``model`` metadata of a text run: ``model_name`` or the last part of ``arch``."""
        if self.model_name:
            return self.model_name
        name = Path(self.arch).name
        return name if name not in ("", ".", "..") else Path(self.arch).resolve().name

    def data_options(self) -> DataOptions:
        return DataOptions(
            root=Path(self.data_root) if self.data_root else None,
            image_size=self.image_size,
            train_size=self.train_size,
            test_size=self.test_size,
            data_seed=self.data_seed,
            allow_pickle=self.allow_pickle,
        )

    def expected_metadata(self, data: DatasetSplits | None = None) -> dict:
        """The metadata an in-memory run writes (and a resumed sweep checks before skipping it)."""
        setting = get_setting(self.setting)
        meta: dict = {
            "role": self.role,
            "model": self.arch,
            "dataset": setting.name,
            "split": "test",
            "seed": self.seed,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "grad_clip": None if self.grad_clip is None else float(self.grad_clip),
            "warmup": float(self.warmup or 0.0),
            "data_seed": self.data_seed,
            "producer": "kdbias-audit producers",
        }
        if self.role == "distilled":
            meta.update(
                temperature=float(self.temperature),
                alpha=float(self.alpha),
                teacher_model=self.teacher_arch,
            )
        else:  # explicit nulls: a teacher or NDS has no temperature, alpha or teacher
            meta.update(temperature=None, alpha=None, teacher_model=None)
        if data is not None:
            meta.update(
                class_names=list(data.class_names),
                image_size=int(data.train.image_size[0]),
                train_size=len(data.train),
                test_size=len(data.test),
            )
        return meta
