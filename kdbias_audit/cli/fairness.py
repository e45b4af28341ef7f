"""``kdaudit fairness RUNSET``: DPD and EOD per sensitive attribute, mean ± std over seeds."""

from __future__ import annotations

import dataclasses
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ._app import app
from ._common import (
    DPDNullOpt,
    DPDNullOption,
    FormatOpt,
    JobsOpt,
    OutOpt,
    OutputFormat,
    degenerate_warnings_to_stderr,
    guarded,
    show,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..fairness.audit import FairnessAudit


def render_table(audit: FairnessAudit, *, width: int | None = None) -> str:
    """The terminal table as plain text (no colour codes)."""
    from ..render.document import render_document
    from ..render.views import document

    return render_document(dataclasses.replace(document(audit), width=width), "table")


@app.command("fairness")
@guarded
def fairness_command(
    runset: Annotated[
        str,
        typer.Argument(
            metavar="RUNSET",
            help="A run set: a directory of seed files (or one file), or its URL (docs/remote.md).",
        ),
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
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    jobs: JobsOpt = 1,
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
    dpd_null: DPDNullOpt = DPDNullOption.pooled,
) -> None:
    """Demographic parity and equalized odds differences of RUNSET, per seed then mean ± std.

    Binary tasks use the positive class; multi-class tasks one-vs-rest per class, averaged over
    classes. Tables show percent; JSON and CSV keep fractions. With --ci/--bootstrap every
    per-seed value gets a bootstrap CI and a noise floor (docs/fairness.md, "Uncertainty").
    """
    from ..fairness.audit import fairness_audit
    from ..io.loading import load_runset
    from ._common import check_resampling

    check_resampling(ci, bootstrap)
    if dpd_null is not DPDNullOption.pooled and ci is None and bootstrap is None:
        from ..errors import KDAuditError

        raise KDAuditError("--dpd-null sets the null of the noise floor: add --ci or --bootstrap")
    rs = load_runset(runset, jobs=jobs, progress=sys.stderr.isatty())
    with degenerate_warnings_to_stderr():
        audit = fairness_audit(
            rs,
            sensitive=sensitive or None,
            positive_class=positive_class,
            confidence_level=0.95 if ci is None and bootstrap is not None else ci,
            n_resamples=bootstrap,
            random_state=random_state,
            dpd_null=dpd_null.value,
        )
    show(audit, fmt, out, protect=(runset,))
