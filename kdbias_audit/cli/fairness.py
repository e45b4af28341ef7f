"""``kdaudit fairness RUNSET``: DPD and EOD per sensitive attribute, mean ± std over seeds."""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from ._app import app
from ._common import OutputFormat, degenerate_warnings_to_stderr, emit, guarded


def _latex(audit) -> str:
    from ..render.formats import frame_to_latex, latex_escape

    df = audit.display_frame()
    for col in ("attribute", "mode"):
        df[col] = [latex_escape(str(v)) for v in df[col]]
    for col in ("DPD (%)", "EOD (%)"):
        df[col] = [str(v).replace(" ± ", r" $\pm$ ") for v in df[col]]
    df.columns = [latex_escape(str(c)) for c in df.columns]
    caption = latex_escape(
        f"Group fairness of {audit.runset} (mean ± std over {len(audit.seeds)} seeds)"
    )
    return frame_to_latex(df, caption=caption.replace("±", r"$\pm$"), escape=False)


def render_table(audit, *, width: int | None = None) -> str:
    """The terminal table as plain text (no colour codes)."""
    from rich.console import Console

    from ..render.formats import frame_to_rich

    if width is None:
        width = max(100, shutil.get_terminal_size((120, 24)).columns)
    buf = io.StringIO()
    con = Console(file=buf, width=width, highlight=False, no_color=True, color_system=None)
    con.print(frame_to_rich(audit.display_frame(), title=_title(audit)))
    return buf.getvalue()


def _title(audit) -> str:
    return f"Group fairness of {audit.runset} (%, mean ± std over {len(audit.seeds)} seeds)"


@app.command("fairness")
@guarded
def fairness_command(
    runset: Annotated[
        Path, typer.Argument(help="A run set: a directory of seed files (or one file).")
    ],
    sensitive: Annotated[
        list[str] | None,
        typer.Option(
            "--sensitive",
            "-s",
            help="Group attribute to audit (repeatable; default: every attribute separately). "
            "'young,male' or 'young&male' audits the intersection.",
        ),
    ] = None,
    positive_class: Annotated[
        int | None,
        typer.Option(
            "--positive-class", help="Positive class of a binary task (default: metadata, else 1)."
        ),
    ] = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.table,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="Processes reading files in parallel.")
    ] = 1,
    ci: Annotated[
        float | None,
        typer.Option(
            "--ci",
            help="Confidence level of a stratified bootstrap CI for every per-seed DPD/EOD, "
            "with its noise floor and p-value (e.g. 0.95).",
        ),
    ] = None,
    bootstrap: Annotated[
        int | None,
        typer.Option(
            "--bootstrap",
            help="Bootstrap resamples and noise-floor draws (at least 100; default 1,000 "
            "when --ci is given).",
        ),
    ] = None,
    random_state: Annotated[
        int, typer.Option("--random-state", help="Seed of the resampling.")
    ] = 0,
) -> None:
    """Demographic parity and equalized odds differences of RUNSET, per seed then mean ± std.

    Binary tasks use the positive class; multi-class tasks one-vs-rest per class, averaged over
    classes. Tables show percent; JSON and CSV keep fractions. With --ci/--bootstrap every
    per-seed value gets a bootstrap CI and a noise floor (docs/fairness.md, "Uncertainty").
    """
    from ..fairness.audit import fairness_audit
    from ..io.loading import load_runset
    from ..render.formats import frame_to_csv, frame_to_markdown, to_json
    from ._common import check_resampling

    check_resampling(ci, bootstrap)
    rs = load_runset(runset, jobs=jobs, progress=sys.stderr.isatty())
    with degenerate_warnings_to_stderr():
        audit = fairness_audit(
            rs,
            sensitive=sensitive or None,
            positive_class=positive_class,
            confidence_level=0.95 if ci is None and bootstrap is not None else ci,
            n_resamples=bootstrap,
            random_state=random_state,
        )

    if fmt is OutputFormat.json:
        text = to_json(audit.to_dict())
    elif fmt is OutputFormat.csv:
        text = frame_to_csv(audit.to_frame())
    elif fmt is OutputFormat.markdown:
        text = f"## {_title(audit)}\n\n" + frame_to_markdown(audit.display_frame())
    elif fmt is OutputFormat.latex:
        text = _latex(audit)
    else:
        if out is None and sys.stdout.isatty():
            from ..render.formats import frame_to_rich
            from ._common import console

            console().print(frame_to_rich(audit.display_frame(), title=_title(audit)))
            return
        text = render_table(audit)
    emit(text, out, protect=(runset,))
