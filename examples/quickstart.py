# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # kdbias-audit quickstart: what did distillation do to this student?
#
# This notebook audits the real Trifeature sweep that ships with the project
# (`examples/data/trifeature/`: a ResNet-20 teacher, a LeNet-5 student trained without
# distillation (NDS) and LeNet-5 students distilled from the teacher (DS) at temperatures
# T = 1-10, 20, 30, 40; 5 seeds each; 50,000 test images; group attributes `color` and
# `texture`). Everything below works on saved predictions only, never on models.
#
# It follows the paper's questions:
#
# 1. Which classes does distillation move, relative to the non-distilled student, and is the
#    number of such classes more than seed-to-seed noise? (**#SC**, Welch t-tests over seeds)
# 2. Is the distilled student closer to its teacher than the non-distilled one is? (disagreement,
#    paper Fig. 2)
# 3. Is the distilled student fairer across groups? (**DPD**, **EOD**)
# 4. How does all of that change with the temperature? (the sweep table)
#
# Run it as a script (`python examples/quickstart.py [SWEEP_DIR]`) or open it as a notebook
# with jupytext (`jupytext --to notebook examples/quickstart.py`). Figures are written to the
# directory named by `KDAUDIT_EXAMPLE_OUT` (default: a new temporary directory), never into the
# repository.

# %%
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

import kdbias_audit as ka
from kdbias_audit.stats.disagreement import disagreement

pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 20)


def _default_sweep() -> Path:
    try:
        here = Path(__file__).resolve().parent  # run as a script
    except NameError:  # in a notebook: the working directory is the repository or examples/
        here = Path("examples") if Path("examples/data").is_dir() else Path(".")
    return here / "data" / "trifeature"


args = [a for a in sys.argv[1:] if not a.startswith("-")]  # a notebook kernel passes "-f ..."
SWEEP = Path(args[0]) if args and Path(args[0]).is_dir() else _default_sweep()
OUT = Path(os.environ.get("KDAUDIT_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="kdaudit-quickstart-"))
OUT.mkdir(parents=True, exist_ok=True)
print(f"sweep: {SWEEP}\noutputs: {OUT}")

# %% [markdown]
# ## 1. Load the teacher, the non-distilled student and one distilled student
#
# `discover_sweep` finds the role of every run set from the file metadata (`role`,
# `temperature`) without loading any predictions. `load_runsets` reads each run set (a directory with one Parquet file per seed), validates
# every file and **aligns** the run sets by `sample_id`: they must cover the same test samples
# with the same labels, or it stops with a one-line error naming the file.

# %%
plan = ka.discover_sweep(SWEEP)
print("distilled students at T =", [d.temperature for d in plan.distilled])
# the distilled student we look at first: T = 4 when the sweep has it, else its lowest T
chosen = next((d for d in plan.distilled if d.temperature == 4), plan.distilled[0])
T = f"{chosen.temperature:g}"

teacher, nds, ds = ka.load_runsets([plan.teacher.path, plan.baseline.path, chosen.path])

for rs in (teacher, nds, ds):
    acc = (rs.preds == rs.label).mean(axis=1)  # (seeds,) test accuracy of every seed
    print(
        f"{rs.name:8s} role={rs.role!s:9s} model={rs.model!s:8s} T={rs.temperature!s:5s} "
        f"seeds={rs.seeds} accuracy={100 * acc.mean():.2f} ± {100 * acc.std(ddof=1):.2f} %"
    )
print(f"{teacher.n_samples} test samples, {teacher.num_classes} classes: {teacher.class_names}")
print(f"group attributes: {teacher.group_attributes}")

# %% [markdown]
# ## 2. NDS vs DS: which classes did distillation move?
#
# For every class `c` and seed `s`, the *relative* class accuracy `r_cs = a_cs / acc_s`
# (class accuracy over overall accuracy) removes the overall accuracy change, so only a shift
# of accuracy *between* classes counts. A two-sided Welch t-test over the seeds compares NDS and
# DS per class. The number of significant classes is then calibrated by a permutation test:
# the share of re-splits of the pooled seeds that give at least as many significant classes
# (with 5 + 5 seeds, all 252 splits are enumerated).
#
# `compare(A, B)` runs the class-wise test, the disagreement and (when both have group columns)
# the fairness comparison in one call: it is what `kdaudit compare A B` prints.

# %%
cmp = ka.compare(nds, ds)
print(cmp.summary_frame().to_string(index=False))

# %%
cw = cmp.classwise
table = cmp.to_frame()[
    [
        "class",
        "name",
        "acc_a",
        "acc_b",
        "rel_a",
        "rel_b",
        "delta",
        "pvalue",
        "qvalue",
        "significant",
    ]
]
print(table.round(4).to_string(index=False))

# %%
print(
    f"NDS vs DS (T={T}): {cw.n_significant} of {cw.n_classes} classes significant at p <= {cw.alpha:g} "
    f"({cw.n_significant_fdr} after Benjamini-Hochberg); count p-value {cw.count_pvalue:.3g} "
    f"over {cw.n_permutations} splits; {cw.expected_false_positives:.2f} expected by chance"
)
moved = table[table["significant"]]
for row in moved.to_dict("records"):
    direction = "gains" if row["delta"] > 0 else "loses"
    print(
        f"  class {row['class']} ({row['name']}) {direction} relative accuracy: "
        f"{row['rel_a']:.3f} -> {row['rel_b']:.3f} (p = {row['pvalue']:.3g})"
    )

# %% [markdown]
# The same test against the teacher gives **#TC**: how many classes the distilled student still
# treats differently from its teacher. `classwise_test` is the class-wise part of `compare` alone.

# %%
tc = ka.classwise_test(teacher, ds)
print(
    f"teacher vs DS (T={T}): #TC = {tc.n_significant} of {tc.n_classes} (count p-value {tc.count_pvalue:.3g})"
)
print(
    tc.most_affected(5)[["class", "name", "acc_a", "acc_b", "delta", "pvalue"]]
    .round(4)
    .to_string(index=False)
)

# %% [markdown]
# ## 3. Disagreement with the teacher (paper Fig. 2)
#
# `D[i, j]`: test samples the teacher predicts as `i` and the student as `j` (mean over seed
# pairs). If distillation transfers the teacher's decisions, the distilled student disagrees
# with the teacher less than the non-distilled one does.

# %%
d_nds = disagreement(teacher, nds)
d_ds = disagreement(teacher, ds)
print(f"teacher vs NDS: {100 * d_nds.rate_mean:.2f} ± {100 * d_nds.rate_std:.2f} % of test samples")
print(
    f"teacher vs DS (T={T}): {100 * d_ds.rate_mean:.2f} ± {100 * d_ds.rate_std:.2f} % of test samples"
)
print("largest teacher -> DS confusions:")
print(d_ds.top_pairs_frame(5).to_string(index=False))

# %%
from kdbias_audit.plots import plot_disagreement, save_figure  # noqa: E402  (this cell imports matplotlib)

fig = plot_disagreement(
    d_nds.matrix,
    d_ds.matrix,
    class_names=teacher.class_names,
    titles=("Teacher vs NDS", f"Teacher vs DS (T = {T})"),
)
paths = save_figure(fig, OUT / f"disagreement_T{T}", formats=("png",))
print("wrote", *paths)

# %% [markdown]
# ## 4. Group fairness of a run set
#
# For each group attribute, one-vs-rest per class (paper Algorithm 1): the demographic parity
# difference (spread of selection rates over groups) and the equalized odds difference (the
# larger of the TPR and FPR spreads), averaged over classes, then mean ± std over seeds.
# 0 is ideal. `compare_fairness` tests the change from NDS to DS per attribute (Welch, per-seed
# values); it is also `cmp.fairness`.

# %%
if ds.group_attributes:
    audit = ka.fairness_audit(ds)
    print(audit.to_frame().round(4).to_string(index=False))
    print("change NDS -> DS (delta = DS - NDS; negative: DS is fairer):")
    print(
        cmp.fairness.to_frame()[["attribute", "metric", "delta", "pvalue", "significant"]]
        .round(4)
        .to_string(index=False)
    )
else:
    audit = None
    print(f"{ds.name} has no group columns: no fairness audit")

# %%
if audit is not None:
    attr = audit.attributes[0]
    print(f"per-class DPD/EOD of {ds.name} for {attr} (one-vs-rest):")
    print(audit.per_class(attr).round(4).to_string(index=False))

# %% [markdown]
# ## 5. The whole sweep
#
# `analyze_sweep` finds the teacher, the NDS and every DS from the file metadata, runs the
# tests above for each temperature and gives the paper's tables (`kdaudit sweep` prints the
# same; `kdaudit report` makes an HTML page with every figure).

# %%
sweep = ka.analyze_sweep(SWEEP)
print(ka.render_sweep(sweep, "markdown"))

# %%
frame = sweep.class_bias_frame()
ds_rows = frame[frame["role"] == "distilled"]
best = ds_rows.loc[ds_rows["n_sc"].idxmax()]
print(
    f"largest #SC: {int(best['n_sc'])} at T={best['temperature']:g}; "
    f"temperatures with #TC > 0: {int((ds_rows['n_tc'] > 0).sum())} of {len(ds_rows)}"
)
# %% [markdown]
# Next: `examples/third_party_audit.py` (audit your own model from plain prediction arrays)
# and `examples/paper_table_and_figure.py` (LaTeX tables and the paper's figures).
