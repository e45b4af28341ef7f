"""Sweep results as tables: the class-bias table (paper Tables 1, 5, 6, 7) and the fairness
table (paper Tables 2, 3, 8, 9), in every output format.

Nothing is computed here: the numbers come from :class:`~kdbias_audit.sweep.SweepResult`.
Display tables (terminal, Markdown, LaTeX, HTML) show percentages as ``mean ± std`` like the
paper; CSV carries the numeric values (fractions, one column per quantity) so that it can be
analysed further; JSON follows the ``kdaudit sweep`` contract (:meth:`SweepResult.to_dict`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

from .cells import DASH, pm, pvalue_text

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..sweep.results import SweepResult, SweepRow

__all__ = [
    "TableFormat",
    "class_bias_display_frame",
    "fairness_display_frame",
    "sweep_numeric_frame",
    "render_sweep",
    "sweep_rich_tables",
]

TableFormat = Literal["table", "json", "csv", "markdown", "latex", "html"]


def _fmt_t(t: float | None) -> str:
    return DASH if t is None else f"{t:g}"


def _fmt_p(p: float) -> str:
    return pvalue_text(p) or DASH


def _show_alpha(result: SweepResult) -> bool:
    """An ``α`` column only where the sweep has several distillation weights (paper Table 7)."""
    return len(result.kd_alphas) > 1


def _lead_columns(result: SweepResult, kd_alpha: float | None, r: SweepRow) -> dict[str, Any]:
    rec: dict[str, Any] = {}
    if _show_alpha(result):
        rec["α"] = _fmt_t(kd_alpha)
    rec["Run set"] = r.name
    rec["Model"] = r.label
    rec["T"] = _fmt_t(r.temperature)
    return rec


def class_bias_display_frame(result: SweepResult) -> pd.DataFrame:
    """The class-bias table as shown: one row per model per ``alpha`` block (paper Table 7
    layout), accuracy in percent as ``mean ± std``, ``-`` where a count does not apply.

    Columns: [``α``], ``Run set``, ``Model`` (Teacher/NDS/DS), ``T``, ``Test Acc. (%)``,
    ``#SC`` (NDS vs DS, ``p <= alpha``), ``#TC`` (teacher vs DS), ``#SC (BH)``, ``#TC (BH)``
    (``q <= alpha``), ``p(#SC)``, ``p(#TC)`` (permutation p-values of the counts).
    """
    records = []
    for kd_alpha, rows in result.blocks():
        for r in rows:
            rec = _lead_columns(result, kd_alpha, r)
            mean, std = r.accuracy_mean_std()
            rec["Test Acc. (%)"] = pm(mean, std)
            sc, tc = r.vs_baseline, r.vs_teacher
            rec["#SC"] = DASH if sc is None else str(int(sc.n_significant))
            rec["#TC"] = DASH if tc is None else str(int(tc.n_significant))
            rec["#SC (BH)"] = DASH if sc is None else str(int(sc.n_significant_fdr))
            rec["#TC (BH)"] = DASH if tc is None else str(int(tc.n_significant_fdr))
            rec["p(#SC)"] = DASH if sc is None else _fmt_p(float(sc.count_pvalue))
            rec["p(#TC)"] = DASH if tc is None else _fmt_p(float(tc.count_pvalue))
            records.append(rec)
    import pandas as pd

    return pd.DataFrame.from_records(records)


def fairness_display_frame(result: SweepResult) -> pd.DataFrame | None:
    """The fairness table as shown (``None`` when the sweep has no group attributes): accuracy,
    then EOD and DPD per attribute, percent, ``mean ± std`` over seeds; with noise floors
    (``--noise-floor``), each followed by its floor (the value expected from sampling noise
    alone, mean over seeds)."""
    if not result.attributes:
        return None
    floors = result.has_noise_floor
    records = []
    for kd_alpha, rows in result.blocks():
        for r in rows:
            rec = _lead_columns(result, kd_alpha, r)
            rec["Test Acc. (%)"] = pm(*r.accuracy_mean_std())
            for attr in result.attributes:
                for metric in ("eod", "dpd"):
                    rec[f"{metric.upper()} {attr} (%)"] = pm(*r.fairness_mean_std(attr, metric))
                    if floors:
                        floor = r.fairness_noise_floor(attr, metric)
                        rec[f"{metric.upper()} {attr} floor (%)"] = (
                            DASH if not math.isfinite(floor) else f"{100 * floor:.2f}"
                        )
            records.append(rec)
    import pandas as pd

    return pd.DataFrame.from_records(records)


def sweep_numeric_frame(result: SweepResult) -> pd.DataFrame:
    """Class-bias numbers and fairness numbers side by side (the CSV output): one row per model
    per ``alpha`` block; accuracies and fairness metrics as fractions."""
    import pandas as pd

    df = result.class_bias_frame()
    fair = result.fairness_frame()
    extra = [c for c in fair.columns if c not in df.columns]
    if extra:
        df = pd.concat([df.reset_index(drop=True), fair[extra].reset_index(drop=True)], axis=1)
    return df


def floor_note(result: SweepResult) -> str:
    """What the floor columns mean ("" without noise floors)."""
    if not result.has_noise_floor:
        return ""
    return floor_note_for(result.dpd_null or "pooled")


def floor_note_for(dpd_null: str) -> str:
    """What a noise floor column means under DPD null ``dpd_null`` ("pooled" or "labels")."""
    rates = "TPR/FPR with its own labels" if dpd_null == "labels" else "rates"
    return f"floor: the value expected from sampling noise alone, every group at the pooled {rates}"


def titles(result: SweepResult) -> tuple[str, str]:
    """The titles of the class-bias and the fairness table."""
    where = f" ({result.dataset})" if result.dataset else ""
    return (
        f"Class-wise bias and distillation{where}: #SC = NDS vs DS, #TC = teacher vs DS, "
        f"significant at p <= {result.alpha:g}",
        f"Fairness metrics and distillation{where}"
        + (f" ({floor_note(result)})" if result.has_noise_floor else ""),
    )


def sweep_rich_tables(result: SweepResult) -> list[Any]:
    """rich Tables (class bias, then fairness when there are group attributes)."""
    from .document import rich_tables
    from .views import document

    return rich_tables(document(result))


def render_sweep(result: SweepResult, fmt: TableFormat = "markdown") -> str:
    """The sweep's tables as text in ``fmt`` (:func:`kdbias_audit.render.views.render_result`).

    ``json``: the ``kdaudit sweep`` contract (:meth:`SweepResult.to_dict`, the most complete
    format); ``csv``: :func:`sweep_numeric_frame`; ``markdown``/``latex``/``html``: the
    class-bias table, then the fairness table when there are group attributes (LaTeX: booktabs
    ``table`` environments with captions); ``table``: the rich tables rendered to plain text.
    """
    from .views import render_result

    return render_result(result, fmt)
