"""Multi-GPU (DDP) training and prediction export for the ImageNet-scale settings.

Launch one process per GPU with ``torchrun``::

    torchrun --nproc_per_node=4 -m producers.ddp --setting imagenet --data-root /data/imagenet \\
        --role teacher --arch resnet50 --seed 0 --epochs 100 --out runs/imagenet/teacher/seed0.parquet \\
        --save-checkpoint runs/imagenet/_checkpoints/teacher/seed0.pt

``--batch-size`` is the *global* batch (the paper's 512 is split as 128 per GPU on 4 GPUs).
The same module runs as a single process too (no ``torchrun``: world size 1, no process
group), and on CPU with the ``gloo`` backend (the tests do that).

Prediction export: every rank predicts its shard of the test split through a
``DistributedSampler(shuffle=False)``; that sampler pads the shards to equal length by
repeating the first indices, so the gathered predictions contain duplicates. Rank 0 gathers
``(dataset index, logits)`` from every rank, keeps the first occurrence of each index, checks
that every test sample is present exactly once, and writes ONE prediction file through
:func:`kdbias_audit.io.write_predictions` with the split's own sample ids and groups.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
import torch.distributed as dist
import typer
from torch.utils.data import DataLoader, DistributedSampler

from kdbias_audit.errors import KDAuditError

from .runspec import RunSpec

# --------------------------------------------------------------------------------------------
# process group


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: ``rank`` of ``world_size``, its device, and the backend."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    backend: str | None = None  # None: no process group (a single process)

    @property
    def distributed(self) -> bool:
        return self.backend is not None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.distributed:
            if self.backend == "nccl":
                dist.barrier(device_ids=[self.device.index])
            else:
                dist.barrier()


def init_distributed(backend: str | None = None, *, device: str | None = None) -> DistContext:
    """Join the process group ``torchrun`` set up (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``).

    Without those variables (a plain ``python -m``), returns a single-process context and
    creates no process group. ``backend`` defaults to ``nccl`` on CUDA and ``gloo`` otherwise;
    ``device`` (``"cpu"`` or ``"cuda"``) defaults to CUDA when available. Each rank uses GPU
    ``LOCAL_RANK``.
    """
    use_cuda = torch.cuda.is_available() if device is None else device.startswith("cuda")
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        dev = torch.device("cuda", torch.cuda.current_device()) if use_cuda else torch.device("cpu")
        return DistContext(device=dev)
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        torch.cuda.set_device(local_rank)
        dev = torch.device("cuda", local_rank)
    else:
        dev = torch.device("cpu")
    backend = backend or ("nccl" if use_cuda else "gloo")
    if not dist.is_initialized():
        kwargs: dict[str, Any] = {"backend": backend, "rank": rank, "world_size": world}
        if backend == "nccl":
            kwargs["device_id"] = dev
        dist.init_process_group(**kwargs)
    return DistContext(
        rank=rank, world_size=world, local_rank=local_rank, device=dev, backend=backend
    )


def shutdown(ctx: DistContext) -> None:
    """Destroy the process group (if this context created one)."""
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()


# --------------------------------------------------------------------------------------------
# loaders


def train_loader(
    dataset: Any, ctx: DistContext, *, global_batch_size: int, seed: int, num_workers: int = 8
) -> DataLoader:
    """A training loader: each rank draws ``global_batch_size / world_size`` samples per step.

    ``DistributedSampler(shuffle=True, seed=seed, drop_last=True)``; call
    ``loader.sampler.set_epoch(epoch)`` every epoch (``train_ddp`` does).
    """
    if global_batch_size % ctx.world_size:
        raise KDAuditError(
            f"--batch-size {global_batch_size} is not divisible by the world size {ctx.world_size}"
        )
    per_rank = global_batch_size // ctx.world_size
    sampler = DistributedSampler(
        dataset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=seed, drop_last=True
    )
    return DataLoader(
        dataset,
        batch_size=per_rank,
        sampler=sampler,
        num_workers=num_workers,
        pin_memory=ctx.device.type == "cuda",
        drop_last=True,
        persistent_workers=num_workers > 0,
    )


# --------------------------------------------------------------------------------------------
# gathering predictions


def _all_gather_rows(t: torch.Tensor, ctx: DistContext) -> list[torch.Tensor]:
    """All-gather tensors whose first dimension may differ between ranks (padded, then trimmed)."""
    n = torch.tensor([t.shape[0]], dtype=torch.int64, device=ctx.device)
    sizes = [torch.zeros_like(n) for _ in range(ctx.world_size)]
    dist.all_gather(sizes, n)
    sizes_i = [int(s.item()) for s in sizes]
    longest = max(sizes_i)
    padded = torch.zeros((longest, *t.shape[1:]), dtype=t.dtype, device=ctx.device)
    padded[: t.shape[0]] = t.to(ctx.device)
    out = [torch.empty_like(padded) for _ in range(ctx.world_size)]
    dist.all_gather(out, padded)
    return [o[:s].cpu() for o, s in zip(out, sizes_i, strict=False)]


def gather_predictions(
    indices: torch.Tensor, logits: torch.Tensor, ctx: DistContext, *, num_samples: int
) -> np.ndarray | None:
    """Collect every rank's ``(dataset index, logits)``; on rank 0 return logits ordered by index.

    Parameters
    ----------
    indices : Tensor of int64, shape (n_r,)
        Dataset indices this rank predicted (from its ``DistributedSampler``, padding included).
    logits : Tensor, shape (n_r, C)
    num_samples : int
        Size N of the dataset; after removing repeated indices every ``0..N-1`` must appear.

    Returns
    -------
    ndarray of float32, shape (N, C), on rank 0 (row i = dataset index i); None on other ranks.
    """
    if ctx.distributed:
        idx_parts = _all_gather_rows(indices.to(torch.int64), ctx)
        logit_parts = _all_gather_rows(logits.float(), ctx)
        if not ctx.is_main:
            return None
        idx = torch.cat(idx_parts).numpy()
        z = torch.cat(logit_parts).numpy()
    else:
        idx, z = indices.cpu().numpy(), logits.float().cpu().numpy()
    unique, first = np.unique(idx, return_index=True)  # first occurrence of each index, sorted
    if unique.size != num_samples or (
        num_samples and (unique[0] != 0 or unique[-1] != num_samples - 1)
    ):
        raise KDAuditError(
            f"gathered predictions cover {unique.size} distinct samples, expected {num_samples}"
        )
    return np.ascontiguousarray(z[first])


@torch.no_grad()
def predict_logits(
    model: torch.nn.Module,
    dataset: Any,
    ctx: DistContext,
    *,
    batch_size: int = 256,
    num_workers: int = 8,
) -> np.ndarray | None:
    """Logits of ``model`` for every item of ``dataset``, sharded over ranks, gathered on rank 0.

    Items are ``(input, label)``; the model runs in eval mode (bf16 autocast on CUDA). Returns
    the (N, C) float32 array on rank 0, None elsewhere.
    """
    sampler = DistributedSampler(
        dataset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=False, drop_last=False
    )
    order = torch.tensor(list(iter(sampler)), dtype=torch.int64)
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        pin_memory=ctx.device.type == "cuda",
    )
    was_training = model.training
    model.eval()
    chunks: list[torch.Tensor] = []
    cuda = ctx.device.type == "cuda"
    for x, _ in loader:
        x = x.to(ctx.device, non_blocking=True)
        if cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            chunks.append(model(x).float())
    model.train(was_training)
    logits = torch.cat(chunks) if chunks else torch.zeros((0, 0))
    if logits.shape[0] != order.shape[0]:
        raise KDAuditError(
            f"rank {ctx.rank}: {logits.shape[0]} predictions for {order.shape[0]} indices"
        )
    return gather_predictions(order, logits, ctx, num_samples=len(dataset))


def export_predictions(
    path: str | Path,
    logits: np.ndarray | None,
    split: Any,
    ctx: DistContext,
    *,
    seed: int,
    metadata: dict[str, Any],
    overwrite: bool = False,
) -> Path | None:
    """Write the gathered logits of ``split`` (rank 0 only) as one prediction file; all ranks wait.

    ``split`` provides ``labels``, ``sample_ids``, ``groups``, ``class_names``, ``positive_class``,
    ``dataset`` and ``split`` (a :class:`producers.data._local.FileSplit`).
    """
    from kdbias_audit.io import write_predictions

    written = None
    error: BaseException | None = None
    if ctx.is_main:
        assert logits is not None
        meta = {
            "dataset": split.dataset,
            "split": split.split,
            "class_names": list(split.class_names),
        }
        if split.positive_class is not None:
            meta["positive_class"] = int(split.positive_class)
        meta.update(metadata)
        try:
            written = write_predictions(
                path,
                y_true=split.labels,
                logits=logits,
                sample_id=split.sample_ids,
                groups=split.groups or None,
                seed=seed,
                metadata=meta,
                overwrite=overwrite,
            )
        except BaseException as exc:  # let the other ranks leave the barrier before raising
            error = exc
    ctx.barrier()
    if error is not None:
        raise error
    return written


# --------------------------------------------------------------------------------------------
# one training run


def _optimizer(model: torch.nn.Module, spec: RunSpec, total_steps: int):
    """The spec's optimiser and schedule: SGD x0.1 at 30/60/90% of the steps, or AdamW + cosine."""
    if spec.optimizer == "sgd":
        opt = torch.optim.SGD(
            model.parameters(),
            lr=spec.lr,
            momentum=spec.momentum,
            weight_decay=spec.weight_decay,
        )
        milestones = sorted({max(1, int(total_steps * f)) for f in (0.3, 0.6, 0.9)})
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=0.1)
    elif spec.optimizer == "adamw":
        # ViT / TinyViT: DeiT-style AdamW + cosine (Dosovitskiy 2020; Wu 2022)
        opt = torch.optim.AdamW(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, total_steps))
    else:
        raise KDAuditError(f"--optimizer must be sgd or adamw, got {spec.optimizer!r}")
    return opt, sched


def broadcast_buffers(model: torch.nn.Module, ctx: DistContext) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every rank."""
    if not ctx.distributed:
        return
    with torch.no_grad():
        for b in model.buffers():
            if ctx.backend == "nccl" or b.device.type == "cpu":
                dist.broadcast(b, src=0)
            else:
                tmp = b.cpu()
                dist.broadcast(tmp, src=0)
                b.copy_(tmp)


def _save_state(model: torch.nn.Module, path: str | Path) -> None:
    from kdbias_audit.atomic import atomic_write

    atomic_write(Path(path), lambda tmp: torch.save(model.state_dict(), tmp))


def train_ddp(
    run: RunSpec,
    out: str | Path,
    ctx: DistContext | None = None,
    *,
    log: Callable[[str], None] | None = None,
    overwrite: bool = False,
) -> Path | None:
    """Train one model of an image setting (teacher, baseline or distilled) and export its predictions.

    ``run`` is the run's `producers.runspec.RunSpec` (``batch_size`` global; ``optimizer``,
    ``lr``, ``weight_decay``, ``num_workers``, ``max_steps``, ``label`` and ``eval_batch_size``
    read here); ``out`` the prediction file, replaced only if ``overwrite``.

    Loss: :func:`producers.kd.kd_loss` (Hinton), which is plain cross-entropy for the teacher
    and the non-distilled baseline. The teacher of a distilled run is loaded from
    ``teacher_checkpoint`` on every rank and kept in eval mode without gradients. Returns the
    prediction file on rank 0 (None on the other ranks).
    """
    from torch.nn.parallel import DistributedDataParallel as DDP

    from .kd import kd_loss
    from .models import build_model, load_checkpoint
    from .settings_large import image_setting

    own_ctx = ctx is None
    ctx = ctx or init_distributed(device=run.device_or_none)
    say = log or (lambda msg: print(msg, flush=True) if ctx.is_main else None)
    try:
        spec = image_setting(run.setting)
        size = run.image_size or spec.image_size
        train_split, test_split = spec.load_files(
            run.data_root or "", label=run.label, data_seed=run.data_seed
        )
        if run.train_size is not None and run.train_size < len(train_split):
            train_split = train_split.subset(range(run.train_size))
        if run.test_size is not None and run.test_size < len(test_split):
            test_split = test_split.subset(range(run.test_size))
        num_classes = test_split.num_classes
        torch.manual_seed(run.seed)
        np.random.seed(run.seed)
        cuda = ctx.device.type == "cuda"
        model = build_model(run.arch, num_classes=num_classes, image_size=size).to(ctx.device)
        if cuda:
            model = model.to(memory_format=torch.channels_last)
            torch.backends.cudnn.benchmark = True
        net = (
            DDP(model, device_ids=[ctx.local_rank] if cuda else None) if ctx.distributed else model
        )
        teacher = None
        if run.role == "distilled":
            teacher = build_model(
                run.teacher_arch or "resnet50", num_classes=num_classes, image_size=size
            )
            load_checkpoint(teacher, run.teacher_checkpoint)
            teacher = teacher.to(ctx.device).eval()
            if cuda:
                teacher = teacher.to(memory_format=torch.channels_last)
            for p in teacher.parameters():
                p.requires_grad_(False)
        loader = train_loader(
            train_split.dataset_view(spec.transform(size, train=True)),
            ctx,
            global_batch_size=run.batch_size,
            seed=run.seed,
            num_workers=run.num_workers,
        )
        steps_per_epoch = len(loader)
        if steps_per_epoch == 0:
            raise KDAuditError(
                f"training split has {len(train_split)} samples, fewer than one batch of {run.batch_size}"
            )
        total = (
            steps_per_epoch * run.epochs
            if run.max_steps is None
            else min(run.max_steps, steps_per_epoch * run.epochs)
        )
        opt, sched = _optimizer(net, run, total)
        say(
            f"{run.setting} {run.role} {run.arch} seed {run.seed}: {len(train_split)} train / "
            f"{len(test_split)} test images, {ctx.world_size} process(es), {total} steps"
        )
        step = 0
        net.train()
        for epoch in range(math.ceil(total / steps_per_epoch)):
            loader.sampler.set_epoch(epoch)
            for x, y in loader:
                if step >= total:
                    break
                x = x.to(ctx.device, non_blocking=True)
                y = y.to(ctx.device, non_blocking=True)
                if cuda:
                    x = x.contiguous(memory_format=torch.channels_last)
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
                    s = net(x)
                    t = None
                    if teacher is not None:
                        with torch.no_grad():
                            t = teacher(x)
                loss = kd_loss(
                    s,
                    t,
                    y,
                    temperature=run.temperature or 1.0,
                    alpha=run.alpha if teacher is not None else 0.0,
                )
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                step += 1
            say(f"  epoch {epoch + 1}: step {step}/{total}, loss {float(loss.detach()):.4f}")
        # DDP keeps parameters in sync but each rank's last forward updated its own BatchNorm
        # running statistics: make every rank evaluate rank 0's model (the one saved).
        broadcast_buffers(model, ctx)
        if run.save_checkpoint and ctx.is_main:
            _save_state(model, run.save_checkpoint)
        ctx.barrier()
        logits = predict_logits(
            model,
            test_split.dataset_view(spec.transform(size, train=False)),
            ctx,
            batch_size=run.eval_batch_size,
            num_workers=run.num_workers,
        )
        meta = {
            "dataset": run.setting,
            "model": run.arch,
            "role": run.role,
            "epochs": run.epochs,
            "batch_size": run.batch_size,
            "world_size": ctx.world_size,
            "image_size": size,
            "train_size": len(train_split),
            "test_size": len(test_split),
            "optimizer": run.optimizer,
            "data_seed": run.data_seed,
            "producer": "kdbias-audit producers.ddp",
        }
        if teacher is not None:
            meta.update(
                temperature=float(run.temperature),
                alpha=float(run.alpha),
                teacher_model=run.teacher_arch or "resnet50",
            )
        written = export_predictions(
            out, logits, test_split, ctx, seed=run.seed, metadata=meta, overwrite=overwrite
        )
        if written is not None:
            say(f"wrote {written}")
        return written
    finally:
        if own_ctx:
            shutdown(ctx)


# --------------------------------------------------------------------------------------------
# command line (the torchrun target)


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def command(
    setting: Annotated[str, typer.Option(help="imagenet | tinyimagenet | celeba")],
    data_root: Annotated[str, typer.Option(help="Dataset directory.")],
    out: Annotated[
        str, typer.Option(help="Prediction file to write (e.g. runs/x/teacher/seed0.parquet).")
    ],
    role: Annotated[str, typer.Option(help="teacher, baseline or distilled.")] = "teacher",
    arch: Annotated[
        str, typer.Option(help="Model name (producers.models.build_model).")
    ] = "resnet50",
    seed: Annotated[int, typer.Option()] = 0,
    epochs: Annotated[int, typer.Option()] = 100,
    batch_size: Annotated[int, typer.Option(help="Global batch size.")] = 512,
    temperature: Annotated[float | None, typer.Option()] = None,
    alpha: Annotated[float, typer.Option()] = 0.8,
    teacher_arch: Annotated[str | None, typer.Option()] = None,
    teacher_checkpoint: Annotated[str | None, typer.Option()] = None,
    save_checkpoint: Annotated[str | None, typer.Option()] = None,
    image_size: Annotated[int | None, typer.Option()] = None,
    optimizer: Annotated[
        str | None, typer.Option(help="sgd or adamw (default: the setting's).")
    ] = None,
    lr: Annotated[float | None, typer.Option()] = None,
    weight_decay: Annotated[float | None, typer.Option()] = None,
    num_workers: Annotated[int, typer.Option()] = 8,
    eval_batch_size: Annotated[int, typer.Option()] = 256,
    max_steps: Annotated[int | None, typer.Option()] = None,
    train_size: Annotated[int | None, typer.Option(help="First N training images.")] = None,
    test_size: Annotated[int | None, typer.Option(help="First N test images.")] = None,
    device: Annotated[str | None, typer.Option(help="cpu or cuda.")] = None,
    label: Annotated[
        str | None, typer.Option(help="CelebA label attribute (Smiling or Eyeglasses).")
    ] = None,
    data_seed: Annotated[
        int, typer.Option(help="CelebA: seed of the training-set undersampling.")
    ] = 0,
    overwrite: Annotated[bool, typer.Option("--overwrite")] = False,
) -> None:
    """Train one run of an image setting under torchrun (DDP) and write its predictions."""
    try:
        for flag, value, allowed in (
            ("--role", role, ("teacher", "baseline", "distilled")),
            ("--optimizer", optimizer, (None, "sgd", "adamw")),
            ("--device", device, (None, "cpu", "cuda")),
        ):
            if value not in allowed:
                raise KDAuditError(f"{flag} must be one of {[v for v in allowed if v]}")
        run = RunSpec(
            setting=setting,
            role=role,  # type: ignore[arg-type]
            seed=seed,
            arch=arch,
            epochs=epochs,
            batch_size=batch_size,
            temperature=temperature,
            alpha=alpha,
            teacher_arch=teacher_arch or ("resnet50" if role == "distilled" else None),
            teacher_checkpoint=teacher_checkpoint,
            save_checkpoint=save_checkpoint,
            image_size=image_size,
            optimizer=optimizer,
            lr=lr,
            weight_decay=weight_decay,
            num_workers=num_workers,
            eval_batch_size=eval_batch_size,
            max_steps=max_steps,
            train_size=train_size,
            test_size=test_size,
            data_root=data_root,
            device=device or "auto",
            label=label,
            data_seed=data_seed,
        )
        train_ddp(run, out, overwrite=overwrite)
    except (KDAuditError, OSError) as exc:
        typer.echo(f"error: {' '.join(str(exc).split())}", err=True)
        raise typer.Exit(1) from None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m producers.ddp ...`` (under torchrun); returns the exit status."""
    try:
        app(list(argv) if argv is not None else sys.argv[1:], prog_name="python -m producers.ddp")
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


__all__ = [
    "DistContext",
    "broadcast_buffers",
    "export_predictions",
    "gather_predictions",
    "init_distributed",
    "predict_logits",
    "shutdown",
    "train_ddp",
    "train_loader",
]

if __name__ == "__main__":
    raise SystemExit(main())
