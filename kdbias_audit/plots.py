"""The paper's figures, drawn from finished results (plotting never computes statistics).

matplotlib is imported inside the functions (``import kdbias_audit`` stays light), and every
figure is a bare :class:`matplotlib.figure.Figure` rendered by the Agg canvas: no pyplot, no
global state, no display needed. Colours follow the Okabe-Ito palette (distinguishable with the
common colour-vision deficiencies); ordered quantities (temperatures) use ``viridis``.

Figures (paper numbering):

1. :func:`plot_classwise_accuracy` - class accuracy per class for each temperature, classes with
   a significant NDS-vs-DS change marked with ``x``.
2. :func:`plot_disagreement` - disagreement heatmaps teacher vs NDS beside teacher vs DS,
   diagonal masked.
3. :func:`plot_significance_vs_temperature` - #SC and #TC vs temperature, test accuracy on a
   second axis.
4./5. :func:`plot_fairness_vs_temperature` - EOD and DPD vs temperature with the teacher and
   the NDS as horizontal reference lines.

:func:`sweep_figures` builds them all from a :class:`~kdbias_audit.sweep.SweepResult` and
:func:`plot_sweep` writes them as PNG and PDF. The four figures are drawn in
:mod:`kdbias_audit.figures` and re-exported here; this module names, renders and writes them.
"""

from __future__ import annotations

import io as _io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .atomic import atomic_write_bytes, write_all_or_nothing
from .figures import (
    HEATMAP_MAX_CELLS,
    OKABE_ITO,
    fmt_t,
    literal_text,
    plot_classwise_accuracy,
    plot_disagreement,
    plot_fairness_vs_temperature,
    plot_significance_vs_temperature,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from .sweep.results import SweepResult

__all__ = [
    "OKABE_ITO",
    "plot_classwise_accuracy",
    "plot_disagreement",
    "plot_significance_vs_temperature",
    "plot_fairness_vs_temperature",
    "sweep_figures",
    "plot_sweep",
    "save_figure",
    "figure_bytes",
]

#: Bounds of the PNG resolution (``--dpi``): above 600 a sweep's figures take gigabytes.
MIN_DPI, MAX_DPI = 10, 600


def check_dpi(dpi: Any) -> int:
    """``dpi`` as an int in ``[MIN_DPI, MAX_DPI]``, else a one-line :class:`KDAuditError`."""
    from .errors import InvalidArgumentError

    if isinstance(dpi, bool) or not isinstance(dpi, (int, np.integer)):
        raise InvalidArgumentError(f"dpi must be an integer, got {dpi!r}", parameter="dpi")
    if not MIN_DPI <= int(dpi) <= MAX_DPI:
        raise InvalidArgumentError(
            f"dpi must be between {MIN_DPI} and {MAX_DPI}, got {dpi}", parameter="dpi"
        )
    return int(dpi)


# --------------------------------------------------------------------------------------------
# From a sweep result
# --------------------------------------------------------------------------------------------


def _slug(text: str) -> str:
    """A file-name part for ``text``: kept as is when it is plain ASCII letters, digits, ``-``
    and ``_``; otherwise a readable version plus a hash of the exact text, so that names
    differing only in punctuation or case (``a b``, ``a_b``, ``A_b``) never share a file."""
    import hashlib

    out = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "-_" else "_" for ch in text)
    out = out.strip("_")[:60]
    if out == text and out.lower() == out:
        return out
    return f"{out or 'x'}-{hashlib.sha1(text.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def _figure_stem_t(t: float) -> str:
    """A temperature for a file name: ``4``, ``0.5``; the shortest exact form when ``:g``
    rounds (``1.0000001`` must not share ``1``'s file)."""
    short = f"{t:g}"
    return short if float(short) == t else repr(float(t))


@literal_text
def sweep_figures(result: SweepResult) -> dict[str, Figure]:
    """Every figure of a sweep, keyed by a file stem (``fig1_classwise``, ``fig2_disagreement_T4``...).

    With several ``alpha`` blocks each stem gets an ``_alpha<a>`` suffix.
    """
    figs: dict[str, Figure] = {}
    blocks = result.blocks()
    names = result.class_labels() if result.class_names is not None else None
    for kd_alpha, rows in blocks:
        ds = [r for r in rows if r.role == "distilled"]
        suffix = (
            ""
            if len(blocks) == 1
            else f"_alpha{'none' if kd_alpha is None else _figure_stem_t(kd_alpha)}"
        )
        where = "" if len(blocks) == 1 or kd_alpha is None else f" (alpha = {fmt_t(kd_alpha)})"
        temps = [float(r.temperature) for r in ds]  # type: ignore[arg-type]
        binned_note = (
            ""
            if result.num_classes <= HEATMAP_MAX_CELLS
            else f" (classes in {HEATMAP_MAX_CELLS} bins)"
        )
        figs[f"fig1_classwise{suffix}"] = plot_classwise_accuracy(
            np.stack([r.class_accuracy_mean for r in ds]),
            temps,
            np.stack([np.asarray(r.vs_baseline.significant, dtype=bool) for r in ds]),  # type: ignore[union-attr]
            class_names=names,
            reference=result.baseline.class_accuracy_mean,
            reference_label=f"NDS ({result.baseline.name})",
            title=f"Class-wise accuracy of distilled students{where}",
        )
        for r, t in zip(ds, temps, strict=True):
            figs[f"fig2_disagreement_T{_figure_stem_t(t)}{suffix}"] = plot_disagreement(
                result.baseline.disagreement.binned(HEATMAP_MAX_CELLS),  # type: ignore[union-attr]
                r.disagreement.binned(HEATMAP_MAX_CELLS),  # type: ignore[union-attr]
                class_names=names if not binned_note else None,
                titles=(
                    f"Teacher vs NDS{binned_note}",
                    f"Teacher vs DS (T = {fmt_t(t)}){where}{binned_note}",
                ),
            )
        acc = [r.accuracy_mean_std() for r in ds]
        figs[f"fig3_significance{suffix}"] = plot_significance_vs_temperature(
            temps,
            [r.vs_baseline.n_significant for r in ds],  # type: ignore[union-attr]
            [r.vs_teacher.n_significant for r in ds],  # type: ignore[union-attr]
            [a[0] for a in acc],
            [a[1] for a in acc],
            num_classes=result.num_classes,
            title=f"Temperature vs class bias and test accuracy{where}",
        )
        for attr in result.attributes:
            eod = [r.fairness_mean_std(attr, "eod") for r in ds]
            dpd = [r.fairness_mean_std(attr, "dpd") for r in ds]
            figs[f"fig4_fairness_{_slug(attr)}{suffix}"] = plot_fairness_vs_temperature(
                temps,
                [e[0] for e in eod],
                [d[0] for d in dpd],
                eod_std=[e[1] for e in eod],
                dpd_std=[d[1] for d in dpd],
                teacher=(
                    result.teacher.fairness_mean_std(attr, "eod")[0],
                    result.teacher.fairness_mean_std(attr, "dpd")[0],
                ),
                baseline=(
                    result.baseline.fairness_mean_std(attr, "eod")[0],
                    result.baseline.fairness_mean_std(attr, "dpd")[0],
                ),
                attribute=attr,
                title=f"EOD and DPD vs temperature ({attr}){where}",
            )
    return figs


@literal_text
def figure_bytes(fig: Figure, fmt: str = "png", *, dpi: int = 150) -> bytes:
    """Render ``fig`` to bytes in ``fmt`` (``png``, ``pdf``, ``svg``)."""
    buf = _io.BytesIO()
    kwargs: dict[str, Any] = {"format": fmt, "dpi": dpi}
    if fmt == "pdf":
        kwargs["metadata"] = {"CreationDate": None}
    elif fmt == "png":
        kwargs["metadata"] = {"Software": None}
    fig.savefig(buf, **kwargs)
    return buf.getvalue()


def save_figure(
    fig: Figure,
    stem: str | os.PathLike[str],
    *,
    formats: Sequence[str] = ("png", "pdf"),
    dpi: int = 150,
) -> list[Path]:
    """Write ``fig`` as ``<stem>.<fmt>`` for each format, atomically; returns the paths."""
    stem = Path(stem)
    out = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        atomic_write_bytes(path, figure_bytes(fig, fmt, dpi=dpi))
        out.append(path)
    return out


def plot_sweep(
    result: SweepResult,
    out_dir: str | os.PathLike[str],
    *,
    formats: Sequence[str] = ("png", "pdf"),
    dpi: int = 150,
) -> list[Path]:
    """Write every figure of :func:`sweep_figures` into ``out_dir`` (created); returns the paths.

    All or nothing: every figure is rendered first, then written to temporary files that are
    renamed into place only when all were written; a failure leaves ``out_dir`` as it was (a
    directory created here is removed again).
    """
    dpi = check_dpi(dpi)
    out_dir = Path(out_dir)
    rendered = [
        (out_dir / f"{stem}.{fmt}", figure_bytes(fig, fmt, dpi=dpi))
        for stem, fig in sweep_figures(result).items()
        for fmt in formats
    ]
    return write_all_or_nothing(out_dir, rendered)
