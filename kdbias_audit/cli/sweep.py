"""``kdaudit sweep``, ``kdaudit plot`` and ``kdaudit report``: a whole temperature sweep at once."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..defaults import DEFAULT_ALPHA, DEFAULT_BOOTSTRAP, DEFAULT_PERMUTATIONS, DEFAULT_RANDOM_STATE
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
    one_line,
    show,
)

RootArg = Annotated[
    str,
    typer.Argument(
        metavar="ROOT",
        help="Sweep directory: one subdirectory of seed files per model (teacher, NDS, DS per T); "
        "or its URL (s3://, gs://, hf://; docs/remote.md).",
    ),
]
TeacherOpt = Annotated[
    str | None,
    typer.Option("--teacher", help="Run-set directory to use as the teacher (overrides metadata)."),
]
BaselineOpt = Annotated[
    str | None,
    typer.Option(
        "--baseline",
        help="Run-set directory to use as the non-distilled student (overrides metadata).",
    ),
]
AlphaOpt = Annotated[
    float, typer.Option("--alpha", help="Significance level of the per-class tests.")
]
PermOpt = Annotated[
    int | None,
    typer.Option(
        "--permutations",
        help="Splits for each count's permutation test: all when at most N "
        f"(default {DEFAULT_PERMUTATIONS:,}), "
        "else N random splits; 0 skips it.",
    ),
]
NoiseOpt = Annotated[
    bool,
    typer.Option(
        "--noise-floor",
        help="Show beside each DPD/EOD its noise floor: the value expected when every group has "
        "the pooled rates (1,000 counts-based draws per seed, seeded by --seed-random).",
    ),
]
SeedOpt = Annotated[
    int,
    typer.Option(
        "--seed-random",
        "--random-state",
        help="Seed of the random permutation splits (and of the noise-floor draws).",
    ),
]


def _analyze(
    root: str,
    teacher: str | None,
    baseline: str | None,
    alpha: float,
    permutations: int | None,
    jobs: int,
    *,
    seed_random: int = DEFAULT_RANDOM_STATE,
    noise_floor: bool = False,
    dpd_null: DPDNullOption = DPDNullOption.pooled,
) -> Any:
    from ..errors import KDAuditError
    from ..sweep.analyze import analyze_sweep

    if dpd_null is not DPDNullOption.pooled and not noise_floor:
        raise KDAuditError("--dpd-null sets the null of the noise floor: add --noise-floor")
    with degenerate_warnings_to_stderr():
        return analyze_sweep(
            root,
            teacher=teacher,
            baseline=baseline,
            alpha=alpha,
            permutations=permutations,
            random_state=seed_random,
            jobs=jobs,
            progress=sys.stderr.isatty(),
            noise_floor=DEFAULT_BOOTSTRAP if noise_floor else None,
            dpd_null=dpd_null.value,
        )


def _check_out_dir(out: Path) -> None:
    from ..errors import KDAuditError

    if out.exists() and not out.is_dir():
        raise KDAuditError(f"{out}: is not a directory (-o takes an output directory)")
    if out.is_dir() and any(p.suffix == ".parquet" for p in out.iterdir()):
        raise KDAuditError(
            f"{out}: holds prediction files; refusing to write outputs into a run set"
        )


def _command_line(name: str, root: str, **options: Any) -> str:
    """The command as typed when run as ``kdaudit``; else an equivalent one rebuilt from the options."""
    if Path(sys.argv[0]).name == "kdaudit" and len(sys.argv) > 1 and sys.argv[1] == name:
        return shlex.join(["kdaudit", *sys.argv[1:]])
    parts = ["kdaudit", name, str(root)]
    for flag, value in options.items():
        if value is True:  # a boolean flag
            parts.append(flag)
        elif value is not None:
            parts += [flag, str(value)]
    return shlex.join(parts)


@app.command("sweep")
@guarded
def sweep_command(
    root: RootArg,
    teacher: TeacherOpt = None,
    baseline: BaselineOpt = None,
    alpha: AlphaOpt = DEFAULT_ALPHA,
    permutations: PermOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    jobs: JobsOpt = 1,
    seed_random: SeedOpt = DEFAULT_RANDOM_STATE,
    noise_floor: NoiseOpt = False,
    dpd_null: DPDNullOpt = DPDNullOption.pooled,
) -> None:
    """Class-bias table (accuracy, #SC, #TC per temperature) and fairness table of a sweep."""
    result = _analyze(
        root,
        teacher,
        baseline,
        alpha,
        permutations,
        jobs,
        seed_random=seed_random,
        noise_floor=noise_floor,
        dpd_null=dpd_null,
    )
    protect = tuple(p for p in (root, teacher, baseline) if p is not None)
    show(result, fmt, out, protect=protect)


@app.command("plot")
@guarded
def plot_command(
    root: RootArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the figures (created).")],
    teacher: TeacherOpt = None,
    baseline: BaselineOpt = None,
    alpha: AlphaOpt = DEFAULT_ALPHA,
    permutations: PermOpt = None,
    jobs: JobsOpt = 1,
    dpi: Annotated[int, typer.Option("--dpi", help="Resolution of the PNG files.")] = 150,
    seed_random: SeedOpt = DEFAULT_RANDOM_STATE,
) -> None:
    """The paper's figures (class-wise accuracy, disagreement, #SC/#TC and EOD/DPD vs T) as PNG and PDF."""
    from ..plots import check_dpi, plot_sweep

    check_dpi(dpi)
    _check_out_dir(out)
    result = _analyze(root, teacher, baseline, alpha, permutations, jobs, seed_random=seed_random)
    paths = plot_sweep(result, out, dpi=dpi)
    typer.echo(f"wrote {len(paths)} files to {one_line(out)}", err=True)


@app.command("report")
@guarded
def report_command(
    root: RootArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for report.html (created).")],
    teacher: TeacherOpt = None,
    baseline: BaselineOpt = None,
    alpha: AlphaOpt = DEFAULT_ALPHA,
    permutations: PermOpt = None,
    jobs: JobsOpt = 1,
    seed_random: SeedOpt = DEFAULT_RANDOM_STATE,
    noise_floor: NoiseOpt = False,
    dpd_null: DPDNullOpt = DPDNullOption.pooled,
) -> None:
    """One self-contained HTML report (tables, embedded figures, run sets, seeds, version, command)."""
    from ..report import write_report

    _check_out_dir(out)
    command = _command_line(
        "report",
        root,
        **{
            "-o": out,
            "--teacher": teacher,
            "--baseline": baseline,
            "--alpha": None if alpha == DEFAULT_ALPHA else alpha,
            "--permutations": permutations,
            "--jobs": None if jobs == 1 else jobs,
            "--seed-random": None if seed_random == DEFAULT_RANDOM_STATE else seed_random,
            "--noise-floor": True if noise_floor else None,
            "--dpd-null": None if dpd_null is DPDNullOption.pooled else dpd_null.value,
        },
    )
    result = _analyze(
        root,
        teacher,
        baseline,
        alpha,
        permutations,
        jobs,
        seed_random=seed_random,
        noise_floor=noise_floor,
        dpd_null=dpd_null,
    )
    path = write_report(result, out, command=command)
    typer.echo(f"wrote {one_line(path)}", err=True)
