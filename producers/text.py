"""HateXplain producers: BERT-base teacher -> DistilBERT student through ``transformers``.

Models are read from LOCAL directories only (``from_pretrained(path, local_files_only=True)``);
nothing is downloaded. A model directory needs:

- ``config.json`` (the architecture: ``model_type`` ``bert`` or ``distilbert``);
- the weights: ``model.safetensors`` or ``pytorch_model.bin`` (or a sharded
  ``model.safetensors.index.json`` / ``pytorch_model.bin.index.json`` with its shards);
- the tokenizer: ``tokenizer.json`` or the WordPiece ``vocab.txt`` (bert-base-uncased and
  distilbert-base-uncased share the same uncased vocabulary), plus ``tokenizer_config.json``
  (lower-casing and special tokens; ``special_tokens_map.json`` is read when present).

Such a directory is what ``save_pretrained`` writes (for a model and its tokenizer) or what
``huggingface-cli download bert-base-uncased --local-dir DIR`` fetches on a machine with
internet. A pretrained encoder without a classification head is fine: the two-class head is
newly initialised. A fine-tuned teacher is saved the same way (``--save-model DIR``) and the
distilled runs load it from there.

Recipe (the paper gives none for HateXplain; these are the usual BERT fine-tuning values):
AdamW (lr 2e-5, weight decay 0.01), linear warm-up over 10% of the steps then linear decay,
batch size 32, 3 epochs, posts truncated to 128 word pieces, bf16 autocast on CUDA. The
distilled student's loss is :func:`producers.kd.kd_loss` (Hinton, alpha 0.8), the teacher in
eval mode without gradients; the teacher and the non-distilled baseline use cross-entropy.

Command line::

    python -m producers.text --data-root /data/hatexplain --role teacher --model-dir models/bert-base-uncased \\
        --seed 0 --out runs/hatexplain/teacher/seed0.parquet --save-model runs/hatexplain/_checkpoints/teacher/seed0
    python -m producers.text --data-root /data/hatexplain --role distilled --model-dir models/distilbert-base-uncased \\
        --teacher-dir runs/hatexplain/_checkpoints/teacher/seed0 --temperature 4 --seed 0 \\
        --out runs/hatexplain/ds_T4/seed0.parquet
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
import typer

from kdbias_audit.errors import KDAuditError

from .data import DataNotFoundError
from .kd import kd_loss
from .runspec import RunSpec

WEIGHT_FILES = (
    "model.safetensors",
    "pytorch_model.bin",
    "model.safetensors.index.json",
    "pytorch_model.bin.index.json",
)
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt")
DEFAULT_BATCH_SIZE = 32
DEFAULT_MAX_LENGTH = 128


def check_model_dir(path: str | Path, *, need_tokenizer: bool = True) -> Path:
    """Check that ``path`` holds a loadable local model; one-line error naming what is missing."""
    path = Path(path)
    if not path.is_dir():
        raise DataNotFoundError(
            f"model directory {path} does not exist; put config.json, model.safetensors (or pytorch_model.bin), "
            "vocab.txt or tokenizer.json and tokenizer_config.json there (save_pretrained output)"
        )
    missing = []
    if not (path / "config.json").is_file():
        missing.append("config.json")
    if not any((path / f).is_file() for f in WEIGHT_FILES):
        missing.append("model.safetensors or pytorch_model.bin")
    if need_tokenizer and not any((path / f).is_file() for f in TOKENIZER_FILES):
        missing.append("vocab.txt or tokenizer.json")
    if missing:
        raise DataNotFoundError(
            f"model directory {path} lacks {', '.join(missing)}; put them there (save_pretrained output)"
        )
    return path


def load_tokenizer(path: str | Path) -> Any:
    """The tokenizer saved in a local model directory (no downloads)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(check_model_dir(path)), local_files_only=True)


def load_classifier(
    path: str | Path, *, num_labels: int = 2, class_names: Sequence[str] | None = None
) -> torch.nn.Module:
    """A sequence classifier (``AutoModelForSequenceClassification``) from a local directory.

    An encoder checkpoint without a head (``bert-base-uncased``) gets a new ``num_labels``-way
    head; a checkpoint with a head of another size has it replaced.
    """
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    kwargs: dict[str, Any] = {
        "num_labels": num_labels,
        "local_files_only": True,
        "ignore_mismatched_sizes": True,
    }
    if class_names is not None:
        kwargs["id2label"] = dict(enumerate(class_names))
        kwargs["label2id"] = {n: i for i, n in enumerate(class_names)}
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialized classifier" notices are expected here
    try:
        return AutoModelForSequenceClassification.from_pretrained(
            str(check_model_dir(path, need_tokenizer=False)), **kwargs
        )
    finally:
        hf_logging.set_verbosity(verbosity)


def encode(
    tokenizer: Any, texts: Sequence[str], *, max_length: int = DEFAULT_MAX_LENGTH
) -> dict[str, torch.Tensor]:
    """Tokenise ``texts`` once: ``input_ids`` and ``attention_mask`` (N, L), padded to the longest."""
    enc = tokenizer(
        list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    )
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}


def _batch(
    enc: dict[str, torch.Tensor], idx: torch.Tensor, device: torch.device
) -> dict[str, torch.Tensor]:
    mask = enc["attention_mask"][idx]
    width = max(1, int(mask.sum(dim=1).max()))  # trim the batch to its longest post
    return {k: v[idx, :width].to(device, non_blocking=True) for k, v in enc.items()}


def kd_step(
    student: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    student_batch: dict[str, torch.Tensor],
    labels: torch.Tensor,
    *,
    teacher: torch.nn.Module | None = None,
    teacher_batch: dict[str, torch.Tensor] | None = None,
    temperature: float = 1.0,
    alpha: float = 0.8,
    scheduler: Any = None,
) -> float:
    """One optimisation step of the student with :func:`producers.kd.kd_loss`.

    ``teacher`` None gives cross-entropy (teacher and baseline runs). The teacher sees its own
    tokenisation (``teacher_batch``; by default the student's) under ``torch.no_grad``.
    Returns the loss.
    """
    cuda = labels.device.type == "cuda"
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
        s = student(**student_batch).logits
        t = None
        if teacher is not None:
            with torch.no_grad():
                t = teacher(
                    **(teacher_batch if teacher_batch is not None else student_batch)
                ).logits
    loss = kd_loss(
        s, t, labels, temperature=temperature, alpha=alpha if teacher is not None else 0.0
    )
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    return float(loss.detach())


@torch.no_grad()
def predict_text(
    model: torch.nn.Module,
    enc: dict[str, torch.Tensor],
    *,
    batch_size: int = 128,
    device: torch.device | str = "cpu",
) -> np.ndarray:
    """Logits (N, C) float32 of ``model`` on pre-tokenised posts, in input order."""
    device = torch.device(device)
    was_training = model.training
    model.eval()
    n = enc["input_ids"].shape[0]
    out = []
    for start in range(0, n, batch_size):
        idx = torch.arange(start, min(n, start + batch_size))
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
            out.append(model(**_batch(enc, idx, device)).logits.float().cpu())
    model.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros((0, 2), dtype=np.float32)


def export_text_predictions(
    path: str | Path,
    split: Any,
    logits: np.ndarray,
    *,
    seed: int,
    metadata: dict[str, Any],
    overwrite: bool = False,
) -> Path:
    """Write a HateXplain split's logits through :func:`kdbias_audit.io.write_predictions`.

    Sample ids are the ``post_id``s; groups ``race`` and ``gender``; class names
    ``("normal", "toxic")`` with positive class 1 (toxic).
    """
    from kdbias_audit.io import write_predictions

    meta = {
        "dataset": split.dataset,
        "split": split.split,
        "class_names": list(split.class_names),
        "positive_class": int(split.positive_class),
    }
    meta.update(metadata)
    return write_predictions(
        path,
        y_true=split.labels,
        logits=logits,
        sample_id=split.sample_ids,
        groups=split.groups,
        seed=seed,
        metadata=meta,
        overwrite=overwrite,
    )


def resolve_model_dir(arch: str, models_root: str | None) -> str:
    """A text run's model directory: ``arch`` itself if it is a directory (or no
    ``models_root`` is given), else ``models_root/arch``."""
    if Path(arch).is_dir() or models_root is None:
        return arch
    return str(Path(models_root) / arch)


def train_text(
    run: RunSpec,
    out: str | Path,
    *,
    log: Callable[[str], None] | None = None,
    overwrite: bool = False,
) -> Path:
    """Fine-tune one model on HateXplain train, export its test predictions, return the file.

    ``run`` is the run's `producers.runspec.RunSpec` of the ``hatexplain`` setting: ``arch``
    the model directory (or its name under ``models_root``), ``teacher_checkpoint`` the
    fine-tuned teacher's directory, ``save_checkpoint`` where to ``save_pretrained`` this
    model; ``lr``, ``weight_decay``, ``warmup``, ``max_length``, ``max_steps`` the recipe.
    ``out`` is the prediction file, replaced only if ``overwrite``.
    """
    from transformers import get_linear_schedule_with_warmup

    from .data.hatexplain import load_hatexplain

    say = log or (lambda msg: print(msg, flush=True))
    if run.optimizer != "adamw":
        raise KDAuditError(f"the text runner trains with adamw, not {run.optimizer!r}")
    model_dir = resolve_model_dir(run.arch, run.models_root)
    teacher_dir = run.teacher_checkpoint if run.role == "distilled" else None
    device = torch.device(run.device_or_none or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(run.seed)
    np.random.seed(run.seed)
    train = load_hatexplain(run.data_root or "", split="train")
    test = load_hatexplain(run.data_root or "", split="test")
    n_train = len(train) if run.train_size is None else min(run.train_size, len(train))
    if run.test_size is not None and run.test_size < len(test):
        test = _head(test, run.test_size)

    tokenizer = load_tokenizer(model_dir)
    model = load_classifier(
        model_dir, num_labels=train.num_classes, class_names=train.class_names
    ).to(device)
    enc_train = encode(tokenizer, train.texts[:n_train], max_length=run.max_length)
    teacher = enc_teacher = None
    if run.role == "distilled":
        teacher = load_classifier(teacher_dir, num_labels=train.num_classes).to(device).eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
        enc_teacher = encode(
            load_tokenizer(teacher_dir), train.texts[:n_train], max_length=run.max_length
        )
    y = torch.as_tensor(train.labels[:n_train], dtype=torch.int64)

    steps_per_epoch = math.ceil(n_train / run.batch_size)
    total = (
        steps_per_epoch * run.epochs
        if run.max_steps is None
        else min(run.max_steps, steps_per_epoch * run.epochs)
    )
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    params = [
        {
            "params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
            "weight_decay": run.weight_decay,
        },
        {
            "params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)],
            "weight_decay": 0.0,
        },
    ]
    opt = torch.optim.AdamW(params, lr=run.lr)
    sched = get_linear_schedule_with_warmup(opt, int((run.warmup or 0.0) * total), max(1, total))
    gen = torch.Generator().manual_seed(run.seed)
    say(
        f"hatexplain {run.role} {run.model_label} seed {run.seed}: "
        f"{n_train} train / {len(test)} test posts, {total} steps on {device}"
    )
    model.train()
    step = 0
    for epoch in range(math.ceil(total / steps_per_epoch)):
        perm = torch.randperm(n_train, generator=gen)
        loss = float("nan")
        for start in range(0, n_train, run.batch_size):
            if step >= total:
                break
            idx = perm[start : start + run.batch_size]
            loss = kd_step(
                model,
                opt,
                _batch(enc_train, idx, device),
                y[idx].to(device),
                teacher=teacher,
                teacher_batch=None if enc_teacher is None else _batch(enc_teacher, idx, device),
                temperature=run.temperature or 1.0,
                alpha=run.alpha,
                scheduler=sched,
            )
            step += 1
        say(f"  epoch {epoch + 1}: step {step}/{total}, loss {loss:.4f}")
    if run.save_checkpoint:
        model.save_pretrained(run.save_checkpoint)
        tokenizer.save_pretrained(run.save_checkpoint)
    logits = predict_text(
        model, encode(tokenizer, test.texts, max_length=run.max_length), device=device
    )
    meta: dict[str, Any] = {
        "model": run.model_label,
        "role": run.role,
        "epochs": run.epochs,
        "batch_size": run.batch_size,
        "max_length": run.max_length,
    }
    if run.role == "distilled":
        meta.update(
            temperature=float(run.temperature),
            alpha=float(run.alpha),
            teacher_model=Path(run.teacher_arch).name
            if run.teacher_arch
            else _teacher_type(teacher_dir),
        )
    written = export_text_predictions(
        out, test, logits, seed=run.seed, metadata=meta, overwrite=overwrite
    )
    say(f"wrote {written}")
    return written


def _teacher_type(teacher_dir: str | None) -> str:
    try:
        import json

        return str(json.loads((Path(teacher_dir) / "config.json").read_text())["model_type"])
    except (OSError, KeyError, ValueError, TypeError):  # the name is informative only
        return Path(str(teacher_dir)).name


def _head(split: Any, n: int) -> Any:
    from dataclasses import replace

    return replace(
        split,
        sample_ids=split.sample_ids[:n],
        texts=split.texts[:n],
        labels=split.labels[:n],
        groups={k: v[:n] for k, v in split.groups.items()},
        targets=split.targets[:n],
    )


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def command(
    data_root: Annotated[
        str, typer.Option(help="Folder with dataset.json and post_id_divisions.json.")
    ],
    out: Annotated[str, typer.Option(help="Prediction file to write.")],
    model_dir: Annotated[str, typer.Option(help="Local model directory (see module docstring).")],
    role: Annotated[str, typer.Option(help="teacher, baseline or distilled.")] = "teacher",
    seed: Annotated[int, typer.Option()] = 0,
    epochs: Annotated[int, typer.Option()] = 3,
    batch_size: Annotated[int, typer.Option()] = DEFAULT_BATCH_SIZE,
    lr: Annotated[float, typer.Option()] = 2e-5,
    max_length: Annotated[int, typer.Option()] = DEFAULT_MAX_LENGTH,
    temperature: Annotated[float | None, typer.Option()] = None,
    alpha: Annotated[float, typer.Option()] = 0.8,
    teacher_dir: Annotated[
        str | None, typer.Option(help="The fine-tuned teacher (a --save-model directory).")
    ] = None,
    save_model: Annotated[
        str | None, typer.Option(help="Save the fine-tuned model and tokenizer here.")
    ] = None,
    model_name: Annotated[
        str | None,
        typer.Option(help="Name written as metadata 'model' (default: the folder name)."),
    ] = None,
    device: Annotated[str | None, typer.Option(help="cpu or cuda.")] = None,
    max_steps: Annotated[int | None, typer.Option()] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite")] = False,
) -> None:
    """HateXplain: one BERT -> DistilBERT run (teacher, baseline or distilled)."""
    try:
        if role not in ("teacher", "baseline", "distilled"):
            raise KDAuditError(f"--role must be teacher, baseline or distilled, got {role!r}")
        if device not in (None, "cpu", "cuda"):
            raise KDAuditError(f"--device must be cpu or cuda, got {device!r}")
        run = RunSpec(
            setting="hatexplain",
            role=role,  # type: ignore[arg-type]
            seed=seed,
            arch=model_dir,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            max_length=max_length,
            temperature=temperature,
            alpha=alpha,
            teacher_checkpoint=teacher_dir,
            save_checkpoint=save_model,
            model_name=model_name or Path(model_dir).resolve().name,
            device=device or "auto",
            max_steps=max_steps,
            data_root=data_root,
        )
        train_text(run, out, overwrite=overwrite)
    except (KDAuditError, OSError) as exc:
        typer.echo(f"error: {' '.join(str(exc).split())}", err=True)
        raise typer.Exit(1) from None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m producers.text ...``; returns the exit status."""
    try:
        app(list(argv) if argv is not None else sys.argv[1:], prog_name="python -m producers.text")
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


__all__ = [
    "check_model_dir",
    "encode",
    "export_text_predictions",
    "kd_step",
    "load_classifier",
    "load_tokenizer",
    "predict_text",
    "resolve_model_dir",
    "train_text",
]

if __name__ == "__main__":
    raise SystemExit(main())
