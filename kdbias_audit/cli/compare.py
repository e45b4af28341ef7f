"""``kdaudit compare A B``: class-wise tests, disagreement and fairness of run set B against A."""

from __future__ import annotations

import io
import shutil
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ..defaults import DEFAULT_ALPHA, DEFAULT_RESAMPLES, MIN_RESAMPLES
from ._app import app
from ._common import OutputFormat, degenerate_warnings_to_stderr, emit, guarded


class PairingOption(str, Enum):
    seed = "seed"
    all = "all"


class MethodOption(str, Enum):
    seeds = "seeds"
    samples = "samples"
    auto = "auto"


def table_renderables(result, *, top: int = 10) -> list:
    """The rich tables of the terminal summary."""
    from ..render.formats import frame_to_rich

    title = f"kdaudit compare: B = {result.b.name} vs A = {result.a.name}"
    items: list = [result.header] if result.header else []
    items.append(frame_to_rich(result.summary_frame(), title=title))
    if top > 0:
        items.append(
            frame_to_rich(
                result.most_affected_frame(top),
                title=f"Most affected classes (smallest p; delta = rel B - rel A, "
                f"{100 * result.classwise.confidence_level:g}% CI)",
            )
        )
        pairs = result.top_pairs_frame(top)
        if len(pairs):
            items.append(
                frame_to_rich(
                    pairs, title="Top disagreeing class pairs (mean count over run pairs)"
                )
            )
    if result.fairness is not None:
        fair = result.fairness
        frame = fair.display_frame() if hasattr(fair, "display_frame") else fair.to_frame()
        items.append(frame_to_rich(frame, title="Group fairness (B - A; negative: B is fairer)"))
    return items


def render_table(result, *, top: int = 10, width: int | None = None) -> str:
    """The terminal summary as plain text (no colour codes)."""
    from rich.console import Console

    if width is None:
        width = max(100, shutil.get_terminal_size((120, 24)).columns)
    buf = io.StringIO()
    con = Console(file=buf, width=width, highlight=False, no_color=True, color_system=None)
    for item in table_renderables(result, top=top):
        con.print(item)
    return buf.getvalue()


def render_markdown(result, *, top: int = 10) -> str:
    from ..render.formats import frame_to_markdown

    parts = [
        f"# kdaudit compare: {result.b.name} vs {result.a.name}\n",
        *([f"_{result.header}_\n"] if result.header else []),
        "## Summary\n",
        frame_to_markdown(result.summary_frame()),
        "## Per-class tests\n",
        frame_to_markdown(result.to_frame()),
    ]
    if top > 0:
        pairs = result.top_pairs_frame(top)
        if len(pairs):
            parts += ["## Top disagreeing class pairs\n", frame_to_markdown(pairs)]
    if result.fairness is not None:
        parts += ["## Group fairness\n", frame_to_markdown(result.fairness.to_frame())]
    return "\n".join(parts)


@app.command("compare")
@guarded
def compare_command(
    a: Annotated[
        Path,
        typer.Argument(
            metavar="A",
            help="Run set A (teacher or non-distilled student): a directory of seed files.",
        ),
    ],
    b: Annotated[Path, typer.Argument(metavar="B", help="Run set B (e.g. the distilled student).")],
    alpha: Annotated[
        float, typer.Option("--alpha", help="Significance level of the per-class tests.")
    ] = DEFAULT_ALPHA,
    permutations: Annotated[
        int | None,
        typer.Option(
            "--permutations",
            help="Splits for the count's permutation test: all when at most N (default 10,000), "
            "else N random splits; 0 skips it.",
        ),
    ] = None,
    pairing: Annotated[
        PairingOption,
        typer.Option("--pairing", help="Pair runs by seed or compare all pairs (disagreement)."),
    ] = PairingOption.seed,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.table,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")
    ] = None,
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
    ] = 0,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="Processes reading files in parallel.")
    ] = 1,
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
    from ..render.formats import frame_to_csv, frame_to_latex, to_json

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
    if fmt is OutputFormat.json:
        # Pretty for small outputs; compact when the (C, C) matrix makes indentation costly.
        text = to_json(result.to_dict(), indent=2 if result.classwise.n_classes <= 100 else None)
    elif fmt is OutputFormat.csv:
        text = frame_to_csv(result.to_frame())
    elif fmt is OutputFormat.markdown:
        text = render_markdown(result, top=top)
    elif fmt is OutputFormat.latex:
        text = frame_to_latex(
            result.to_frame().drop(columns=["untestable"]),
            caption=f"{result.b.name} vs {result.a.name}: "
            + (
                "sample-level paired tests"
                if result.method == "samples"
                else "per-class Welch tests"
            ),
        )
    else:
        if out is None and sys.stdout.isatty():
            from ._common import console

            con = console()
            for item in table_renderables(result, top=top):
                con.print(item)
            return
        text = render_table(result, top=top)
    emit(text, out, protect=(a, b))
