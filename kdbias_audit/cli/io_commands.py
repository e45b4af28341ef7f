"""``kdaudit validate`` and ``kdaudit convert``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._app import app
from ._common import OutputFormat, fail, guarded, one_line, show


@app.command()
@guarded
def validate(
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="PATHS...",
            help="Prediction files, run set directories or sweep roots (local or URLs).",
        ),
    ],
    independent: Annotated[
        bool,
        typer.Option(
            "--independent", help="Do not require the run sets to cover the same test set."
        ),
    ] = False,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="Output format (table, json, csv, ...).")
    ] = OutputFormat.table,
) -> None:
    """Check prediction files against format v1; summarise each run set or list every problem."""
    from ..io.validate import validate_paths

    report = validate_paths(paths, independent=independent)
    for problem in report.problems:
        typer.echo(f"error: {one_line(problem)}", err=True)
    show(report, fmt, None, protect=())
    if report.problems:
        if len(report.problems) > 1:  # one problem stays one line, as every other error
            typer.echo(f"{len(report.problems)} problem(s) found", err=True)
        raise typer.Exit(1)


@app.command()
@guarded
def convert(
    source: Annotated[Path, typer.Argument(help="A .csv or .npz of predictions.")],
    output: Annotated[Path, typer.Argument(help="The .parquet file to write (format v1).")],
    seed: Annotated[int, typer.Option(help="Seed of this run.")],
    num_classes: Annotated[
        int | None, typer.Option(help="Number of classes (needed with pred only).")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model name (metadata).")] = None,
    dataset: Annotated[str | None, typer.Option(help="Dataset name (metadata).")] = None,
    role: Annotated[
        str | None, typer.Option(help="teacher, baseline, distilled or free text.")
    ] = None,
    temperature: Annotated[float | None, typer.Option(help="Distillation temperature.")] = None,
    alpha: Annotated[float | None, typer.Option(help="KD loss weight alpha.")] = None,
    teacher_model: Annotated[str | None, typer.Option(help="Teacher model name.")] = None,
    class_names: Annotated[str | None, typer.Option(help="Comma-separated class names.")] = None,
    positive_class: Annotated[
        int | None, typer.Option(help="Positive class of a binary task.")
    ] = None,
    logits_dtype: Annotated[str, typer.Option(help="float32 or float16.")] = "float32",
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace OUTPUT if it exists.")
    ] = False,
) -> None:
    """Convert predictions from CSV or NPZ into a format-v1 prediction file.

    Columns (CSV) or arrays (NPZ): label; pred, or logits (NPZ: 2-D array `logits`; CSV: columns
    logit_0 .. logit_{C-1}); optional sample_id; optional group.<attribute>.
    """
    from ..io.convert import convert_file

    if output.resolve() == source.resolve():
        raise fail(f"{output}: refusing to write the output over the input")
    meta = {
        k: v
        for k, v in dict(
            model=model,
            dataset=dataset,
            role=role,
            temperature=temperature,
            alpha=alpha,
            teacher_model=teacher_model,
            positive_class=positive_class,
            class_names=[c.strip() for c in class_names.split(",")] if class_names else None,
        ).items()
        if v is not None
    }
    written = convert_file(
        source,
        output,
        seed=seed,
        num_classes=num_classes,
        metadata=meta,
        overwrite=overwrite,
        logits_dtype=logits_dtype,
    )
    typer.echo(f"wrote {one_line(written)}", err=True)
