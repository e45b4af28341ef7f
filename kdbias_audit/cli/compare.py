"""``kdaudit compare A B``: class-wise tests, disagreement and fairness of run set B against A."""

from __future__ import annotations

import dataclasses
import sys
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..defaults import (
    DEFAULT_ALPHA,
    DEFAULT_PERMUTATIONS,
    DEFAULT_RANDOM_STATE,
    DEFAULT_RESAMPLES,
    MIN_RESAMPLES,
)
from ._app import app
from ._common import (
    FormatOpt,
    JobsOpt,
    OutOpt,
    OutputFormat,
    degenerate_warnings_to_stderr,
    guarded,
    show,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..comparison import Comparison


class PairingOption(str, Enum):
    seed = "seed"
    all = "all"


class MethodOption(str, Enum):
    seeds = "seeds"
    samples = "samples"
    auto = "auto"


def table_renderables(result: Comparison, *, top: int = 10) -> list[Any]:
    """The rich tables of the terminal summary."""
    from ..render.document import rich_tables
    from ..render.views import document

    return rich_tables(document(result, top=top))


def render_table(result: Comparison, *, top: int = 10, width: int | None = None) -> str:
    """The terminal summary as plain text (no colour codes)."""
    from ..render.document import render_document
    from ..render.views import document

    return render_document(dataclasses.replace(document(result, top=top), width=width), "table")


def render_markdown(result: Comparison, *, top: int = 10) -> str:
    from ..render.views import render_result

    return render_result(result, "markdown", top=top)


@app.command("compare")
@guarded
def compare_command(
    a: Annotated[
        str,
        typer.Argument(
            metavar="A",
            help="Run set A (teacher or non-distilled student): a directory of seed files, "
            "or its URL (s3://, gs://, hf://; docs/remote.md).",
        ),
    ],
    b: Annotated[str, typer.Argument(metavar="B", help="Run set B (e.g. the distilled student).")],
    alpha: Annotated[
        float, typer.Option("--alpha", help="Significance level of the per-class tests.")
    ] = DEFAULT_ALPHA,
    permutations: Annotated[
        int | None,
        typer.Option(
            "--permutations",
            help="Splits for the count's permutation test: all when at most N "
            f"(default {DEFAULT_PERMUTATIONS:,}), "
            "else N random splits; 0 skips it.",
        ),
    ] = None,
    pairing: Annotated[
        PairingOption,
        typer.Option("--pairing", help="Pair runs by seed or compare all pairs (disagreement)."),
    ] = PairingOption.seed,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    top: Annotated[
        int, typer.Option("--top", help="Classes and class pairs shown in the table.")
    ] = 10,
    sensitive: Annotated[
        list[str] | None,
        typer.Option(
            "--sensitive",
            "-s",
            help="Group attribute for fairness (repeatable; default: every shared attribute). "
            "'young,male' or 'young&male' compares the intersection.",
        ),
    ] = None,
    positive_class: Annotated[
        int | None,
        typer.Option("--positive-class", help="Positive class of a binary task (fairness)."),
    ] = None,
    seed_random: Annotated[
        int,
        typer.Option(
            "--random-state",
            "--seed-random",
            help="Seed of every random draw (permutation splits, paired permutations, bootstrap).",
        ),
    ] = DEFAULT_RANDOM_STATE,
    jobs: JobsOpt = 1,
    method: Annotated[
        MethodOption,
        typer.Option(
            "--method",
            help="seeds: Welch tests across seeds (>= 2 per side); samples: paired tests over "
            "test samples (works with one checkpoint per side); auto: seeds when both sides "
            "have >= 2 seeds, else samples.",
        ),
    ] = MethodOption.auto,
    resamples: Annotated[
        int,
        typer.Option(
            "--resamples",
            help="Sample-level analysis: paired permutations / bootstrap draws (>= 100).",
        ),
    ] = DEFAULT_RESAMPLES,
) -> None:
    """Which classes did B move relative to A, is it more than seed noise, and where do they disagree."""
    from ..comparison import compare, resolve_method
    from ..errors import KDAuditError
    from ..io.loading import load_runsets

    if top < 0:
        raise KDAuditError(f"--top must be >= 0; got {top}")
    if resamples < MIN_RESAMPLES:
        raise KDAuditError(f"--resamples must be at least {MIN_RESAMPLES}; got {resamples}")
    run_a, run_b = load_runsets([a, b], jobs=jobs, progress=sys.stderr.isatty())
    chosen = resolve_method(run_a, run_b, method.value)
    if method is MethodOption.auto and chosen == "samples":
        typer.echo(
            f"notice: {min(len(run_a.seeds), len(run_b.seeds))} seed(s) on one side: "
            "sample-level paired tests (--method samples); they cannot separate distillation "
            "from training noise",
            err=True,
        )
    with degenerate_warnings_to_stderr():
        result = compare(
            run_a,
            run_b,
            alpha=alpha,
            permutations=permutations,
            pairing=pairing.value,
            random_state=seed_random,
            sensitive=sensitive or None,
            positive_class=positive_class,
            method=chosen,
            n_resamples=resamples,
        )
    show(result, fmt, out, protect=(a, b), top=top)
