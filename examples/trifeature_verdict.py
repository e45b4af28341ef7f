"""Test the paper's Trifeature claims on a sweep, side by side with the paper's numbers.

From a Trifeature sweep directory (teacher, NDS and DS at T = 1-10, 20, 30, 40, one Parquet
file per seed; by default the shipped ``examples/data/trifeature``) this script computes, with
the `kdbias_audit` API (:func:`kdbias_audit.analyze_sweep`):

- **"DS accuracy > NDS"**, per temperature: Welch's t-test on the seed accuracies, one-sided
  (alternative: DS mean > NDS mean), ``scipy.stats.ttest_ind(equal_var=False,
  alternative="greater")``;
- **"EOD/DPD decrease from T = 1 to T = 10"**, per attribute (colour, texture) and metric:
  Spearman's correlation of the seed-level values with T over every DS run at T = 1..10
  (5 seeds x 10 temperatures = 50 points), one-sided p for a negative correlation
  (``scipy.stats.spearmanr(alternative="less")``), and the two-sided p to call a significant
  *increase* a contradiction;
- **"they rise again at T = 20-40"**: Welch's t-test T = 40 vs T = 10, one-sided
  (alternative: T = 40 mean > T = 10 mean);
- **"distillation improves fairness over the NDS"** (the paper's second headline finding):
  per temperature, Welch's t-test on the seed-level EOD / DPD, one-sided (alternative: DS mean
  < NDS mean);
- **over all temperatures, paired by seed**: for each seed, the DS values averaged over the 13
  temperatures minus the NDS value of that seed (same seed: same initialisation and data order
  for both students, and the DS's teacher); a one-sided one-sample t-test on those 5
  differences, for accuracy (DS > NDS) and for each EOD / DPD (DS < NDS). The per-temperature
  tests have 5 + 5 seeds each; this one pools the temperatures without treating them as
  independent;
- **#SC / #TC** per temperature (uncorrected counts at p <= 0.05 with their permutation
  p-values, as ``kdaudit sweep`` prints them);
- **the noise floor of EOD and DPD**: the spread a model with *no* group effect would show on
  these test groups, from the library (``analyze_sweep(noise_floor=sims, dpd_null="labels")``,
  :mod:`kdbias_audit.fairness.uncertainty`): for every seed and class, each group's true and
  false positives are redrawn from the class's pooled TPR and FPR (binomial, each group's own
  positives and negatives kept: the test set is balanced by design, so the label-conditional
  null is the right one for DPD too), and EOD / DPD are averaged over classes as the paper does
  (Algorithm 1). The floor is the mean of that null distribution; each seed also gets the
  p-value of "beyond sampling noise", and the tables count the seeds with p <= alpha;
- **the same claims beyond the noise floor**: the floor falls as accuracy rises (fewer errors,
  less room for chance differences between groups), so a DS that is only more accurate shows a
  lower EOD even with no change in group disparity. "DS < NDS, averaged over T" and "decreases
  from T = 1 to T = 10" are therefore also tested on each seed's value minus its own floor.

A verdict is ``supported`` when the one-sided p <= alpha (0.05), ``contradicted`` when the
effect goes significantly the other way (two-sided p <= alpha, opposite sign), else
``not shown``. The paper's values are copied from ``paper.txt``: Table 2 (= Table 9, colour
columns) and Table 9 (texture columns); Figure 4 (c, d) plots the same values as Table 9.
The paper reports no #SC/#TC for Trifeature.

Run::

    python examples/trifeature_verdict.py [SWEEP] [--out verdict.md] [--sims 1000]

It prints the markdown; ``--out`` also writes it (atomically). ``--results FILE`` writes a
complete ``RESULTS.md`` (recipe from the files' metadata, the tables, the verdicts and the
figure links) and ``--figures DIR`` redraws the figures the RESULTS page shows.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_SWEEP = Path(__file__).resolve().parent / "data" / "trifeature"
ATTRIBUTES = ("color", "texture")
METRICS = ("eod", "dpd")
DECREASE_TS = tuple(float(t) for t in range(1, 11))
TRAIN_MARGIN = 0.05  # a run more than 5 points below the NDS mean counts as not trained
FIGURES = (
    "fig1_classwise",
    "fig2_disagreement_T4",
    "fig2_disagreement_T40",
    "fig3_significance",
    "fig4_fairness_color",
    "fig4_fairness_texture",
)

# --- the paper's numbers (paper.txt) ----------------------------------------------------------
# Table 9 "Fairness Metrics and Distillation on Trifeature dataset" (its colour columns are
# Table 2's Trifeature columns): label -> (acc, sd, EOD, sd, DPD, sd), in %.
PAPER_SOURCE = "paper Table 2 / Table 9 (Trifeature, ResNet-20 -> LeNet-5, 5 seeds)"
PAPER_COLOR = {
    "Teacher": (100.00, 0.00, 0.00, 0.00, 3.64, 0.00),
    "NDS": (90.33, 0.07, 2.81, 0.05, 4.12, 0.08),
    1.0: (92.70, 0.15, 1.67, 0.04, 3.75, 0.07),
    2.0: (92.41, 0.08, 1.60, 0.06, 3.56, 0.05),
    3.0: (92.66, 0.12, 1.38, 0.02, 3.52, 0.02),
    4.0: (92.61, 0.17, 1.32, 0.05, 3.48, 0.03),
    5.0: (93.13, 0.09, 1.25, 0.00, 3.41, 0.06),
    6.0: (93.25, 0.12, 1.27, 0.02, 3.48, 0.03),
    7.0: (92.85, 0.18, 1.21, 0.03, 3.37, 0.05),
    8.0: (92.66, 0.13, 1.15, 0.05, 3.29, 0.06),
    9.0: (93.18, 0.08, 1.08, 0.03, 3.22, 0.04),
    10.0: (92.77, 0.16, 1.01, 0.04, 3.10, 0.02),
    20.0: (92.43, 0.12, 1.06, 0.06, 3.25, 0.06),
    30.0: (91.58, 0.08, 1.27, 0.08, 3.59, 0.07),
    40.0: (91.04, 0.13, 1.85, 0.09, 3.86, 0.07),
}
PAPER_TEXTURE = {
    "Teacher": (94.43, 0.04, 1.07, 0.02, 3.76, 0.03),
    "NDS": (86.31, 0.08, 2.98, 0.05, 4.61, 0.07),
    1.0: (87.14, 0.08, 2.74, 0.04, 4.28, 0.03),
    2.0: (87.52, 0.11, 2.56, 0.06, 4.14, 0.04),
    3.0: (87.71, 0.09, 2.33, 0.04, 4.08, 0.05),
    4.0: (87.86, 0.12, 2.25, 0.03, 3.93, 0.03),
    5.0: (88.14, 0.13, 2.17, 0.05, 3.85, 0.05),
    6.0: (88.28, 0.09, 2.06, 0.03, 3.74, 0.08),
    7.0: (88.13, 0.14, 1.97, 0.06, 3.59, 0.04),
    8.0: (88.06, 0.10, 1.91, 0.04, 3.51, 0.07),
    9.0: (88.23, 0.07, 1.83, 0.07, 3.44, 0.06),
    10.0: (88.33, 0.11, 1.77, 0.04, 3.37, 0.09),
    20.0: (88.17, 0.10, 1.86, 0.08, 3.48, 0.07),
    30.0: (87.42, 0.14, 2.21, 0.10, 3.82, 0.13),
    40.0: (86.93, 0.17, 2.69, 0.12, 4.23, 0.15),
}
PAPER = {"color": PAPER_COLOR, "texture": PAPER_TEXTURE}


# --- statistics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """One claim's test: statistic, one-sided p, two-sided p and the verdict word."""

    claim: str
    statistic: str
    p_one_sided: float
    p_two_sided: float
    verdict: str


def _decide(effect: float, p_one: float, p_two: float, alpha: float) -> str:
    """supported / contradicted / not shown, from the effect's sign and the p-values."""
    if not (math.isfinite(p_one) and math.isfinite(effect)):
        return "not computable"
    if p_one <= alpha:
        return "supported"
    if p_two <= alpha and effect < 0:
        return "contradicted"
    return "not shown"


def welch_greater(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """(mean(a) - mean(b), one-sided p for mean(a) > mean(b), two-sided p), Welch's test."""
    from scipy import stats

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size < 2 or b.size < 2:
        return float("nan"), float("nan"), float("nan")
    diff = float(a.mean() - b.mean())
    if np.ptp(a) == 0 and np.ptp(b) == 0:  # no variance at all: the test is undefined
        return diff, float("nan"), float("nan")
    one = float(stats.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue)
    two = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return diff, one, two


def paired_mean_test(diff: np.ndarray) -> tuple[float, float, float]:
    """(mean(diff), one-sided p for mean > 0, two-sided p): one-sample t-test over seeds."""
    from scipy import stats

    d = np.asarray(diff, dtype=float)
    d = d[np.isfinite(d)]
    if d.size < 2 or np.ptp(d) == 0:
        return (float(d.mean()) if d.size else float("nan")), float("nan"), float("nan")
    one = float(stats.ttest_1samp(d, 0.0, alternative="greater").pvalue)
    two = float(stats.ttest_1samp(d, 0.0).pvalue)
    return float(d.mean()), one, two


def spearman_decrease(t: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """(rho, one-sided p for rho < 0, two-sided p) of seed-level values ``y`` against ``t``."""
    from scipy import stats

    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(t) & np.isfinite(y)
    t, y = t[ok], y[ok]
    if t.size < 3 or np.ptp(t) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan"), float("nan")
    rho = float(stats.spearmanr(t, y).statistic)
    one = float(stats.spearmanr(t, y, alternative="less").pvalue)
    two = float(stats.spearmanr(t, y).pvalue)
    return rho, one, two


def _per_seed(row, attribute: str) -> tuple:
    """The library's per-seed uncertainty (noise floors, p-values) of one run set's attribute."""
    audit = row.fairness_of(attribute)
    return tuple(audit.uncertainty or ()) if audit is not None else ()


def floor_summary(row, attribute: str, alpha: float) -> dict:
    """The library's noise floors of one run set and attribute: mean floor over seeds and the
    seeds whose EOD / DPD is beyond sampling noise (noise p-value <= ``alpha``)."""
    per_seed = _per_seed(row, attribute)
    out: dict = {"seeds": len(per_seed)}
    for metric in METRICS:
        floors = [getattr(u, metric).noise_floor for u in per_seed]
        pvals = [getattr(u, metric).noise_pvalue for u in per_seed]
        out[f"{metric}_mean"] = float(np.nanmean(floors)) if floors else math.nan
        out[f"{metric}_p"] = [float(p) for p in pvals]
        out[f"{metric}_beyond"] = int(sum(p <= alpha for p in pvals if math.isfinite(p)))
    return out


# --- the analysis -------------------------------------------------------------------------------


def _pct(x: float, nd: int = 2) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{100 * x:.{nd}f}"


def _pm(values: np.ndarray) -> str:
    v = 100 * np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return "-"
    sd = v.std(ddof=1) if v.size > 1 else float("nan")
    return f"{v.mean():.2f} ± {sd:.2f}"


def _p(p: float) -> str:
    if p is None or not math.isfinite(p):
        return "-"
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def _paper(key, attr: str, field: int) -> str:
    row = PAPER[attr].get(key)
    if row is None:
        return "-"
    return f"{row[field]:.2f} ± {row[field + 1]:.2f}"


def _t_label(t: float) -> str:
    return f"{t:g}"


def analyze(sweep: str | os.PathLike[str], *, sims: int = 1000, alpha: float = 0.05) -> dict:
    """Everything the tables need, as plain Python data (also written by ``--json``)."""
    import kdbias_audit as ka

    res = ka.analyze_sweep(sweep, alpha=alpha, noise_floor=sims, dpd_null="labels")
    attributes = [a for a in ATTRIBUTES if a in res.attributes]
    nds = res.baseline
    ds = {float(r.temperature): r for r in res.distilled if r.temperature is not None}

    def seed_values(row, attr, metric) -> list[float]:
        return [float(v) for v in row.fairness_per_seed(attr, metric)]

    def excess(row, attr, metric) -> np.ndarray:
        """Each seed's EOD / DPD minus its own noise floor: the part sampling noise of this
        many errors on these groups does not explain (the floor falls as accuracy rises)."""
        floors = [getattr(u, metric).noise_floor for u in _per_seed(row, attr)]
        values = np.asarray(row.fairness_per_seed(attr, metric), dtype=float)
        if len(floors) != len(values):
            return np.full(len(values), np.nan)
        return values - np.asarray(floors, dtype=float)

    out: dict = {
        "sweep": str(sweep),
        "alpha": alpha,
        "attributes": attributes,
        "n_test": int(nds.runset.n_samples),
        "seeds": nds.seeds,
        "temperatures": sorted(ds),
        "models": [],
        "claims": [],
        "noise_floor": {},
    }
    out["cells"] = {}
    for attr in attributes:
        codes = np.asarray(nds.runset.group_codes(attr))
        cells = np.zeros((nds.runset.num_classes, len(nds.runset.group_levels(attr))), int)
        np.add.at(cells, (nds.runset.label, codes), 1)
        out["cells"][attr] = {"min": int(cells.min()), "max": int(cells.max())}

    nds_acc = np.asarray(nds.accuracy, dtype=float)
    # issue 14's criterion: no student run more than 5 points below the NDS mean
    floor_acc = float(nds_acc.mean()) - TRAIN_MARGIN
    out["training"] = {
        "chance": 1.0 / nds.runset.num_classes,
        "nds_mean": float(nds_acc.mean()),
        "margin": TRAIN_MARGIN,
        "low_runs": [
            {"run": f"{r.name}/seed{s}", "accuracy": float(a)}
            for r in (nds, *ds.values())
            for s, a in zip(r.seeds, r.accuracy, strict=True)
            if a < floor_acc
        ],
    }
    for key, row in [("Teacher", res.teacher), ("NDS", nds), *sorted(ds.items())]:
        entry: dict = {
            "key": key if isinstance(key, str) else float(key),
            "name": row.name,
            "accuracy": [float(v) for v in row.accuracy],
            "fairness": {a: {m: seed_values(row, a, m) for m in METRICS} for a in attributes},
        }
        if row.role == "distilled":
            diff, one, two = welch_greater(row.accuracy, nds_acc)
            entry["vs_nds"] = {
                "diff": diff,
                "p_one_sided": one,
                "p_two_sided": two,
                "verdict": _decide(diff, one, two, alpha),
            }
            entry["fair_vs_nds"] = {}
            for attr in attributes:
                entry["fair_vs_nds"][attr] = {}
                for metric in METRICS:
                    # NDS - DS > 0: the DS is fairer
                    diff, one, two = welch_greater(
                        nds.fairness_per_seed(attr, metric), row.fairness_per_seed(attr, metric)
                    )
                    entry["fair_vs_nds"][attr][metric] = {
                        "diff": diff,
                        "p_one_sided": one,
                        "p_two_sided": two,
                        "verdict": _decide(diff, one, two, alpha),
                    }
            for tag, r in (("sc", row.vs_baseline), ("tc", row.vs_teacher)):
                entry[f"n_{tag}"] = None if r is None else int(r.n_significant)
                entry[f"p_{tag}"] = None if r is None else float(r.count_pvalue)
        out["models"].append(entry)

    # over all temperatures, paired by seed (needs every DS run set on the NDS's seeds)
    if ds and all(list(r.seeds) == list(nds.seeds) for r in ds.values()):
        n_t = len(ds)
        acc_ds = np.mean([np.asarray(r.accuracy, dtype=float) for r in ds.values()], axis=0)

        def paired_claim(claim: str, label: str, diffs: np.ndarray) -> None:
            diff, one, two = paired_mean_test(diffs)
            statistic = (
                f"{label} = {_pct(diff)} points (mean over {n_t} T, {len(nds.seeds)} seeds, "
                "one-sample t)"
            )
            verdict = _decide(diff, one, two, alpha)
            out["claims"].append(Verdict(claim, statistic, one, two, verdict).__dict__)

        paired_claim(
            "DS accuracy > NDS, averaged over T (paired by seed)", "DS - NDS", acc_ds - nds_acc
        )
        for attr in attributes:
            for metric in METRICS:
                ds_mean = np.mean([r.fairness_per_seed(attr, metric) for r in ds.values()], axis=0)
                paired_claim(
                    f"DS {metric.upper()} {attr} < NDS, averaged over T (paired by seed)",
                    "NDS - DS",
                    np.asarray(nds.fairness_per_seed(attr, metric)) - ds_mean,
                )
                ds_excess = np.mean([excess(r, attr, metric) for r in ds.values()], axis=0)
                if np.isfinite(ds_excess).all():
                    paired_claim(
                        f"DS {metric.upper()} {attr} beyond its noise floor < NDS's, averaged "
                        "over T (paired by seed)",
                        "NDS - DS excess",
                        excess(nds, attr, metric) - ds_excess,
                    )
    for attr in attributes:
        for metric in METRICS:
            name = f"{metric.upper()} {attr}"
            ts = [t for t in DECREASE_TS if t in ds]
            if len(ts) >= 3:
                x = np.concatenate([np.full(len(ds[t].seeds), t) for t in ts])
                y = np.concatenate([ds[t].fairness_per_seed(attr, metric) for t in ts])
                for what, yv in (
                    ("", y),
                    (
                        " beyond its noise floor",
                        np.concatenate([excess(ds[t], attr, metric) for t in ts]),
                    ),
                ):
                    if not np.isfinite(yv).all():
                        continue
                    rho, one, two = spearman_decrease(x, yv)
                    out["claims"].append(
                        Verdict(
                            f"{name}{what} decreases from T = 1 to T = 10",
                            f"Spearman rho = {rho:+.3f} ({len(yv)} seed-level values, T = "
                            f"{_t_label(ts[0])}-{_t_label(ts[-1])})",
                            one,
                            two,
                            _decide(-rho, one, two, alpha),
                        ).__dict__
                    )
            if 10.0 in ds and 40.0 in ds:
                a40 = ds[40.0].fairness_per_seed(attr, metric)
                a10 = ds[10.0].fairness_per_seed(attr, metric)
                diff, one, two = welch_greater(a40, a10)
                out["claims"].append(
                    Verdict(
                        f"{name} rises again at high T (T = 40 vs T = 10)",
                        f"T=40 - T=10 = {_pct(diff)} points (Welch)",
                        one,
                        two,
                        _decide(diff, one, two, alpha),
                    ).__dict__
                )
        floors = {}
        for key, row in [("NDS", nds), *[(f"DS T={_t_label(t)}", r) for t, r in ds.items()]]:
            floors[key] = floor_summary(row, attr, alpha)
        out["noise_floor"][attr] = floors
    return out


# --- markdown -----------------------------------------------------------------------------------


def _label(key) -> tuple[str, str]:
    return (key, "-") if isinstance(key, str) else ("DS", _t_label(key))


def _training_line(a: dict) -> str:
    tr = a["training"]
    low = tr["low_runs"]
    head = (
        f"Training check: every student run within {100 * tr['margin']:.0f} points of the NDS "
        f"mean ({_pct(tr['nds_mean'])} %)"
    )
    if tr["nds_mean"] < tr["chance"] + TRAIN_MARGIN:
        return (
            head + f": **no**, the NDS itself is near chance ({_pct(tr['chance'])} %): "
            "nothing here trained."
        )
    if not low:
        return head + ": yes, all runs trained."
    listed = ", ".join(f"{r['run']} ({_pct(r['accuracy'])} %)" for r in low)
    return head + f": **no**, {len(low)} run(s) below: {listed}."


def render(a: dict) -> str:
    """The markdown tables and verdicts of :func:`analyze`'s output."""
    lines: list[str] = []
    cells = ", ".join(
        f"{attr}: {c['min']}-{c['max']} per shape x {attr} cell" for attr, c in a["cells"].items()
    )
    lines += [
        f"Sweep `{a['sweep']}`: {len(a['seeds'])} seeds, {a['n_test']:,} test images ({cells}). "
        f"Paper values: {PAPER_SOURCE}. Ours: mean ± sample std over seeds, in %.",
        "",
        _training_line(a),
        "",
        "**Test accuracy; DS > NDS (Welch, one-sided, per temperature)**",
        "",
        "| Model | T | paper acc. (%) | ours acc. (%) | DS - NDS (points) | p (one-sided) "
        "| verdict | #SC | p(#SC) | #TC | p(#TC) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in a["models"]:
        model, t = _label(m["key"])
        v = m.get("vs_nds")
        lines.append(
            f"| {model} | {t} | {_paper(m['key'], 'color', 0)} | {_pm(m['accuracy'])} | "
            + (
                f"{_pct(v['diff'])} | {_p(v['p_one_sided'])} | {v['verdict']} | "
                f"{m['n_sc']} | {_p(m['p_sc'])} | {m['n_tc']} | {_p(m['p_tc'])} |"
                if v
                else "- | - | - | - | - | - | - |"
            )
        )
    lines += [
        "",
        "The paper gives no #SC/#TC for Trifeature; for its other 10-class datasets "
        "(CIFAR-10, SVHN) at most one class of ten changes significantly.",
    ]
    for attr in a["attributes"]:
        lines += [
            "",
            f"**Fairness w.r.t. {attr} (EOD and DPD, %; paper: Table "
            f"{'2 / 9' if attr == 'color' else '9'})**",
            "",
            "| Model | T | paper EOD | ours EOD | NDS - DS EOD (p, one-sided) | paper DPD "
            "| ours DPD | NDS - DS DPD (p, one-sided) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for m in a["models"]:
            model, t = _label(m["key"])
            f = m["fairness"][attr]
            vs = m.get("fair_vs_nds", {}).get(attr, {})

            def gain(metric: str, vs: dict = vs) -> str:
                v = vs.get(metric)
                return "-" if v is None else f"{_pct(v['diff'])} ({_p(v['p_one_sided'])})"

            lines.append(
                f"| {model} | {t} | {_paper(m['key'], attr, 2)} | {_pm(f['eod'])} | "
                f"{gain('eod')} | {_paper(m['key'], attr, 4)} | {_pm(f['dpd'])} | "
                f"{gain('dpd')} |"
            )
    lines += [
        "",
        "**The fairness claims (alpha = 0.05)**",
        "",
        "| claim | statistic | p (one-sided) | p (two-sided) | verdict |",
        "|---|---|---|---|---|",
    ]
    for c in a["claims"]:
        lines.append(
            f"| {c['claim']} | {c['statistic']} | {_p(c['p_one_sided'])} | "
            f"{_p(c['p_two_sided'])} | {c['verdict']} |"
        )
    if len(a["noise_floor"]) > 1:
        lines += [
            "",
            "The noise floor depends only on each class's pooled rates and the group sizes; "
            "with equally large groups for every attribute (the balanced Trifeature test set) "
            "it is the same for colour and texture.",
        ]
    for attr, floors in a["noise_floor"].items():
        observed = {}
        for m in a["models"]:
            model, t = _label(m["key"])
            observed["NDS" if model == "NDS" else f"DS T={t}"] = m["fairness"][attr]
        lines += [
            "",
            f"**Noise floor w.r.t. {attr}: EOD/DPD of a model with no group effect on these "
            "test groups (the library's label-conditional floor, %; seeds beyond noise: noise "
            f"p <= {a['alpha']:g})**",
            "",
            "| run set | ours EOD | floor EOD | seeds beyond noise | ours DPD | floor DPD "
            "| seeds beyond noise |",
            "|---|---|---|---|---|---|---|",
        ]
        for key, fl in floors.items():
            ob = observed.get(key, {"eod": [], "dpd": []})
            lines.append(
                f"| {key} | {_pm(ob['eod'])} | {_pct(fl['eod_mean'])} | "
                f"{fl['eod_beyond']} of {fl['seeds']} | {_pm(ob['dpd'])} | "
                f"{_pct(fl['dpd_mean'])} | {fl['dpd_beyond']} of {fl['seeds']} |"
            )
    return "\n".join(lines) + "\n"


def summary_sentences(a: dict) -> list[str]:
    """Plain statements of each claim's outcome (used by the RESULTS page)."""
    out = [_training_line(a)]
    ds = [m for m in a["models"] if "vs_nds" in m]
    if ds:
        sup = [m for m in ds if m["vs_nds"]["verdict"] == "supported"]
        con = [m for m in ds if m["vs_nds"]["verdict"] == "contradicted"]
        out.append(
            f"DS accuracy > NDS (paper: +2-3 points at every T): supported at "
            f"{len(sup)} of {len(ds)} temperatures"
            + (f" (T = {', '.join(_t_label(m['key']) for m in sup)})" if sup else "")
            + (
                f"; DS significantly *below* NDS at T = "
                f"{', '.join(_t_label(m['key']) for m in con)}"
                if con
                else ""
            )
            + "."
        )
        for attr in a["attributes"]:
            for metric in METRICS:
                fair = [m for m in ds if m["fair_vs_nds"][attr][metric]["verdict"] == "supported"]
                worse = [
                    m for m in ds if m["fair_vs_nds"][attr][metric]["verdict"] == "contradicted"
                ]
                out.append(
                    f"DS {metric.upper()} {attr} < NDS (paper: lower at every T): supported at "
                    f"{len(fair)} of {len(ds)} temperatures"
                    + (f" (T = {', '.join(_t_label(m['key']) for m in fair)})" if fair else "")
                    + (
                        f"; DS significantly *above* NDS at T = "
                        f"{', '.join(_t_label(m['key']) for m in worse)}"
                        if worse
                        else ""
                    )
                    + "."
                )
        out.append(
            f"The per-temperature verdicts above are {len(ds)} uncorrected one-sided tests each "
            f"(at alpha = {a['alpha']:g} about {a['alpha'] * len(ds):.1f} false 'supported' per "
            "line are expected when nothing differs); each line below is one test."
        )
    for c in a["claims"]:
        out.append(
            f"{c['claim']} (paper: yes): {c['verdict']}, {c['statistic']}, "
            f"p = {_p(c['p_one_sided'])} one-sided."
        )
    if a["claims"]:
        from kdbias_audit.stats.multitest import benjamini_hochberg

        q = benjamini_hochberg([c["p_one_sided"] for c in a["claims"]])
        kept = [
            c["claim"]
            for c, qi in zip(a["claims"], q, strict=True)
            if c["verdict"] == "supported" and qi <= a["alpha"]
        ]
        n_sup = sum(c["verdict"] == "supported" for c in a["claims"])
        out.append(
            f"Taken together, the {len(a['claims'])} claims above are {len(a['claims'])} tests: "
            f"with Benjamini-Hochberg at q = {a['alpha']:g} over them, {len(kept)} of the "
            f"{n_sup} 'supported' remain" + (f" ({'; '.join(kept)})." if kept else ".")
        )
    return out


# --- RESULTS.md -------------------------------------------------------------------------------


def _recipe(sweep: Path) -> dict:
    from kdbias_audit.io import read_predictions

    meta = {}
    for role_dir in ("teacher", "nds"):
        files = sorted((sweep / role_dir).glob("*.parquet"))
        if files:
            meta[role_dir] = read_predictions(files[0]).metadata
    ds_dirs = sorted(p for p in sweep.glob("ds_T*") if p.is_dir())
    if ds_dirs:
        files = sorted(ds_dirs[0].glob("*.parquet"))
        if files:
            meta["ds"] = read_predictions(files[0]).metadata
    return meta


def results_page(
    sweep: Path, a: dict, verdict_md: str, notes: str = "", notes_path: str = "NOTES.md"
) -> str:
    """The whole RESULTS.md: recipe (from the files' metadata), verdicts, ``notes`` (markdown
    written by hand, from ``notes_path``: what the numbers alone do not say, e.g. other
    sizings), tables, figures."""
    where = Path(sweep).as_posix()
    meta = _recipe(sweep)
    nds = meta.get("nds", {})
    ds = meta.get("ds", {})
    teacher = meta.get("teacher", {})
    recipe_keys = ("image_size", "train_size", "test_size", "epochs", "batch_size", "lr")
    recipe = ", ".join(f"{k} {nds.get(k)}" for k in recipe_keys if k in nds)
    extra = {k: v for k, v in ds.items() if k.startswith("recipe_") or k == "warmup_steps"}
    lines = [
        "# Results on the shipped Trifeature sweep, next to the paper",
        "",
        f"Generated by `python examples/trifeature_verdict.py {where} --results "
        f"{where}/RESULTS.md --figures {where}/figures"
        + (f" --notes {notes_path}" if notes.strip() else "")
        + "` from the files in this folder; do not edit by hand (edit the script"
        + (" or the notes)." if notes.strip() else ")."),
        "",
        f"Students (LeNet-5): {recipe}. Teacher ({teacher.get('model', '?')}): epochs "
        f"{teacher.get('epochs', '?')}, lr {teacher.get('lr', '?')}. KD alpha "
        f"{ds.get('alpha', '?')}."
        + (f" Recipe options: {json.dumps(extra, sort_keys=True)}." if extra else ""),
        "See `README.md` for the exact command and the deviations from the paper's recipe.",
        "",
        "## Verdicts",
        "",
        *[f"- {s}" for s in summary_sentences(a)],
        "",
        *([notes.strip(), ""] if notes.strip() else []),
        "## Tables",
        "",
        verdict_md,
        "## Figures",
        "",
        "| | |",
        "|---|---|",
        "| ![class-wise accuracy](figures/fig1_classwise.png) | "
        "![#SC/#TC vs T](figures/fig3_significance.png) |",
        "| ![disagreement T=4](figures/fig2_disagreement_T4.png) | "
        "![disagreement T=40](figures/fig2_disagreement_T40.png) |",
        "| ![fairness colour](figures/fig4_fairness_color.png) | "
        "![fairness texture](figures/fig4_fairness_texture.png) |",
        "",
    ]
    return "\n".join(lines)


DEFAULT_COMMAND = "bash producers/make_example_trifeature.sh device-call $OUT"


def readme_page(sweep: Path, a: dict, *, command: str, device_note: str) -> str:
    """The sweep folder's README.md: what the files are and how they were made (metadata)."""
    meta = _recipe(sweep)
    where = Path(sweep).as_posix()
    nds, ds, teacher = meta.get("nds", {}), meta.get("ds", {}), meta.get("teacher", {})
    temps = ", ".join(_t_label(t) for t in a["temperatures"])
    seeds = a["seeds"]
    n_runs = len(a["models"]) * len(seeds)
    has_logits = False
    for f in sorted(sweep.glob("nds/*.parquet"))[:1]:
        import pyarrow.parquet as pq

        has_logits = "logits" in pq.read_schema(f).names
    content = "float16 logits and predictions" if has_logits else "the predicted class (`pred`)"
    cells = "; ".join(
        f"{c['min']} images per shape x {attr} cell" for attr, c in a["cells"].items()
    )
    clip = nds.get("grad_clip")
    if nds.get("lr") == teacher.get("lr") == 0.1:
        lr_text = "learning rate 0.1 for every model (the paper's)"
    else:
        lr_text = (
            f"learning rate {nds.get('lr')} for the students, {teacher.get('lr')} for the teacher"
        )
    clip_text = (
        f"Deviation from the paper's recipe: the students' gradient norm is clipped at "
        f"{clip} (NDS and DS alike; without it LeNet-5 students distilled at T >= 3 diverge or "
        'die; see `docs/producers.md`, "Gradient clipping for LeNet-5 students").'
        if clip
        else "No gradient clipping (the files carry no `grad_clip`)."
    )
    warmup = nds.get("warmup")
    if warmup:
        clip_text += (
            f" The students' learning rate also warms up linearly over the first {warmup:.0%} of "
            "their steps (without it a third of them stay on a plateau until the first LR drop "
            'freezes them; `docs/producers.md`, "Warm-up for LeNet-5 students").'
        )
    log_note = (
        "(`producers/make_example_trifeature.sh` prints the `python -m producers.sweep` command "
        "it runs into `sweep.log`.) "
        if "device-call" in command
        else ""
    )
    return f"""# Trifeature example sweep (real trained models)

Prediction files of the paper's Trifeature setting, produced with this project's producers on \
real trained models: a {teacher.get("model", "ResNet-20")} teacher, a \
{nds.get("model", "LeNet-5")} non-distilled student (NDS) and distilled students (DS) at \
T = {temps}, each over {len(seeds)} seeds ({", ".join(str(s) for s in seeds)}): {n_runs} runs, \
one file per run.

```
teacher/seed<k>.parquet     role=teacher
nds/seed<k>.parquet         role=baseline
ds_T<T>/seed<k>.parquet     role=distilled, temperature=T, alpha={ds.get("alpha")}
.producers/logs/            one training log per run (recipe, loss and accuracy per epoch)
figures/                    figures made from these files (see RESULTS.md)
```

Each file holds the {a["n_test"]:,} test images' labels (shape), {content}, sample ids and \
the groups `group.color` and `group.texture` ({cells}), with metadata (role, model, \
temperature, alpha, teacher model, seed, class names and the whole recipe).

## How they were produced

```
{command}
```

{log_note}{device_note}

- Data: the project's Trifeature generator (`producers/data/trifeature.py`), dataset seed \
{nds.get("data_seed", 0)}, {nds.get("image_size")} x {nds.get("image_size")} px (the paper: \
224), {nds.get("train_size"):,} training and {nds.get("test_size"):,} test images, exactly \
balanced over (shape, colour, texture).
- Recipe: SGD, momentum 0.9, weight decay {nds.get("weight_decay")}, batch \
{nds.get("batch_size")}, {nds.get("epochs")} epochs (teacher {teacher.get("epochs")}) with \
x0.1 learning-rate drops at 30/60/90 % of the steps, {lr_text}; random crop and flip. KD loss \
`{ds.get("alpha")} * T^2 * KL + {1 - float(ds.get("alpha") or 0):.1f} * CE`, teacher of the \
same seed, in eval mode.
- {clip_text}
- Other differences from the paper: {nds.get("image_size")} px instead of 224 px, \
{nds.get("epochs")} epochs instead of 100, a generated test set of {a["n_test"]:,} images.

Check and audit them:

```
kdaudit validate {where}
kdaudit sweep {where}
kdaudit sweep {where} --noise-floor --dpd-null labels
python examples/trifeature_verdict.py {where}
```
"""


def write_text_atomic(path: Path, text: str) -> None:
    from kdbias_audit.atomic import atomic_write

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(path, write)


def draw_figures(sweep: Path, out_dir: Path, dpi: int) -> list[Path]:
    """Redraw the six figures RESULTS.md shows into ``out_dir`` (PNG)."""
    import shutil

    import kdbias_audit as ka

    res = ka.analyze_sweep(sweep)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        ka.plot_sweep(res, tmp, formats=("png",), dpi=dpi)
        for stem in FIGURES:
            src = Path(tmp) / f"{stem}.png"
            if src.is_file():
                shutil.copyfile(src, out_dir / src.name)
                written.append(out_dir / src.name)
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sweep", nargs="?", type=Path, default=DEFAULT_SWEEP)
    p.add_argument("--out", type=Path, help="also write the markdown tables here")
    p.add_argument("--json", type=Path, help="write the numbers as JSON here")
    p.add_argument("--results", type=Path, help="write a complete RESULTS.md here")
    p.add_argument("--figures", type=Path, help="redraw the RESULTS figures (PNG) here")
    p.add_argument("--readme", type=Path, help="write the sweep folder's README.md here")
    p.add_argument("--command", default=DEFAULT_COMMAND, help="the command, for --readme")
    p.add_argument(
        "--notes",
        type=Path,
        help="markdown inserted into --results after the verdicts (written by hand; it "
        "should say where its numbers come from)",
    )
    p.add_argument("--device-note", default="", help="the device and wall time, for --readme")
    p.add_argument(
        "--sims", type=int, default=1000, help="noise-floor draws per seed (at least 100)"
    )
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--dpi", type=int, default=110)
    args = p.parse_args(argv)
    from kdbias_audit import KDAuditError

    try:
        if not args.sweep.is_dir():
            raise KDAuditError(f"{args.sweep}: not a directory")
        a = analyze(args.sweep, sims=args.sims, alpha=args.alpha)
        md = render(a)
        print(md)
        if args.out:
            write_text_atomic(args.out, md)
        if args.json:
            write_text_atomic(args.json, json.dumps(a, indent=1, default=float) + "\n")
        if args.results:
            notes = args.notes.read_text(encoding="utf-8") if args.notes else ""
            write_text_atomic(
                args.results,
                results_page(
                    args.sweep, a, md, notes, Path(args.notes).as_posix() if args.notes else ""
                ),
            )
        if args.readme:
            write_text_atomic(
                args.readme,
                readme_page(args.sweep, a, command=args.command, device_note=args.device_note),
            )
        if args.figures:
            draw_figures(args.sweep, args.figures, args.dpi)
    except (KDAuditError, OSError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
