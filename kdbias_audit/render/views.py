"""What each result shows: its :class:`~.document.Document` (display tables, CSV frame, JSON).

:func:`document` is the one place that decides which tables a result has and how their cells
are worded; :func:`render_result` renders any result in any format and :func:`result_html` is
the HTML of the notebook ``_repr_html_`` methods.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..comparison import Comparison, RunSetSummary
from ..fairness.audit import FairnessAudit
from ..fairness.compare import FairnessComparison
from ..io.validate import ValidationReport
from ..stats.classwise import ClasswiseResult
from ..stats.disagreement import DisagreementResult
from ..sweep.results import SweepResult
from .cells import pm, pvalue_text, signed_pct
from .document import Document, Table, render_document

__all__ = [
    "document",
    "render_result",
    "result_html",
    "fairness_audit_frame",
    "fairness_comparison_frame",
    "comparison_summary_frame",
    "most_affected_frame",
]


@functools.singledispatch
def document(result: Any, **options: Any) -> Document:
    """The :class:`Document` of a result (``FairnessAudit``, ``FairnessComparison``,
    ``Comparison``, ``SweepResult``, ``ClasswiseResult``, ``DisagreementResult``)."""
    from ..errors import InvalidArgumentError

    raise InvalidArgumentError(
        f"result: cannot render a {type(result).__name__}", parameter="result"
    )


def render_result(result: Any, fmt: str = "table", **options: Any) -> str:
    """Any result as text in ``fmt``: ``table``, ``markdown``, ``latex``, ``csv``, ``json`` or
    ``html``. ``options`` go to the result's view (``top=`` for a :class:`Comparison`).

    JSON is the result's ``to_dict()``, the most complete format; CSV its numeric frame;
    the others its display tables.
    """
    return render_document(document(result, **options), fmt)


def result_html(result: Any, **options: Any) -> str:
    """The HTML fragment a notebook shows for ``result``."""
    return render_document(document(result, **options), "html")


# --------------------------------------------------------------------------------------------
# fairness


def fairness_audit_frame(audit: FairnessAudit) -> Any:
    """The audit as shown: one row per attribute, DPD and EOD in percent as ``mean ± std``."""
    import pandas as pd

    from ..fairness.audit_uncertainty import uncertainty_display

    rows = [
        {
            "attribute": r.attribute,
            "mode": r.mode,
            "groups": len(r.groups),
            "DPD (%)": pm(r.dpd_mean, r.dpd_std),
            **uncertainty_display(r.uncertainty, "dpd"),
            "EOD (%)": pm(r.eod_mean, r.eod_std),
            **uncertainty_display(r.uncertainty, "eod"),
        }
        for r in audit.results
    ]
    columns = list(rows[0]) if rows else ["attribute", "mode", "groups", "DPD (%)", "EOD (%)"]
    return pd.DataFrame(rows, columns=columns)


@document.register(FairnessAudit)
def _fairness_audit(audit: FairnessAudit, **options: Any) -> Document:
    title = f"Group fairness of {audit.runset} (%, mean ± std over {len(audit.seeds)} seeds)"
    nulls = {u.dpd_null for r in audit.results for u in (r.uncertainty or ())}
    if nulls:  # noise floors: say under which null (one per audit)
        from .tables import floor_note_for

        title += f" ({'; '.join(floor_note_for(n) for n in sorted(nulls))})"
    return Document(
        title=None,
        make_tables=lambda: (
            Table(title, fairness_audit_frame(audit), left=("attribute", "mode")),
        ),
        make_data=audit.to_frame,
        make_json=audit.to_dict,
    )


def fairness_comparison_frame(cmp: FairnessComparison) -> Any:
    """The comparison as shown: A and B in percent (``mean ± std``), ``B - A`` and its p."""
    import pandas as pd

    name_a, name_b = cmp.a.runset, cmp.b.runset
    if name_a == name_b:  # e.g. two single files both named seed0
        name_a, name_b = f"A: {name_a}", f"B: {name_b}"
    rows = []
    for r in cmp.results:
        for metric, diff in (("DPD", r.dpd_diff), ("EOD", r.eod_diff)):
            m = metric.lower()
            rows.append(
                {
                    "attribute": r.attribute,
                    "metric": metric,
                    f"{name_a} (%)": pm(getattr(r.a, f"{m}_mean"), getattr(r.a, f"{m}_std")),
                    f"{name_b} (%)": pm(getattr(r.b, f"{m}_mean"), getattr(r.b, f"{m}_std")),
                    "B - A (%)": signed_pct(diff.delta),
                    **_diff_interval(diff),
                    "p": pvalue_text(diff.pvalue),
                }
            )
    return pd.DataFrame(rows)


def _diff_interval(diff: Any) -> dict[str, str]:
    """The CI cell of a sample-level (paired) difference; nothing for a Welch difference."""
    lo, hi = getattr(diff, "ci_low", None), getattr(diff, "ci_high", None)
    if lo is None or hi is None:
        return {}
    text = (
        "nan"
        if not (np.isfinite(lo) and np.isfinite(hi))
        else f"{signed_pct(lo)} – {signed_pct(hi)}"
    )
    return {f"{100 * diff.confidence_level:g}% CI (%)": text}


FAIRNESS_DIFF_TITLE = "Group fairness (B - A; negative: B is fairer)"


@document.register(FairnessComparison)
def _fairness_comparison(cmp: FairnessComparison, **options: Any) -> Document:
    return Document(
        title=f"Fairness: {cmp.a.runset} (A) vs {cmp.b.runset} (B)",
        make_tables=lambda: (Table(FAIRNESS_DIFF_TITLE, fairness_comparison_frame(cmp)),),
        make_data=cmp.to_frame,
        make_json=cmp.to_dict,
    )


# --------------------------------------------------------------------------------------------
# class-wise tests, disagreement, two run sets


@document.register(ClasswiseResult)
def _classwise(res: ClasswiseResult, **options: Any) -> Document:
    s = res.summary()
    head = (
        f"Class-wise Welch tests: {s['n_significant']} of {s['n_classes']} classes with "
        f"p ≤ {res.alpha:g} (BH: {s['n_significant_fdr']}; untestable: {s['n_untestable']}); "
        f"count p-value {pvalue_text(s['count_pvalue'], 4) or 'nan'} over "
        f"{s['n_permutations']} splits, expected false positives "
        f"{pvalue_text(s['expected_false_positives']) or 'nan'}"
    )
    return Document(
        title=None,
        make_tables=lambda: (Table(head, res.to_frame()),),
        make_data=res.to_frame,
        make_json=res.to_dict,
    )


@document.register(DisagreementResult)
def _disagreement(res: DisagreementResult, *, top: int = 10, **options: Any) -> Document:
    head = (
        f"Disagreement ({res.pairing} pairing, {res.n_pairs} pair(s)): "
        f"{pm(res.rate_mean, res.rate_std)} % of test samples; top class pairs (A-pred, B-pred)"
    )
    return Document(
        title=None,
        make_tables=lambda: (Table(head, res.top_pairs_frame(top)),),
        make_data=res.to_frame,
        make_json=res.to_dict,
    )


def comparison_summary_frame(result: Comparison) -> Any:
    """Headline numbers of a comparison as a two-column (``quantity``, ``value``) table of strings."""
    import pandas as pd

    cw, dis = result.classwise, result.disagreement

    def pct(mean: float, std: float) -> str:
        return f"{pm(mean, std)} %"

    def seeds(s: RunSetSummary) -> str:
        return f"{s.path} (seeds {', '.join(map(str, s.seeds))})"

    samples = result.method == "samples"
    if samples:
        perm = (
            f"{cw.count_pvalue:.4g} ({cw.n_resamples} paired permutations)"
            if cw.n_resamples
            else "not computed"
        )
    else:
        kind = "splits, exact" if cw.permutations_exact else "random splits"
        perm = (
            f"{cw.count_pvalue:.4g} ({cw.n_permutations} {kind})"
            if cw.n_permutations
            else "not computed"
        )
    mcnemar = (
        [
            (
                f"classes with McNemar p ≤ {result.alpha:g} (class accuracy)",
                f"{int(np.sum(cw.mcnemar_pvalue <= result.alpha))} / {cw.n_classes}",
            )
        ]
        if samples
        else []
    )
    rows = [
        ("A", seeds(result.a)),
        ("B", seeds(result.b)),
        ("accuracy A", pct(result.a.accuracy_mean, result.a.accuracy_std)),
        ("accuracy B", pct(result.b.accuracy_mean, result.b.accuracy_std)),
        (f"significant classes (p ≤ {result.alpha:g})", f"{cw.n_significant} / {cw.n_classes}"),
        (
            f"significant classes (BH q ≤ {result.alpha:g})",
            f"{cw.n_significant_fdr} / {cw.n_classes}",
        ),
        ("untestable classes", str(cw.n_untestable)),
        *mcnemar,
        ("count p-value (permutation)", perm),
        ("expected false positives", f"{cw.expected_false_positives:.2f}"),
        (
            f"disagreement rate ({dis.pairing} pairing, {dis.n_pairs} pairs)",
            pct(dis.rate_mean, dis.rate_std),
        ),
    ]
    return pd.DataFrame(rows, columns=["quantity", "value"])


def most_affected_frame(result: Comparison, k: int = 10) -> Any:
    """The ``k`` classes with the smallest p-values, formatted for display."""
    import pandas as pd

    top = result.classwise.most_affected(k)
    frame = pd.DataFrame(
        {
            "class": top["class"],
            "name": top["name"].map(lambda v: "" if v is None else str(v)),
            "acc A %": 100 * top["acc_a"],
            "acc B %": 100 * top["acc_b"],
            "rel A": top["rel_a"],
            "rel B": top["rel_b"],
            "delta": top["delta"],
            "CI low": top["ci_low"],
            "CI high": top["ci_high"],
            "p": top["pvalue"],
            "q": top["qvalue"],
            "sig": top["significant"].map(lambda v: "*" if v else ""),
        }
    )
    if "mcnemar_pvalue" in top:
        frame["McNemar p"] = top["mcnemar_pvalue"]
    return frame if result.classwise.class_names is not None else frame.drop(columns=["name"])


@document.register(Comparison)
def _comparison(result: Comparison, *, top: int = 10, **options: Any) -> Document:
    pairs_title = "Top disagreeing class pairs (mean count over run pairs)"

    def summary() -> Table:
        head = "Summary" if result.header is None else f"Summary. {result.header}"
        return Table(head, result.summary_frame(), left=("quantity", "value"))

    def pairs() -> list[Table]:
        frame = result.top_pairs_frame(top) if top > 0 else None
        return [Table(pairs_title, frame)] if frame is not None and len(frame) else []

    def fairness() -> list[Table]:
        if result.fairness is None:
            return []
        return [Table(FAIRNESS_DIFF_TITLE, fairness_comparison_frame(result.fairness))]

    def tables() -> list[Table]:
        out = [summary()]
        if top > 0:
            level = f"{100 * result.classwise.confidence_level:g}"
            out.append(
                Table(
                    f"Most affected classes (smallest p; delta = rel B - rel A, {level}% CI)",
                    result.most_affected_frame(top),
                )
            )
        return out + pairs() + fairness()

    def file_tables() -> list[Table]:
        return [summary(), Table("Per-class tests", result.to_frame()), *pairs(), *fairness()]

    return Document(
        title=f"kdaudit compare: {result.b.name} vs {result.a.name}",
        make_tables=tables,
        make_file_tables=file_tables,
        make_data=result.to_frame,
        make_json=result.to_dict,
        # pretty for small outputs; compact when the (C, C) matrix makes indentation costly
        json_indent=2 if result.classwise.n_classes <= 100 else None,
    )


# --------------------------------------------------------------------------------------------
# validation


@document.register(ValidationReport)
def _validation(report: ValidationReport, **options: Any) -> Document:
    frame = report.to_frame()
    return Document(
        title=None,
        make_tables=lambda: (Table("Run sets", frame),) if report.summaries else (),
        make_data=lambda: frame,
        make_json=report.to_dict,
    )


# --------------------------------------------------------------------------------------------
# sweeps


@document.register(SweepResult)
def _sweep(result: SweepResult, **options: Any) -> Document:
    from .tables import (
        class_bias_display_frame,
        fairness_display_frame,
        sweep_numeric_frame,
        titles,
    )

    t1, t2 = titles(result)
    left = ("Run set", "Model")

    def tables() -> list[Table]:
        out = [Table(t1, class_bias_display_frame(result), left=left)]
        fair = fairness_display_frame(result)
        if fair is not None:
            out.append(Table(t2, fair, left=left))
        return out

    return Document(
        title=None,
        make_tables=tables,
        make_data=lambda: sweep_numeric_frame(result),
        make_json=result.to_dict,
        width=200,
    )
