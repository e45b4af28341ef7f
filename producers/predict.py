"""Third-party models to prediction files: ``python -m producers.predict``.

One command per model turns a local timm, torchvision, Hugging Face or producers checkpoint
and a labelled test set into one prediction file (format v1) that ``kdaudit`` reads::

    python -m producers.predict --model timm:resnet18 --weights teacher.safetensors \\
        --data images/ --out runs/audit/teacher/seed0.parquet --role teacher
    python -m producers.predict --model hf:models/distilbert-ft --data test.csv \\
        --text-column text --label-column label --group-column race \\
        --out runs/audit/student/seed0.parquet --role distilled

Model specs are in `producers.predict_models`, data specs in `producers.predict_data`; this
module maps the model's classes onto the dataset's (`map_classes`), runs the batched inference
(`predict_logits`) and writes the file (`predict`). See ``docs/predict.md``.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from collections.abc import Sequence
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from kdbias_audit import KDAuditError

from .predict_data import PredictData, load_data_spec
from .predict_labels import ClassMapping, map_classes, read_class_map, read_model_classes

__all__ = ["app", "map_classes", "predict", "predict_logits", "sha256_file"]


# --- inference -------------------------------------------------------------------------------


class _Failed:
    """What a worker returns for an example it cannot read (its message, one line)."""

    def __init__(self, message: str) -> None:
        self.message = message


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


class ImageDataset:
    """Map-style dataset: item ``i`` is the model's transform of image ``i`` (RGB)."""

    def __init__(self, data: PredictData, transform: Any) -> None:
        self.paths, self.images, self.transform = data.paths, data.images, transform

    def __len__(self) -> int:
        return len(self.paths) if self.paths is not None else len(self.images)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> Any:
        from PIL import Image

        if self.paths is None:
            return self.transform(Image.fromarray(self.images[i]))  # type: ignore[index]
        path = self.paths[i]
        try:
            with Image.open(path) as im:
                img = im.convert("RGB")
        except Exception as exc:  # PIL raises several types for broken files
            return _Failed(f"{path}: cannot decode the image ({_first_line(exc)})")
        return self.transform(img)


def _collate(items: list[Any]) -> Any:
    import torch

    for it in items:
        if isinstance(it, _Failed):
            return it
    return torch.stack(items)


def _worker_init(_: int) -> None:
    import torch

    torch.set_num_threads(1)


def _progress(unit: str, enabled: bool) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Speed(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f} {unit}/s" if speed else f"- {unit}/s")

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        Speed(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )


def predict_logits(
    lm: Any,
    data: PredictData,
    *,
    device: Any,
    batch_size: int,
    workers: int,
    amp: bool = True,
    progress: bool = False,
) -> np.ndarray:
    """The model's logits (N, K) float32 for every example of ``data``, in order.

    Batched under ``torch.inference_mode``; bf16 autocast on CUDA (``amp``); channels_last
    inputs for convolutional image models on CUDA; images decoded and transformed by ``workers``
    DataLoader processes (0: in this process).
    """
    import torch

    from .gpu import autocast

    model = lm.module.to(device).eval()
    cl = lm.channels_last and lm.input_kind == "image" and device.type == "cuda"
    if cl:
        model = model.to(memory_format=torch.channels_last)
    n = len(data)
    out = np.empty((n, lm.num_outputs), dtype=np.float32)
    done = 0
    with _progress(data.unit, progress) as bar, torch.inference_mode(), autocast(device, amp):
        label = lm.spec if lm.family != "hf" else f"hf:{Path(lm.spec[3:]).name}"
        task = bar.add_task(f"{label} on {data.name}"[:40], total=n)
        if lm.input_kind == "text":
            texts = data.texts or ()
            for start in range(0, n, batch_size):
                enc = lm.tokenizer(
                    list(texts[start : start + batch_size]),
                    padding=True,
                    truncation=True,
                    max_length=lm.max_length,
                    return_tensors="pt",
                )
                enc = {k: v.to(device) for k, v in enc.items()}
                logits = lm.forward(enc).float().cpu().numpy()
                out[start : start + len(logits)] = logits
                done += len(logits)
                bar.update(task, advance=len(logits))
        else:
            loader = torch.utils.data.DataLoader(
                ImageDataset(data, lm.transform),
                batch_size=batch_size,
                shuffle=False,
                num_workers=workers,
                collate_fn=_collate,
                pin_memory=device.type == "cuda",
                worker_init_fn=_worker_init if workers else None,
                prefetch_factor=4 if workers else None,
            )
            for batch in loader:
                if isinstance(batch, _Failed):
                    raise KDAuditError(batch.message)
                x = batch.to(device, non_blocking=True)
                if cl:
                    x = x.contiguous(memory_format=torch.channels_last)
                logits = lm.forward(x).float().cpu().numpy()
                out[done : done + len(logits)] = logits
                done += len(logits)
                bar.update(task, advance=len(logits))
    if not np.all(np.isfinite(out)):
        raise KDAuditError(f"{lm.spec}: the model produced non-finite logits")
    return out


# --- metadata --------------------------------------------------------------------------------


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in (
        "kdbias-audit",
        "torch",
        "torchvision",
        "timm",
        "transformers",
        "tokenizers",
        "safetensors",
        "pillow",
        "numpy",
    ):
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            pass
    return out


# --- the whole export ------------------------------------------------------------------------


def predict(
    model: str,
    data: str,
    out: Path,
    *,
    weights: Path | None = None,
    role: str | None = None,
    temperature: float | None = None,
    teacher_model: str | None = None,
    seed: int = 0,
    text_column: str | None = None,
    path_column: str | None = None,
    label_column: str = "label",
    group_columns: Sequence[str] = (),
    id_column: str | None = None,
    groups_file: Path | None = None,
    class_map: Path | None = None,
    model_classes: str | None = None,
    restrict_to_dataset_classes: bool = False,
    num_classes: int | None = None,
    image_size: int | None = None,
    max_length: int | None = None,
    data_root: Path | None = None,
    train_size: int | None = None,
    test_size: int | None = None,
    data_seed: int = 0,
    dataset_name: str | None = None,
    split: str = "test",
    batch_size: int | None = None,
    workers: int | None = None,
    device: str = "auto",
    amp: bool = True,
    logits_dtype: str = "float32",
    overwrite: bool = False,
    progress: bool = False,
) -> Path:
    """Predict ``data`` with ``model`` and write one prediction file to ``out``.

    The arguments mirror the command line (``python -m producers.predict --help``). Nothing is
    written when anything fails; the file appears atomically at the end.
    """
    import torch

    from kdbias_audit import write_predictions

    from .gpu import configure_device
    from .predict_models import load_model

    out = Path(out)
    if out.exists() and not overwrite:
        raise KDAuditError(f"{out}: already exists; pass --overwrite to replace it")
    if logits_dtype not in ("float32", "float16"):
        raise KDAuditError(f"--logits-dtype must be float32 or float16, got {logits_dtype!r}")
    if device not in ("auto", "cpu", "cuda"):
        raise KDAuditError(f"--device must be auto, cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise KDAuditError("--device cuda: torch sees no CUDA device")
    dev = torch.device(
        "cuda" if device == "auto" and torch.cuda.is_available() else device.replace("auto", "cpu")
    )
    configure_device(dev)
    cmap = read_class_map(class_map) if class_map is not None else None
    mclasses = read_model_classes(model_classes) if model_classes else None

    pdata, splits = load_data_spec(
        data,
        text_column=text_column,
        path_column=path_column,
        label_column=label_column,
        group_columns=group_columns,
        id_column=id_column,
        groups_file=groups_file,
        data_root=data_root,
        image_size=image_size,
        train_size=train_size,
        test_size=test_size,
        data_seed=data_seed,
    )
    torch.manual_seed(seed)
    lm = load_model(
        model,
        weights=weights,
        input_kind=pdata.kind,
        num_classes=num_classes,
        image_size=image_size,
        max_length=max_length,
        splits=splits,
    )
    names = (
        mclasses
        if mclasses is not None
        else ([(n,) for n in lm.class_names] if lm.class_names is not None else None)
    )
    where = f"{pdata.spec}" + (
        f" (column {label_column!r})" if pdata.extra.get("label_column") else ""
    )
    mapping = map_classes(
        pdata.class_names,
        names,
        lm.num_outputs,
        class_map=cmap,
        class_map_source=str(class_map),
        restrict=restrict_to_dataset_classes,
        where=where,
        model_spec=lm.spec,
    )
    if lm.family == "producers":
        mapping = ClassMapping(mapping.columns, "setting", mapping.restricted)

    if batch_size is None:
        batch_size = 32 if pdata.kind == "text" else 64
    if batch_size < 1:
        raise KDAuditError(f"--batch-size must be >= 1, got {batch_size}")
    if workers is None:
        workers = (
            0 if pdata.kind == "text" or len(pdata) <= batch_size else min(8, os.cpu_count() or 1)
        )
    logits = predict_logits(
        lm, pdata, device=dev, batch_size=batch_size, workers=workers, amp=amp, progress=progress
    )
    logits = np.ascontiguousarray(logits[:, mapping.columns])

    weights_hash = {}
    for w in lm.weights:
        weights_hash[w.name if len(lm.weights) > 1 or lm.family == "hf" else str(w)] = sha256_file(
            w
        )
    meta: dict[str, Any] = {
        "role": role,
        "model": lm.spec
        if lm.family != "hf"
        else f"hf:{lm.extra.get('model_type') or Path(model[3:]).name}",
        "model_spec": model,
        "model_family": lm.family,
        "weights": str(weights) if weights is not None else model.partition(":")[2],
        "weights_sha256": weights_hash,
        "dataset": dataset_name or pdata.name,
        "dataset_spec": pdata.spec,
        "dataset_size": len(pdata),
        "split": pdata.extra.get("split", split),
        "class_names": list(pdata.class_names),
        "preprocessing": lm.preprocessing,
        "inference": {
            "device": dev.type,
            "precision": "bf16 autocast" if dev.type == "cuda" and amp else "fp32",
            "batch_size": batch_size,
        },
        "versions": library_versions(),
        "producer": "producers.predict",
        **mapping.metadata(lm.num_outputs),
    }
    if temperature is not None:
        meta["temperature"] = float(temperature)
    if teacher_model is not None:
        meta["teacher_model"] = teacher_model
    for key in ("data_seed", "image_size", "train_size", "test_size"):
        if key in pdata.extra:
            meta[key] = pdata.extra[key]
    if len(pdata.class_names) == 2:
        meta["positive_class"] = 1
    meta = {k: v for k, v in meta.items() if v is not None}
    return write_predictions(
        out,
        y_true=pdata.labels,
        logits=logits,
        sample_id=pdata.sample_ids,
        groups=pdata.groups or None,
        seed=seed,
        num_classes=len(pdata.class_names),
        metadata=meta,
        overwrite=overwrite,
        logits_dtype=logits_dtype,
    )


# --- command line ----------------------------------------------------------------------------

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

_Opt = typer.Option


@app.command()
def main(
    model: Annotated[str, _Opt(help="timm:ARCH, torchvision:ARCH, hf:DIR or producers:ARCH.")],
    data: Annotated[
        str, _Opt(help="Class-per-folder image DIR, a .csv/.parquet/.jsonl table, or setting:NAME.")
    ],
    out: Annotated[Path, _Opt(help="The prediction file, e.g. runs/audit/teacher/seed0.parquet.")],
    weights: Annotated[
        Path | None, _Opt(help="Local weights: .safetensors/.pth state dict or a timm model dir.")
    ] = None,
    role: Annotated[str | None, _Opt(help="teacher, baseline, distilled or free text.")] = None,
    temperature: Annotated[
        float | None, _Opt(help="The student's KD temperature, if known.")
    ] = None,
    teacher_model: Annotated[str | None, _Opt(help="The teacher a student learned from.")] = None,
    seed: Annotated[int, _Opt(help="The run's seed (metadata; unique within a run set).")] = 0,
    text_column: Annotated[str | None, _Opt(help="Table column holding the texts.")] = None,
    path_column: Annotated[
        str | None, _Opt(help="Table column holding image paths (relative to the table's folder).")
    ] = None,
    label_column: Annotated[str, _Opt(help="Table column holding the true class.")] = "label",
    group_column: Annotated[
        list[str] | None, _Opt(help="Table column with a group attribute (repeatable).")
    ] = None,
    id_column: Annotated[
        str | None, _Opt(help="Table column of sample ids (default: sample_id, else row number).")
    ] = None,
    groups: Annotated[
        Path | None,
        _Opt(help="Image folders: CSV/Parquet sidecar with 'path' + attribute columns."),
    ] = None,
    class_map: Annotated[
        Path | None, _Opt(help="JSON {dataset class: model class} or a table dataset,model.")
    ] = None,
    model_classes: Annotated[
        str | None,
        _Opt(help="The model's class names, one per line in output order, or 'imagenet'."),
    ] = None,
    restrict_to_dataset_classes: Annotated[
        bool, _Opt(help="Model has more classes than the data: argmax over the data's classes.")
    ] = False,
    num_classes: Annotated[
        int | None, _Opt(help="The model's outputs (default: read from the weights).")
    ] = None,
    image_size: Annotated[
        int | None,
        _Opt(help="Input size: overrides the model's preprocessing / a generated setting."),
    ] = None,
    max_length: Annotated[int | None, _Opt(help="Text: truncate to this many tokens.")] = None,
    data_root: Annotated[Path | None, _Opt(help="setting:NAME: where its files are.")] = None,
    train_size: Annotated[
        int | None, _Opt(help="setting:NAME: training samples (as trained).")
    ] = None,
    test_size: Annotated[int | None, _Opt(help="setting:NAME: test samples (first N).")] = None,
    data_seed: Annotated[int, _Opt(help="setting:NAME: the generated dataset's seed.")] = 0,
    dataset_name: Annotated[str | None, _Opt(help="The dataset metadata key.")] = None,
    split: Annotated[str, _Opt(help="The split metadata key.")] = "test",
    batch_size: Annotated[int | None, _Opt(help="Default 64 (images), 32 (texts).")] = None,
    workers: Annotated[
        int | None, _Opt(help="DataLoader processes decoding images (default min(8, cores)).")
    ] = None,
    device: Annotated[str, _Opt(help="auto, cpu or cuda.")] = "auto",
    amp: Annotated[bool, _Opt(help="bf16 autocast on CUDA.")] = True,
    logits_dtype: Annotated[str, _Opt(help="float32 or float16 (half the file).")] = "float32",
    threads: Annotated[int | None, _Opt(help="torch CPU threads.")] = None,
    overwrite: Annotated[bool, _Opt(help="Replace an existing output file.")] = False,
    quiet: Annotated[bool, _Opt(help="No progress bar.")] = False,
) -> None:
    """Predict a labelled test set with a local checkpoint; write one prediction file."""
    try:
        if threads:
            import torch

            torch.set_num_threads(threads)
        path = predict(
            model,
            data,
            out,
            weights=weights,
            role=role,
            temperature=temperature,
            teacher_model=teacher_model,
            seed=seed,
            text_column=text_column,
            path_column=path_column,
            label_column=label_column,
            group_columns=group_column or (),
            id_column=id_column,
            groups_file=groups,
            class_map=class_map,
            model_classes=model_classes,
            restrict_to_dataset_classes=restrict_to_dataset_classes,
            num_classes=num_classes,
            image_size=image_size,
            max_length=max_length,
            data_root=data_root,
            train_size=train_size,
            test_size=test_size,
            data_seed=data_seed,
            dataset_name=dataset_name,
            split=split,
            batch_size=batch_size,
            workers=workers,
            device=device,
            amp=amp,
            logits_dtype=logits_dtype,
            overwrite=overwrite,
            progress=not quiet and sys.stderr.isatty(),
        )
    except (KDAuditError, OSError) as exc:
        msg = " ".join(str(exc).split()) or type(exc).__name__
        print(f"error: {msg}", file=sys.stderr)
        raise typer.Exit(1) from None
    print(path)


if __name__ == "__main__":
    app()
