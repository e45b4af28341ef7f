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
:func:`plot_sweep` writes them as PNG and PDF.
"""

from __future__ import annotations

import io as _io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .atomic import atomic_write_bytes, write_all_or_nothing

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

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}


#: Largest heatmap side: more classes are summed into this many bins (a 10,000 x 10,000
#: image says nothing and costs 800 MB).
HEATMAP_MAX_CELLS = 200
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


def _literal_text(func: Any) -> Any:
    """Draw with mathtext off: names from prediction files (``$x$``, ``${``) are shown as
    written, never parsed as TeX (which fails on unbalanced ``$`` only when the file is saved)."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
            return func(*args, **kwargs)

    return wrapper


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _fmt_t(t: float) -> str:
    return f"{t:g}"


def _temperature_axis(ax: Any, temperatures: np.ndarray) -> np.ndarray:
    """Evenly spaced positions labelled with the temperatures (as the paper's figures: T = 1-10
    and 20, 30, 40 would crowd each other on a linear axis); returns the x positions."""
    x = np.arange(len(temperatures), dtype=float)
    ax.set_xticks(x)
    ax.set_xticklabels([_fmt_t(v) for v in temperatures])
    ax.set_xlabel("Temperature T")
    return x


def _class_ticks(
    ax: Any, num_classes: int, class_names: Sequence[str] | None, axis: str = "x"
) -> None:
    if class_names is not None and num_classes <= 20:
        ticks = np.arange(num_classes)
        labels = [str(c) for c in class_names]
        if axis == "x":
            ax.set_xticks(ticks, labels, rotation=60, ha="right", fontsize=8)
        else:
            ax.set_yticks(ticks, labels, fontsize=8)
        return
    step = max(1, int(np.ceil(num_classes / 10)))
    ticks = np.arange(0, num_classes, step)
    if axis == "x":
        ax.set_xticks(ticks)
    else:
        ax.set_yticks(ticks)


@_literal_text
def plot_classwise_accuracy(
    class_accuracy: np.ndarray,
    temperatures: Sequence[float],
    significant: np.ndarray | None = None,
    *,
    class_names: Sequence[str] | None = None,
    reference: np.ndarray | None = None,
    reference_label: str = "NDS",
    title: str | None = None,
) -> Figure:
    """Fig. 1: mean class accuracy per class, one line per temperature.

    Parameters
    ----------
    class_accuracy
        ``(K, C)`` mean (over seeds) class accuracy of the distilled student at each of ``K``
        temperatures, fractions.
    temperatures
        The ``K`` temperatures (legend labels).
    significant
        ``(K, C)`` boolean: classes whose relative accuracy changed significantly NDS vs DS;
        marked with ``x`` on that temperature's line.
    reference
        ``(C,)`` class accuracy of a reference model (the NDS), drawn dashed.
    """
    import matplotlib

    acc = np.atleast_2d(np.asarray(class_accuracy, dtype=float)) * 100
    k, c = acc.shape
    if len(temperatures) != k:
        raise ValueError(
            f"temperatures has {len(temperatures)} entries, class_accuracy has {k} rows"
        )
    sig = None if significant is None else np.atleast_2d(np.asarray(significant, dtype=bool))
    if sig is not None and sig.shape != acc.shape:
        raise ValueError(f"significant has shape {sig.shape}, expected {acc.shape}")
    cmap = matplotlib.colormaps["viridis"]
    fig = _figure(min(16.0, 6.0 + 0.06 * c), 4.5)
    ax = fig.add_subplot()
    x = np.arange(c)
    marker = "o" if c <= 30 else None
    if reference is not None:
        ax.plot(
            x,
            np.asarray(reference, dtype=float) * 100,
            color=OKABE_ITO["black"],
            linestyle="--",
            linewidth=1.2,
            label=reference_label,
            zorder=3,
        )
    sig_handle = None
    for i, t in enumerate(temperatures):
        color = cmap(0.92 * i / max(1, k - 1))
        ax.plot(
            x,
            acc[i],
            color=color,
            linewidth=1.0,
            marker=marker,
            markersize=3,
            label=f"T = {_fmt_t(t)}",
        )
        if sig is not None and sig[i].any():
            idx = np.flatnonzero(sig[i])
            sig_handle = ax.scatter(
                idx,
                acc[i, idx],
                marker="x",
                s=40,
                color=OKABE_ITO["vermillion"],
                linewidths=1.5,
                zorder=4,
            )
    ax.set_xlabel("Class")
    ax.set_ylabel("Test accuracy (%)")
    _class_ticks(ax, c, class_names)
    ax.set_xlim(-0.5, c - 0.5)
    ax.grid(True, alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if sig_handle is not None:
        handles.append(sig_handle)
        labels.append("significant (NDS vs DS)")
    if k > 6:  # many temperatures: keep the legend off the data
        ax.legend(
            handles,
            labels,
            fontsize=8,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            borderaxespad=0,
        )
    else:
        ax.legend(handles, labels, fontsize=8, loc="best")
    ax.set_title(title or "Class-wise accuracy of distilled students")
    return fig


@_literal_text
def plot_disagreement(
    teacher_vs_nds: np.ndarray,
    teacher_vs_ds: np.ndarray,
    *,
    class_names: Sequence[str] | None = None,
    titles: tuple[str, str] = ("Teacher vs NDS", "Teacher vs DS"),
    annotate: bool | None = None,
) -> Figure:
    """Fig. 2: two disagreement heatmaps side by side, on one colour scale, diagonal masked.

    ``D[i, j]`` = test samples where the teacher predicts ``i`` and the student ``j`` (mean over
    seed pairs); the diagonal (agreement) is masked and shown in grey. Cell values are written
    when ``annotate`` (default: at most 12 classes).
    """
    import matplotlib

    mats = [np.asarray(m, dtype=float) for m in (teacher_vs_nds, teacher_vs_ds)]
    c = mats[0].shape[0]
    for m in mats:
        if m.shape != (c, c):
            raise ValueError(
                f"disagreement matrices must both be square of the same size, got {m.shape}"
            )
    masked = [np.ma.masked_array(m, mask=np.eye(c, dtype=bool)) for m in mats]
    vmax = max(float(m.max()) if m.count() else 0.0 for m in masked)
    vmax = vmax if vmax > 0 else 1.0
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#d9d9d9")
    if annotate is None:
        annotate = c <= 12
    fig = _figure(11.5, 6.0)  # tall enough for square heatmaps + titles + rotated ticks
    axes = fig.subplots(1, 2)
    im = None
    for ax, m, title in zip(axes, masked, titles, strict=False):
        im = ax.imshow(m, cmap=cmap, vmin=0.0, vmax=vmax, interpolation="nearest", aspect="equal")
        ax.set_title(title)
        ax.set_xlabel("Student prediction")
        ax.set_ylabel("Teacher prediction")
        _class_ticks(ax, c, class_names, "x")
        _class_ticks(ax, c, class_names, "y")
        if annotate:
            for i in range(c):
                for j in range(c):
                    if i == j:
                        continue
                    v = m.data[i, j]
                    ax.text(
                        j,
                        i,
                        f"{v:.3g}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if v < 0.6 * vmax else "black",
                    )
    assert im is not None  # two panels were drawn
    fig.colorbar(im, ax=list(axes), shrink=0.85, label="Disagreements (mean over seed pairs)")
    return fig


@_literal_text
def plot_significance_vs_temperature(
    temperatures: Sequence[float],
    n_sc: Sequence[float],
    n_tc: Sequence[float],
    accuracy: Sequence[float],
    accuracy_std: Sequence[float] | None = None,
    *,
    num_classes: int | None = None,
    title: str | None = None,
) -> Figure:
    """Fig. 3: #SC (NDS vs DS) and #TC (teacher vs DS) against temperature; the distilled
    students' mean test accuracy (fractions, plotted in %) on a second y axis."""
    from matplotlib.ticker import MaxNLocator

    fig = _figure(6.5, 4.2)
    ax = fig.add_subplot()
    t = _temperature_axis(ax, np.asarray(temperatures, dtype=float))
    ax.plot(
        t,
        np.asarray(n_sc, dtype=float),
        marker="o",
        color=OKABE_ITO["blue"],
        label="#SC (NDS vs DS)",
    )
    ax.plot(
        t,
        np.asarray(n_tc, dtype=float),
        marker="s",
        color=OKABE_ITO["vermillion"],
        label="#TC (teacher vs DS)",
    )
    ylabel = "Significantly affected classes"
    if num_classes is not None:
        ylabel += f" (of {num_classes})"
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    ax2 = ax.twinx()
    acc = np.asarray(accuracy, dtype=float) * 100
    ax2.plot(
        t, acc, marker="^", linestyle="--", color=OKABE_ITO["bluish_green"], label="Test accuracy"
    )
    if accuracy_std is not None:
        sd = np.asarray(accuracy_std, dtype=float) * 100
        sd = np.where(np.isfinite(sd), sd, 0.0)
        ax2.fill_between(
            t, acc - sd, acc + sd, color=OKABE_ITO["bluish_green"], alpha=0.15, linewidth=0
        )
    ax2.set_ylabel("Test accuracy (%)")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="best")
    ax.set_title(title or "Temperature vs class bias and test accuracy")
    return fig


@_literal_text
def plot_fairness_vs_temperature(
    temperatures: Sequence[float],
    eod: Sequence[float],
    dpd: Sequence[float],
    *,
    eod_std: Sequence[float] | None = None,
    dpd_std: Sequence[float] | None = None,
    teacher: tuple[float, float] | None = None,
    baseline: tuple[float, float] | None = None,
    attribute: str | None = None,
    title: str | None = None,
) -> Figure:
    """Figs. 4-5: EOD and DPD (fractions, plotted in %) of the distilled students against
    temperature; ``teacher`` and ``baseline`` are ``(eod, dpd)`` drawn as horizontal lines."""
    fig = _figure(6.5, 4.2)
    ax = fig.add_subplot()
    t = _temperature_axis(ax, np.asarray(temperatures, dtype=float))
    series = (
        ("EOD", np.asarray(eod, dtype=float), eod_std, OKABE_ITO["blue"], "o"),
        ("DPD", np.asarray(dpd, dtype=float), dpd_std, OKABE_ITO["vermillion"], "s"),
    )
    for name, y, sd, color, marker in series:
        ax.plot(t, y * 100, marker=marker, color=color, label=f"Distilled student ({name})")
        if sd is not None:
            s = np.asarray(sd, dtype=float) * 100
            s = np.where(np.isfinite(s), s, 0.0)
            ax.fill_between(t, y * 100 - s, y * 100 + s, color=color, alpha=0.15, linewidth=0)
    refs = (("Teacher", teacher, "--"), ("Non-distilled student", baseline, ":"))
    for who, vals, style in refs:
        if vals is None:
            continue
        for (name, _, _, color, _), v in zip(series, vals, strict=False):
            if v is not None and np.isfinite(v):
                ax.axhline(
                    float(v) * 100,
                    color=color,
                    linestyle=style,
                    linewidth=1.3,
                    label=f"{who} ({name})",
                )
    ax.set_ylabel("EOD / DPD (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    what = f" ({attribute})" if attribute else ""
    ax.set_title(title or f"EOD and DPD vs temperature{what}")
    return fig


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


@_literal_text
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
        where = "" if len(blocks) == 1 or kd_alpha is None else f" (alpha = {_fmt_t(kd_alpha)})"
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
                    f"Teacher vs DS (T = {_fmt_t(t)}){where}{binned_note}",
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


@_literal_text
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
