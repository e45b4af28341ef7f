"""The streamed executors of the sweep engine: ImageNet-style DDP runs and HateXplain (text).

`producers.sweep` hands a plan here when the setting's ``runner`` is ``ddp`` or ``text`` (or
``--runner`` says so). Same plan, layout and options as the in-memory executor
(`producers.plan`):
``ROOT/teacher/``, ``ROOT/nds/``, ``ROOT/ds_T<T>/``, one ``seed<k>.parquet`` per seed, each
distilled student taught by the teacher of its seed, teachers first, finished runs skipped,
``--shard i/n``. Only the executor differs:

- image settings (``imagenet``, ``imagenet_vit``, and ``celeba``/``tinyimagenet`` on several
  GPUs) train with `producers.ddp.train_ddp`. Launch under ``torchrun`` for several GPUs::

      torchrun --nproc_per_node=4 -m producers.sweep --setting imagenet --data-root /data/imagenet \\
          --out runs/imagenet --seeds 0-4 --temperatures 1-10,20,30,40 --epochs 100

  every rank walks the same plan; rank 0 writes the files.
- ``hatexplain`` trains with `producers.text.train_text`; ``--teacher-arch`` / ``--student-arch``
  (default ``bert-base-uncased`` / ``distilbert-base-uncased``) name local model directories,
  looked up under ``--models-root`` unless they are paths themselves.

Teacher weights: ``ROOT/.producers/checkpoints/teacher_seed<k>.pt`` (images) or the directory
``ROOT/.producers/checkpoints/teacher_seed<k>/`` (``save_pretrained``, text). Logs:
``ROOT/.producers/logs/<runset>_seed<k>.log``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from kdbias_audit.errors import KDAuditError

from .plan import SweepPlan, SweepRun, SweepSummary
from .settings import get_setting

__all__ = ["run_large_sweep", "run_state"]

_CHECKED = (
    "role",
    "model",
    "dataset",
    "seed",
    "temperature",
    "alpha",
    "teacher_model",
    "epochs",
    "batch_size",
)


def _is_text(setting: str) -> bool:
    return get_setting(setting).runner == "text"


def _text_ckpt(path: str | None) -> Path | None:
    return None if path is None else Path(str(path).removesuffix(".pt"))


def _dir_or_none(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _check_model_dir(arch: str, models_root: str | None) -> None:
    if not Path(arch).is_dir() and models_root is None:
        raise KDAuditError(
            f"model {arch!r}: pass --models-root DIR holding {arch}/ (config.json, weights, "
            "vocab.txt or tokenizer.json, tokenizer_config.json) or give a directory path"
        )


def _checkpoint_ready(run: SweepRun) -> bool:
    spec = run.spec
    if not spec.save_checkpoint:
        return True
    if _is_text(spec.setting):
        return (_text_ckpt(spec.save_checkpoint) / "config.json").is_file()
    return Path(spec.save_checkpoint).is_file()


def _teacher_ready(run: SweepRun) -> bool:
    ckpt = run.spec.teacher_checkpoint
    saved = (
        (_text_ckpt(ckpt) / "config.json").is_file()
        if _is_text(run.spec.setting)
        else Path(ckpt).is_file()
    )
    return run.teacher_out is not None and run.teacher_out.is_file() and saved


def _expected(run: SweepRun) -> dict[str, Any]:
    s = run.spec
    meta: dict[str, Any] = {
        "role": s.role,
        "model": s.model_label if _is_text(s.setting) else s.arch,
        "dataset": s.setting,
        "seed": s.seed,
        "epochs": s.epochs,
        "batch_size": s.batch_size,
    }
    if s.role == "distilled":
        meta.update(temperature=float(s.temperature), alpha=float(s.alpha))
    return meta


def run_state(run: SweepRun) -> str:
    """``"done"`` (file validates, teacher weights saved), ``"missing"`` or ``"invalid"``.

    A file made with another recipe (role, model, epochs, ... differ) raises `KDAuditError`.
    """
    from kdbias_audit.io import read_predictions

    if not run.out.is_file() or not _checkpoint_ready(run):
        return "missing"
    try:
        meta = read_predictions(run.out).metadata
    except KDAuditError:
        return "invalid"
    for key, value in _expected(run).items():
        if meta.get(key) != value:
            raise KDAuditError(
                f"{run.out}: exists but was made with {key}={meta.get(key)!r} (this sweep: "
                f"{value!r}); use another --out or remove the file"
            )
    return "done"


def _logger(path: Path, echo: bool):
    def log(msg: str) -> None:
        if not echo:
            return
        print(msg, flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}\n")

    return log


def _train_one(run: SweepRun, ctx: Any, overrides: dict[str, Any]) -> None:
    s = replace(run.spec, **overrides) if overrides else run.spec
    overwrite = run.out.exists()  # an invalid file: replace it
    if _is_text(s.setting):
        from .text import train_text

        _check_model_dir(s.arch, s.models_root)
        # the plan names teacher weights ``teacher_seed<k>.pt``; text saves a directory
        s = replace(
            s,
            save_checkpoint=_dir_or_none(_text_ckpt(s.save_checkpoint)),
            teacher_checkpoint=_dir_or_none(_text_ckpt(s.teacher_checkpoint)),
        )
        train_text(s, run.out, log=_logger(run.log, True), overwrite=overwrite)
        return
    from .ddp import train_ddp

    train_ddp(s, run.out, ctx, log=_logger(run.log, ctx.is_main), overwrite=overwrite)


def run_large_sweep(
    plan: SweepPlan, *, teacher_wait: float = 6 * 3600, poll_seconds: float = 5.0, **opts: Any
) -> SweepSummary:
    """Execute ``plan`` run by run (teachers first); skip finished runs; report like `producers.sweep`.

    Each run trains from its `producers.runspec.RunSpec` (``models_root``, ``num_workers``,
    ``max_steps`` included); ``opts`` given here (not None) override those spec fields for
    every run. Image settings join the ``torchrun`` process group if there is one.
    """
    overrides = {k: v for k, v in opts.items() if v is not None}
    ctx = None
    if plan.runs and not _is_text(plan.runs[0].spec.setting):
        from .ddp import init_distributed

        ctx = init_distributed(device=plan.runs[0].spec.device_or_none)
    main_rank = ctx is None or ctx.is_main
    trained: list[str] = []
    skipped: list[str] = []
    failed: list[tuple[str, str]] = []
    failed_teachers: set[int] = set()
    try:
        for run in plan.runs:
            if run_state(run) == "done":
                skipped.append(run.name)
                continue
            if run.spec.role == "distilled":
                if run.spec.seed in failed_teachers:
                    failed.append((run.name, "its teacher failed"))
                    continue
                start = time.monotonic()
                while not _teacher_ready(run) and time.monotonic() - start <= teacher_wait:
                    time.sleep(poll_seconds)
                if not _teacher_ready(run):
                    failed.append(
                        (run.name, f"teacher {run.teacher_out} not ready after {teacher_wait:.0f}s")
                    )
                    continue
            try:
                _train_one(run, ctx, overrides)
            except (KDAuditError, OSError, RuntimeError, ValueError) as exc:
                msg = " ".join(str(exc).split()) or type(exc).__name__
                failed.append((run.name, msg))
                if run.spec.role == "teacher":
                    failed_teachers.add(run.spec.seed)
                if main_rank:
                    print(f"{run.name}: FAILED ({msg}); log {run.log}", file=sys.stderr, flush=True)
                    _logger(run.log, True)(f"FAILED: {type(exc).__name__}: {msg}")
            else:
                trained.append(run.name)
    finally:
        if ctx is not None:
            from .ddp import shutdown

            shutdown(ctx)
    return SweepSummary(plan.root, tuple(trained), tuple(skipped), tuple(failed))
