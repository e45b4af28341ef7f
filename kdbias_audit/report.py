"""One self-contained HTML report of a sweep: tables, figures, provenance.

The file needs nothing but a browser, offline: figures are embedded as base64 PNG, styles are
inline, and there is no script at all (a Content-Security-Policy forbids scripts and every
external fetch). Every string that comes from the prediction files (run-set names, model,
dataset and class names, paths) is HTML-escaped.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .atomic import atomic_write_text
from .checks import printable
from .defaults import DEFAULT_PERMUTATIONS
from .render.cells import pm
from .render.document import html_table
from .render.tables import floor_note

if TYPE_CHECKING:  # pragma: no cover
    from .sweep.results import SweepResult

__all__ = ["build_report", "write_report", "html_table", "REPORT_NAME"]

REPORT_NAME = "report.html"

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:2rem auto;
max-width:1200px;padding:0 1rem;color:#111;background:#fff;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ccc}
h3{font-size:1.05rem}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.88rem}
th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:right;vertical-align:top}
th{background:#eef2f7}td.l,th.l{text-align:left}
tbody tr:nth-child(even){background:#f7f7f7}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
pre{background:#f4f4f4;padding:.5rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
figure{margin:1rem 0 2rem}figure img{max-width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:.88rem;color:#333}.meta td{text-align:left}.note{color:#555;font-size:.9rem}
"""

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _e(value: Any) -> str:
    """HTML-escape any value (quotes included)."""
    return html.escape("" if value is None else printable(value), quote=True)


def _package_version() -> str:
    from . import __version__

    return str(__version__)


def _significant_classes_frame(result: SweepResult, which: str, limit: int = 50) -> pd.DataFrame:
    """Significant classes of every distilled row (``which``: ``vs_baseline`` or ``vs_teacher``),
    smallest p first, at most ``limit`` per row."""
    labels = result.class_labels()
    recs = []
    for r in result.distilled:
        res = getattr(r, which)
        if res is None:
            continue
        idx = np.flatnonzero(np.asarray(res.significant, dtype=bool))
        idx = idx[np.argsort(np.asarray(res.pvalue)[idx], kind="stable")][:limit]
        for c in idx:
            rec: dict[str, Any] = {}
            if any(a is not None for a in result.kd_alphas):
                rec["α"] = "-" if r.kd_alpha is None else f"{r.kd_alpha:g}"
            rec.update(
                {
                    "Run set": r.name,
                    "T": f"{r.temperature:g}",
                    "Class": int(c),
                    "Name": labels[c],
                    "Rel. acc. A": float(res.rel_a[c]),
                    "Rel. acc. DS": float(res.rel_b[c]),
                    "Δ": float(res.delta[c]),
                    "p": float(res.pvalue[c]),
                    "q (BH)": float(res.qvalue[c]),
                }
            )
            recs.append(rec)
    return pd.DataFrame.from_records(recs)


def _disagreement_frame(result: SweepResult) -> pd.DataFrame:
    show_alpha = any(a is not None for a in result.kd_alphas)
    recs = []
    for r in result.rows[1:]:
        d = r.disagreement
        if d is None:
            continue
        rec: dict[str, Any] = {
            "Run set": r.name,
            "Model": r.label,
            "T": "-" if r.temperature is None else f"{r.temperature:g}",
        }
        if show_alpha:
            rec["α"] = "-" if r.kd_alpha is None else f"{r.kd_alpha:g}"
        rec["Disagreement with teacher (%)"] = pm(d.rate_mean, d.rate_std)
        rec["Seed pairs"] = int(d.n_pairs)
        recs.append(rec)
    return pd.DataFrame.from_records(recs)


def _png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


_CAPTIONS = {
    "fig1": "Class-wise test accuracy of the distilled students at each temperature; × marks classes "
    "whose relative accuracy differs significantly between the non-distilled and the distilled student.",
    "fig2": "Disagreement between the teacher and the non-distilled student (left) and the distilled "
    "student (right): D[i, j] = test samples the teacher predicts as i and the student as j, mean over "
    "seed pairs; the diagonal (agreement) is masked.",
    "fig3": "Number of significantly affected classes, non-distilled vs distilled student (#SC) and teacher "
    "vs distilled student (#TC), against temperature, with the distilled students' test accuracy.",
    "fig4": "Equalized odds difference (EOD) and demographic parity difference (DPD) of the distilled "
    "students against temperature; teacher (dashed) and non-distilled student (dotted) for reference. "
    "Lower is fairer.",
}


def build_report(
    result: SweepResult,
    *,
    command: str | None = None,
    figures: Mapping[str, bytes] | None = None,
    title: str | None = None,
    dpi: int = 110,
) -> str:
    """The HTML text of the sweep report.

    Parameters
    ----------
    result
        The analysed sweep.
    command
        The command line that produced the report (shown verbatim, escaped).
    figures
        ``{stem: PNG bytes}``; default: every figure of :func:`kdbias_audit.plots.sweep_figures`
        rendered at ``dpi``.
    title
        Page title (default names the dataset).
    """
    from .render.views import document

    # the sweep's tables as every other output shows them (the one renderer's document)
    tables = document(result).tables

    if figures is None:
        from .plots import check_dpi, figure_bytes, sweep_figures

        dpi = check_dpi(dpi)
        figures = {
            stem: figure_bytes(fig, "png", dpi=dpi) for stem, fig in sweep_figures(result).items()
        }

    version = _package_version()
    dataset = result.dataset or "unnamed dataset"
    page_title = title or f"kdbias-audit sweep report: {dataset}"
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(page_title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_e(page_title)}</h1>",
        f'<p class="note">Generated by kdbias-audit {_e(version)} on {_e(now)}.</p>',
        '<h2 id="setup">Setup</h2>',
        '<table class="meta"><tbody>',
    ]
    meta_rows = [
        ("Command", f"<code>{_e(command)}</code>" if command else "(called from Python)"),
        ("kdbias-audit version", _e(version)),
        ("Sweep directory", _e(result.root)),
        ("Dataset", _e(dataset)),
        ("Classes", _e(result.num_classes)),
        ("Test samples", _e(result.n_samples)),
        (
            "Significance level",
            _e(
                f"p ≤ {result.alpha:g} (two-sided Welch t-test per class on relative class accuracy)"
            ),
        ),
        (
            "Count permutations",
            _e(
                f"every split (at most {DEFAULT_PERMUTATIONS:,})"
                if result.permutations is None
                else f"at most {result.permutations}"
            ),
        ),
        ("Sensitive attributes", _e(", ".join(result.attributes) or "none")),
    ]
    out += [f'<tr><th class="l">{_e(k)}</th><td>{v}</td></tr>' for k, v in meta_rows]
    out.append("</tbody></table>")

    out.append('<h3 id="runsets">Run sets and seeds used</h3>')
    runsets = result.runsets_frame().rename(
        columns={
            "name": "Run set",
            "role": "Role",
            "temperature": "T",
            "kd_alpha": "α",
            "model": "Model",
            "dataset": "Dataset",
            "seeds": "Seeds",
            "path": "Path",
        }
    )
    out.append(html_table(runsets, left=("Run set", "Role", "Model", "Dataset", "Seeds", "Path")))
    if result.skipped:
        out.append("<p>Skipped run sets:</p><ul>")
        out += [f"<li><code>{_e(p)}</code>: {_e(why)}</li>" for p, why in result.skipped]
        out.append("</ul>")

    out.append('<h2 id="class-bias">Class-wise bias</h2>')
    out.append(
        '<p class="note">#SC: classes whose relative accuracy differs significantly between the non-distilled '
        "(NDS) and the distilled student (DS); #TC: the same, teacher vs DS; (BH): Benjamini-Hochberg "
        "q ≤ level; p(#SC), p(#TC): permutation p-values of the counts over seed splits. Accuracy: "
        "mean ± sample std over seeds, percent.</p>"
    )
    out.append(html_table(tables[0].frame, left=tables[0].left))

    if len(tables) > 1:
        floor = floor_note(result)
        out.append('<h2 id="fairness">Fairness</h2>')
        out.append(
            '<p class="note">EOD: equalized odds difference; DPD: demographic parity difference; percent, '
            "mean ± sample std over seeds; multi-class tasks one-vs-rest averaged over classes. Lower is fairer."
            + (f" {_e(floor[:1].upper() + floor[1:])}." if floor else "")
            + "</p>"
        )
        out.append(html_table(tables[1].frame, left=tables[1].left))

    out.append('<h2 id="significant">Significant classes</h2>')
    for which, label in (("vs_baseline", "NDS vs DS"), ("vs_teacher", "Teacher vs DS")):
        sig = _significant_classes_frame(result, which)
        out.append(f"<h3>{_e(label)}</h3>")
        if sig.empty:
            out.append("<p>None.</p>")
        else:
            out.append(
                html_table(
                    sig.rename(
                        columns={
                            "Rel. acc. A": "Rel. acc. NDS"
                            if which == "vs_baseline"
                            else "Rel. acc. teacher"
                        }
                    ),
                    left=("Run set", "Name"),
                )
            )

    dis = _disagreement_frame(result)
    if not dis.empty:
        out.append('<h2 id="disagreement">Disagreement with the teacher</h2>')
        out.append(html_table(dis, left=("Run set", "Model")))

    if figures:
        out.append('<h2 id="figures">Figures</h2>')
        for stem, png in figures.items():
            caption = _CAPTIONS.get(stem[:4], "")
            out.append(
                f'<figure id="{_e(stem)}"><img src="{_png_data_uri(png)}" alt="{_e(stem)}">'
                f"<figcaption><b>{_e(stem)}</b>. {_e(caption)}</figcaption></figure>"
            )
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_report(
    result: SweepResult,
    out_dir: str | os.PathLike[str],
    *,
    command: str | None = None,
    filename: str = REPORT_NAME,
    dpi: int = 110,
) -> Path:
    """Write :func:`build_report` to ``out_dir/filename`` (atomically); returns the path."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        from .errors import KDAuditError

        raise KDAuditError(f"{out_dir}: is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(out_dir / filename, build_report(result, command=command, dpi=dpi))
