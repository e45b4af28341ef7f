"""The paper's four figures, each drawn from arrays (plotting never computes statistics).

matplotlib is imported inside the functions; every figure is a bare
:class:`matplotlib.figure.Figure` (Agg canvas, no pyplot). :mod:`kdbias_audit.plots` re-exports
them and builds the whole set of a sweep (file names, rendering, writing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "OKABE_ITO",
    "HEATMAP_MAX_CELLS",
    "plot_classwise_accuracy",
    "plot_disagreement",
    "plot_significance_vs_temperature",
    "plot_fairness_vs_temperature",
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


def literal_text(func: Any) -> Any:
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


def fmt_t(t: float) -> str:
    return f"{t:g}"


def _temperature_axis(ax: Any, temperatures: np.ndarray) -> np.ndarray:
    """Evenly spaced positions labelled with the temperatures (as the paper's figures: T = 1-10
    and 20, 30, 40 would crowd each other on a linear axis); returns the x positions."""
    x = np.arange(len(temperatures), dtype=float)
    ax.set_xticks(x)
    ax.set_xticklabels([fmt_t(v) for v in temperatures])
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


@literal_text
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
            label=f"T = {fmt_t(t)}",
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


@literal_text
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


@literal_text
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


@literal_text
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
