"""Reproduce the paper's tables and figures from a temperature sweep.

From a sweep directory (a teacher, a non-distilled student (NDS) and distilled students (DS)
at several temperatures, one Parquet file per seed; by default the shipped
``examples/data/trifeature``), this script

- prints the paper-style LaTeX tables (booktabs): the class-bias table (test accuracy, #SC =
  classes significantly different NDS vs DS, #TC = teacher vs DS, as the paper's Tables 1, 5-7)
  and, when the files have group columns, the fairness table (EOD and DPD per attribute, as
  Tables 2, 3, 8, 9), and writes them to ``OUT/tables.tex``;
- draws the Fig. 3 style figure (#SC and #TC against T, DS test accuracy on a second axis) and
  one Fig. 4 style figure per group attribute (EOD and DPD against T, with the teacher and the
  NDS as reference lines), from the numbers of the analysis, and saves each as PNG and PDF.

Run::

    python examples/paper_table_and_figure.py [SWEEP_DIR] [--out DIR] [--all-figures]

``--out`` defaults to ``$KDAUDIT_EXAMPLE_OUT`` or a new temporary directory. The command-line
equivalents are ``kdaudit sweep SWEEP_DIR -f latex -o tables.tex`` and
``kdaudit plot SWEEP_DIR -o DIR`` (every figure, which ``--all-figures`` also writes).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

DEFAULT_SWEEP = Path(__file__).resolve().parent / "data" / "trifeature"


def slug(text: str) -> str:
    """A file-name-safe version of a group attribute name."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text) or "attr"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "sweep",
        nargs="?",
        type=Path,
        default=DEFAULT_SWEEP,
        help=f"sweep directory (default: {DEFAULT_SWEEP})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output directory (default: $KDAUDIT_EXAMPLE_OUT or a new temporary directory)",
    )
    parser.add_argument(
        "--alpha", type=float, default=0.05, help="significance level (default 0.05)"
    )
    parser.add_argument("--dpi", type=int, default=200, help="PNG resolution")
    parser.add_argument(
        "--all-figures",
        action="store_true",
        help="also write every figure of `kdaudit plot` (Figs. 1-5) under OUT/all/",
    )
    args = parser.parse_args(argv)
    out = args.out or Path(
        os.environ.get("KDAUDIT_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="kdaudit-paper-")
    )
    out.mkdir(parents=True, exist_ok=True)

    from kdbias_audit import analyze_sweep, render_sweep
    from kdbias_audit.plots import (
        plot_fairness_vs_temperature,
        plot_significance_vs_temperature,
        plot_sweep,
        save_figure,
    )

    result = analyze_sweep(args.sweep, alpha=args.alpha)

    # ---- tables ------------------------------------------------------------------------
    latex = render_sweep(result, "latex")
    print("% Tables (need \\usepackage{booktabs})")
    print(latex)
    (out / "tables.tex").write_text(latex + "\n", encoding="utf-8")

    # ---- figures, built from the analysis' numbers ---------------------------------------
    written: list[Path] = []
    blocks = result.blocks()  # one block per distillation weight alpha (usually one)
    for kd_alpha, rows in blocks:
        ds = [r for r in rows if r.role == "distilled"]
        suffix = (
            ""
            if len(blocks) == 1
            else f"_alpha{kd_alpha:g}"
            if kd_alpha is not None
            else "_alphanone"
        )
        temps = [float(r.temperature) for r in ds]
        acc = [r.accuracy_mean_std() for r in ds]  # (mean, std) over seeds, fractions

        fig3 = plot_significance_vs_temperature(
            temps,
            n_sc=[r.vs_baseline.n_significant for r in ds],  # NDS vs DS
            n_tc=[r.vs_teacher.n_significant for r in ds],  # teacher vs DS
            accuracy=[m for m, _ in acc],
            accuracy_std=[s for _, s in acc],
            num_classes=result.num_classes,
            title=f"{result.dataset or 'sweep'}: significant classes and accuracy vs temperature",
        )
        written += save_figure(fig3, out / f"fig3_significance{suffix}", dpi=args.dpi)

        for attr in result.attributes:
            eod = [r.fairness_mean_std(attr, "eod") for r in ds]
            dpd = [r.fairness_mean_std(attr, "dpd") for r in ds]
            fig4 = plot_fairness_vs_temperature(
                temps,
                eod=[m for m, _ in eod],
                dpd=[m for m, _ in dpd],
                eod_std=[s for _, s in eod],
                dpd_std=[s for _, s in dpd],
                teacher=(
                    result.teacher.fairness_mean_std(attr, "eod")[0],
                    result.teacher.fairness_mean_std(attr, "dpd")[0],
                ),
                baseline=(
                    result.baseline.fairness_mean_std(attr, "eod")[0],
                    result.baseline.fairness_mean_std(attr, "dpd")[0],
                ),
                attribute=attr,
                title=f"{result.dataset or 'sweep'}: EOD and DPD vs temperature ({attr})",
            )
            written += save_figure(fig4, out / f"fig4_fairness_{slug(attr)}{suffix}", dpi=args.dpi)

    if args.all_figures:
        written += plot_sweep(result, out / "all", dpi=args.dpi // 2)

    print(f"% wrote {out / 'tables.tex'}")
    for path in written:
        print(f"% wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
