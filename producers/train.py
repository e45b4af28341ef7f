"""One training run -> one prediction file.

A run is a `producers.runspec.RunSpec` (re-exported here): role (``teacher`` | ``baseline`` |
``distilled``), setting (dataset), architecture, seed, temperature and alpha (distilled only),
epochs, batch size. The recipe is
the study's (Appendix C): SGD with lr 0.1, momentum 0.9, weight decay 1e-3; the learning rate
drops x0.1 at 30%, 60% and 90% of the training steps (epochs 30/60/90 of 100, scaled to any
epoch count); random crop (zero padding) + horizontal flip. ``grad_clip`` (students of the
LeNet-5 settings: 1.0, see docs/producers.md) clips each step's global gradient norm;
``warmup`` (students of the Trifeature setting: 0.1) ramps the learning rate up linearly over
that fraction of the steps. The distilled student minimises
`producers.kd.kd_loss` against a frozen teacher (eval mode, no gradients).

At the end the test split is predicted and written with `kdbias_audit.io.write_predictions`
(atomic: a killed run leaves no finished-looking file), with metadata ``role``, ``model``,
``dataset``, ``split``, ``seed``, ``class_names``, ``temperature``/``alpha``/``teacher_model``
for distilled students, and the recipe (``epochs``, ``batch_size``, ``image_size``,
``train_size``, ``lr``, ``weight_decay``, ``grad_clip``, ``warmup``).

``python -m producers.train --setting trifeature --role teacher --arch resnet20 --seed 0
--epochs 2 --out teacher/seed0.parquet`` runs one from the command line; sweeps use
`producers.sweep`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from kdbias_audit.errors import KDAuditError

from .data import DatasetSplits, ImageSplit
from .runspec import ROLES, RunSpec
from .settings import get_setting

__all__ = ["RunResult", "RunSpec", "Trainer", "load_data", "train_run"]


@dataclass(frozen=True)
class RunResult:
    """What a finished run reports."""

    path: Path
    test_accuracy: float
    train_accuracy: float
    seconds: float
    images_per_second: float
    steps: int

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["path"] = str(self.path)
        return d


# --- data ----------------------------------------------------------------------------------


def _save_npz(path: Path, data: DatasetSplits) -> None:
    from kdbias_audit.atomic import atomic_write

    arrays: dict[str, np.ndarray] = {"class_names": np.array(data.class_names, dtype=str)}
    for name, split in (("train", data.train), ("test", data.test)):
        arrays[f"{name}.images"] = split.images
        arrays[f"{name}.labels"] = split.labels
        arrays[f"{name}.sample_id"] = split.sample_id
        for g, values in split.groups.items():
            arrays[f"{name}.group.{g}"] = np.asarray(values, dtype=str)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    atomic_write(path, write)


def _load_npz(path: Path, name: str) -> DatasetSplits:
    with np.load(path, allow_pickle=False) as z:
        splits = {}
        for s in ("train", "test"):
            groups = {
                k.split(".", 2)[2]: z[k].astype(object)
                for k in z.files
                if k.startswith(f"{s}.group.")
            }
            splits[s] = ImageSplit(z[f"{s}.images"], z[f"{s}.labels"], z[f"{s}.sample_id"], groups)
        names = tuple(str(c) for c in z["class_names"])
    return DatasetSplits(name, splits["train"], splits["test"], names)


def load_data(spec: RunSpec) -> DatasetSplits:
    """Load (or generate) the run's dataset; use/refresh ``spec.data_cache`` (.npz) if given."""
    setting = get_setting(spec.setting)
    if spec.data_cache and Path(spec.data_cache).is_file():
        return _load_npz(Path(spec.data_cache), setting.name)
    data = setting.load(spec.data_options())
    if spec.data_cache:
        _save_npz(Path(spec.data_cache), data)
    return data


# --- training --------------------------------------------------------------------------------


class Trainer:
    """The training loop of one model, shared by `train_run` and ``benchmarks/train_speed.py``.

    Holds the model (and optional frozen teacher), the SGD optimiser and the device data;
    ``run_epoch`` trains one epoch, ``predict`` returns test logits.
    """

    def __init__(
        self,
        model,
        train_data,
        *,
        device,
        total_steps: int,
        batch_size: int,
        padding: int,
        hflip: bool,
        seed: int,
        teacher=None,
        temperature: float | None = None,
        alpha: float | None = None,
        lr: float = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 1e-3,
        grad_clip: float | None = None,
        warmup: float = 0.0,
        compile: bool = False,
        compile_mode: str | None = "reduce-overhead",
        amp: bool = True,
    ) -> None:
        import torch

        from .gpu import compile_model

        self.torch = torch
        self.device = device
        self.model = model.to(device).to(memory_format=torch.channels_last)
        self.teacher = None
        if teacher is not None:
            teacher = teacher.to(device).to(memory_format=torch.channels_last).eval()
            for p in teacher.parameters():
                p.requires_grad_(False)
            self.teacher = teacher
        self.data = train_data
        self.batch_size = batch_size
        self.padding = padding
        self.hflip = hflip
        self.temperature = temperature
        self.alpha = alpha
        self.amp = amp
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(seed)
        fused = device.type == "cuda"
        self.optimizer = torch.optim.SGD(
            self.model.parameters(),
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            **({"fused": True} if fused else {}),
        )
        self.base_lr = lr
        self.grad_clip = grad_clip
        self.total_steps = max(1, total_steps)
        self.milestones = [int(round(f * self.total_steps)) for f in (0.3, 0.6, 0.9)]
        self.warmup_steps = int(round(warmup * self.total_steps))
        self.step_count = 0
        self.compiled = compile
        self.graphs = compile and compile_mode == "reduce-overhead" and device.type == "cuda"
        self._fwd = compile_model(self.model, compile_mode) if compile else self.model
        self._tfwd = None
        if self.teacher is not None:
            self._tfwd = compile_model(self.teacher, compile_mode) if compile else self.teacher

    def lr_at(self, step: int) -> float:
        """``lr * 0.1 ** (number of milestones <= step)``; milestones at 30/60/90% of steps.

        With a warm-up of W steps (``warmup`` x the steps), step ``i < W`` uses
        ``lr * (i + 1) / W`` (linear, reaching ``lr`` at step W - 1).
        """
        lr = self.base_lr * 0.1 ** sum(step >= m for m in self.milestones)
        if step < self.warmup_steps:
            lr *= (step + 1) / self.warmup_steps
        return lr

    def clip_gradients(self) -> None:
        """Clip the global gradient norm at ``grad_clip`` (no-op when None).

        No host sync: the scale ``min(1, clip / (norm + 1e-6))`` is applied on the device.
        `producers.batched.BatchedTrainer` applies the same rule to each run's own norm.
        """
        if self.grad_clip is not None:
            self.torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)

    def train_step(self, x, y):
        """One SGD step; returns (loss, number correct) as device tensors (no sync)."""
        from .gpu import autocast
        from .kd import kd_loss

        torch = self.torch
        if self.graphs:
            torch.compiler.cudagraph_mark_step_begin()
        lr = self.lr_at(self.step_count)
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        with autocast(self.device, self.amp):
            t_logits = None
            if self._tfwd is not None:
                with torch.no_grad():
                    t_logits = self._tfwd(x)
            out = self._fwd(x)
        loss = kd_loss(
            out,
            t_logits,
            y,
            temperature=self.temperature or 1.0,
            alpha=self.alpha if t_logits is not None else 0.0,
        )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.clip_gradients()
        self.optimizer.step()
        self.step_count += 1
        correct = (out.detach().argmax(1) == y).sum()
        return loss.detach(), correct

    def run_epoch(self, on_step: Callable[[int], None] | None = None) -> tuple[float, float, int]:
        """Train one epoch; returns (mean loss, train accuracy, images seen)."""
        torch = self.torch
        self.model.train()
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), dtype=torch.long, device=self.device)
        seen = 0
        for i, (x, y) in enumerate(
            self.data.train_batches(
                self.batch_size, padding=self.padding, hflip=self.hflip, generator=self.generator
            )
        ):
            loss, c = self.train_step(x, y)
            loss_sum += loss * y.shape[0]
            correct += c
            seen += int(y.shape[0])
            if on_step is not None:
                on_step(i + 1)
        return float(loss_sum) / max(seen, 1), float(correct) / max(seen, 1), seen

    #: the sample axis of the eval logits (a batched trainer puts its runs first)
    _sample_axis = 0

    def _eval_logits(self, x):
        return self.model(x)

    def predict(self, data, batch_size: int = 512) -> np.ndarray:
        """Logits (N, C) float32 of ``data`` in order (eval mode, eager model)."""
        from .gpu import autocast

        torch = self.torch
        self.model.eval()
        outs = []
        with torch.no_grad(), autocast(self.device, self.amp):
            for x, _ in data.eval_batches(batch_size):
                outs.append(self._eval_logits(x).float().cpu())
        return torch.cat(outs, dim=self._sample_axis).numpy()


def log_writer(path: Path | None) -> Callable[[str], None]:
    def log(msg: str) -> None:
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}\n")

    return log


def trainer_options(spec: RunSpec, setting, image_size: int) -> dict:
    """The recipe a `Trainer` (or `BatchedTrainer`) takes from a run spec, one place for both:
    batch, augmentation, optimiser, schedule (warm-up), clipping, KD weight and compilation."""
    return dict(
        batch_size=spec.batch_size,
        padding=setting.padding_for(image_size),
        hflip=setting.hflip if spec.hflip is None else spec.hflip,
        alpha=spec.alpha,
        lr=spec.lr,
        momentum=spec.momentum,
        weight_decay=spec.weight_decay,
        grad_clip=spec.grad_clip,
        warmup=spec.warmup,
        compile=spec.compile,
        compile_mode=spec.compile_mode,
    )


def device_splits(data: DatasetSplits, device):
    """Training and test images on ``device``, normalised with the training split's statistics."""
    from .gpu import DeviceData

    mean, std = data.channel_stats()
    return tuple(
        DeviceData(split.images, split.labels, mean=mean, std=std, device=device)
        for split in (data.train, data.test)
    )


def train_run(
    spec: RunSpec,
    out: str | os.PathLike[str],
    *,
    data: DatasetSplits | None = None,
    log_path: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    overwrite: bool = True,
) -> RunResult:
    """Train one model as ``spec`` says and write its test predictions to ``out``.

    Parameters
    ----------
    spec : RunSpec
    out : path
        The prediction file (``.../seed<k>.parquet``); written atomically at the very end.
    data : DatasetSplits, optional
        Already-loaded data (a sweep running in one process loads it once); else `load_data`.
    log_path : path, optional
        A text log (appended): recipe, one line per epoch, final accuracy.
    progress : callable(done_steps, total_steps), optional
    overwrite : bool
        Replace an existing file at ``out`` (a sweep decides before calling).

    Returns
    -------
    RunResult
    """
    import torch

    from kdbias_audit.io import write_predictions

    from ._atomic_torch import save_state_dict
    from .gpu import configure_device, resolve_device
    from .models import build_model, load_checkpoint

    out = Path(out)
    log = log_writer(Path(log_path) if log_path else None)
    setting = get_setting(spec.setting)
    if spec.threads:
        torch.set_num_threads(spec.threads)
    device = resolve_device(spec.device)
    configure_device(device)
    if data is None:
        data = load_data(spec)
    if data.num_classes != setting.num_classes and setting.name != data.name:
        raise KDAuditError(f"{spec.setting}: data has {data.num_classes} classes")
    image_size = data.train.image_size[0]
    log(f"start {spec.role} {spec.arch} seed={spec.seed} on {device}: {spec.to_json()}")

    if spec.compile:
        # a fresh compile cache per run: a worker process trains many models, and dynamo's
        # per-function cache limit would otherwise silently fall back to eager after a few
        torch.compiler.reset()
    torch.manual_seed(spec.seed)
    np.random.seed(spec.seed % (2**32))
    model = build_model(spec.arch, num_classes=data.num_classes, image_size=image_size)
    teacher = None
    if spec.role == "distilled":
        teacher = build_model(
            spec.teacher_arch, num_classes=data.num_classes, image_size=image_size
        )
        load_checkpoint(teacher, spec.teacher_checkpoint)

    train_data, test_data = device_splits(data, device)
    steps_per_epoch = train_data.steps_per_epoch(spec.batch_size)
    total = steps_per_epoch * spec.epochs
    trainer = Trainer(
        model,
        train_data,
        device=device,
        total_steps=total,
        seed=spec.seed,
        teacher=teacher,
        temperature=spec.temperature,
        **trainer_options(spec, setting, image_size),
    )
    t0 = time.perf_counter()
    seen_total = 0
    train_acc = float("nan")
    for epoch in range(spec.epochs):
        te = time.perf_counter()
        base = epoch * steps_per_epoch

        def on_step(i: int, base: int = base) -> None:
            if progress is not None:
                progress(base + i, total)

        loss, train_acc, seen = trainer.run_epoch(on_step)
        seen_total += seen
        dt = time.perf_counter() - te
        log(
            f"epoch {epoch + 1}/{spec.epochs} loss={loss:.4f} train_acc={train_acc:.4f} "
            f"lr={trainer.lr_at(trainer.step_count - 1):.4g} {dt:.1f}s {seen / max(dt, 1e-9):.0f} img/s"
        )
        if not math.isfinite(loss):
            raise KDAuditError(f"{out}: training diverged (loss {loss}) at epoch {epoch + 1}")
    seconds = time.perf_counter() - t0

    if spec.save_checkpoint:
        save_state_dict(trainer.model.state_dict(), spec.save_checkpoint)
    logits = trainer.predict(test_data, spec.eval_batch_size)
    test_acc = float((logits.argmax(1) == data.test.labels).mean())
    meta = spec.expected_metadata(data)
    pred_only = spec.logits_dtype == "none"  # the predicted class alone: a tenth of the size
    write_predictions(
        out,
        y_true=data.test.labels,
        logits=None if pred_only else logits,
        y_pred=logits.argmax(1).astype(np.int64) if pred_only else None,
        sample_id=data.test.sample_id,
        groups={g: np.asarray(v, dtype=str) for g, v in data.test.groups.items()} or None,
        seed=spec.seed,
        num_classes=data.num_classes,
        metadata=meta,
        overwrite=overwrite,
        logits_dtype="float32" if pred_only else spec.logits_dtype,
    )
    log(f"done test_acc={test_acc:.4f} train_acc={train_acc:.4f} {seconds:.1f}s -> {out}")
    return RunResult(out, test_acc, train_acc, seconds, seen_total / max(seconds, 1e-9), total)


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def command(
    setting: Annotated[str, typer.Option(help="A registered setting.")],
    role: Annotated[str, typer.Option(help="teacher, baseline or distilled.")],
    arch: Annotated[str, typer.Option(help="resnet<6n+2>, lenet5 or a timm model name.")],
    epochs: Annotated[int, typer.Option(help="Epochs.")],
    out: Annotated[Path, typer.Option(help="The prediction file to write.")],
    seed: Annotated[int, typer.Option(help="Seed of the run.")] = 0,
    batch_size: Annotated[int | None, typer.Option(help="Default: the setting's.")] = None,
    temperature: Annotated[float | None, typer.Option(help="Distilled runs.")] = None,
    alpha: Annotated[float | None, typer.Option(help="Distilled runs.")] = None,
    grad_clip: Annotated[
        float | None, typer.Option(help="Max global gradient norm (default: none).")
    ] = None,
    warmup: Annotated[
        float, typer.Option(help="Linear LR warm-up over this fraction of the steps (default 0).")
    ] = 0.0,
    teacher_arch: Annotated[str | None, typer.Option(help="Distilled runs.")] = None,
    teacher_checkpoint: Annotated[str | None, typer.Option(help="Distilled runs.")] = None,
    save_checkpoint: Annotated[str | None, typer.Option(help="Write the weights here.")] = None,
    image_size: Annotated[int | None, typer.Option(help="Generated datasets.")] = None,
    train_size: Annotated[int | None, typer.Option(help="First N training images.")] = None,
    test_size: Annotated[int | None, typer.Option(help="First N test images.")] = None,
    data_root: Annotated[str | None, typer.Option(help="Dataset directory.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    compile: Annotated[bool, typer.Option("--compile", help="torch.compile.")] = False,
    logits_dtype: Annotated[
        str, typer.Option(help="float32, float16 or none (the pred column only).")
    ] = "float32",
) -> None:
    """Train one run and write its prediction file (sweeps: python -m producers.sweep)."""
    try:
        if role not in ROLES:
            raise KDAuditError(f"--role must be one of {', '.join(ROLES)}, got {role!r}")
        if logits_dtype not in ("float32", "float16", "none"):
            raise KDAuditError(
                f"--logits-dtype must be float32, float16 or none, got {logits_dtype!r}"
            )
        spec = RunSpec(
            setting=setting,
            role=role,  # type: ignore[arg-type]
            seed=seed,
            arch=arch,
            epochs=epochs,
            batch_size=batch_size or get_setting(setting).batch_size,
            temperature=temperature,
            alpha=alpha,
            grad_clip=grad_clip,
            warmup=warmup,
            teacher_arch=teacher_arch,
            teacher_checkpoint=teacher_checkpoint,
            save_checkpoint=save_checkpoint,
            image_size=image_size,
            train_size=train_size,
            test_size=test_size,
            data_root=data_root,
            device=device,
            compile=compile,
            logits_dtype=logits_dtype,
        )
        r = train_run(spec, out)
    except (KDAuditError, OSError) as exc:
        typer.echo(f"error: {' '.join(str(exc).split())}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(r.to_dict()))


def main(argv: list[str] | None = None) -> int:
    """``python -m producers.train ...``; returns the exit status."""
    import sys

    try:
        app(argv if argv is not None else sys.argv[1:], prog_name="python -m producers.train")
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
