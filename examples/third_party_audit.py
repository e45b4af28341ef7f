"""Audit a third-party model you can only query for predictions.

kdbias-audit never needs the model itself: any classifier whose test-set outputs you can
collect (scores or just labels, one run per random seed) can be audited. This example plays
both sides with scikit-learn on the handwritten digits bundled with it
(``sklearn.datasets.load_digits``: 1,797 8x8 images, 10 classes, no download):

- model A, the "teacher": a random forest (200 trees) whose scores we get (``predict_proba``),
- model B, the "student": a small neural network (one hidden layer of 16 units) trained on
  half of the training images, of which we only get predicted labels, as from an API that
  returns classes,

each trained with 5 random seeds on the same train/test split. A sensitive attribute is
attached to every test image: ``ink`` = ``heavy`` or ``light`` (total stroke intensity above
or below the training median), a stand-in for a demographic attribute.

Steps:

1. write one prediction file per model and seed from plain NumPy arrays with
   :func:`kdbias_audit.write_predictions` (including the ``group.ink`` column),
2. validate them (``kdaudit validate``),
3. compare B against A with the Python API (class-wise Welch tests, permutation-calibrated
   count of significant classes, disagreement, fairness) and save the JSON that
   ``kdaudit compare A B --format json`` writes.

Run::

    python examples/third_party_audit.py [--out DIR] [--seeds 5]

Everything is written under ``--out`` (default: ``$KDAUDIT_EXAMPLE_OUT`` or a new temporary
directory). Takes a few seconds on two CPU cores.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np


def make_data(data_seed: int = 0):
    """The digits split shared by every run, and the ``ink`` group of each test image."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits.data / 16.0
    idx = np.arange(len(x))
    idx_train, idx_test = train_test_split(
        idx, test_size=0.4, random_state=data_seed, stratify=digits.target
    )
    ink = x.sum(axis=1)
    threshold = np.median(ink[idx_train])
    ink_group = np.where(ink[idx_test] > threshold, "heavy", "light")
    return (
        x[idx_train],
        digits.target[idx_train],
        x[idx_test],
        digits.target[idx_test],
        idx_test,
        ink_group,
        [str(c) for c in digits.target_names],
    )


def train_and_predict(model: str, seed: int, x_train, y_train, x_test):
    """Train one model with one seed; return ``(scores, labels)``: scores only for the teacher."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    if model == "teacher":
        clf = RandomForestClassifier(n_estimators=200, random_state=seed, n_jobs=1)
        clf.fit(x_train, y_train)
        proba = clf.predict_proba(x_test)
        # log-probabilities are valid logits (finite after clipping); argmax = predicted class
        return np.log(np.clip(proba, 1e-6, 1.0)), None
    # the student sees a seed-dependent half of the training images
    rng = np.random.default_rng(seed)
    half = rng.choice(len(x_train), size=len(x_train) // 2, replace=False)
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x_train[half], y_train[half])
    return None, clf.predict(x_test)  # labels only, as from a classification API


def write_runs(out: Path, seeds: list[int]) -> tuple[Path, Path]:
    """Write ``out/teacher_rf/seed<k>.parquet`` and ``out/student_mlp/seed<k>.parquet``."""
    from kdbias_audit import write_predictions

    x_train, y_train, x_test, y_test, sample_id, ink, class_names = make_data()
    dirs = {"teacher": out / "teacher_rf", "student": out / "student_mlp"}
    meta = {
        "teacher": {"model": "random-forest-200", "role": "teacher"},
        "student": {"model": "mlp-16", "role": "baseline"},
    }
    for model, run_dir in dirs.items():
        for seed in seeds:
            scores, labels = train_and_predict(model, seed, x_train, y_train, x_test)
            path = write_predictions(
                run_dir / f"seed{seed}.parquet",
                y_true=y_test,
                logits=scores,  # either scores ...
                y_pred=labels,  # ... or predicted labels (or both)
                sample_id=sample_id,  # row index in load_digits(): the join key across files
                groups={"ink": ink},  # becomes the column group.ink
                seed=seed,
                num_classes=len(class_names),
                metadata={
                    **meta[model],
                    "dataset": "sklearn-digits",
                    "split": "test",
                    "class_names": class_names,
                },
                overwrite=True,
            )
        print(f"wrote {len(seeds)} files under {path.parent}")
    return dirs["teacher"], dirs["student"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output directory (default: $KDAUDIT_EXAMPLE_OUT or a new temporary directory)",
    )
    parser.add_argument("--seeds", type=int, default=5, help="seeds per model (at least 2)")
    args = parser.parse_args(argv)
    out = args.out or Path(
        os.environ.get("KDAUDIT_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="kdaudit-third-party-")
    )
    out.mkdir(parents=True, exist_ok=True)
    if args.seeds < 2:
        parser.error("--seeds must be at least 2 (a Welch test needs two runs per side)")

    # 1. prediction files from plain arrays
    dir_a, dir_b = write_runs(out, list(range(args.seeds)))

    # 2. validate them, as `kdaudit validate DIR_A DIR_B` does
    from kdbias_audit import validate_paths

    report = validate_paths([dir_a, dir_b])
    print(report.to_frame().round(2).to_string(index=False))
    if not report.ok:
        print("\n".join(report.problems))
        return 1

    # 3. compare B with A: `kdaudit compare DIR_A DIR_B`
    import kdbias_audit as ka

    a, b = ka.load_runsets([dir_a, dir_b])  # aligned by sample_id
    cmp = ka.compare(a, b)
    print()
    print(cmp.summary_frame().to_string(index=False))
    cw = cmp.classwise
    print(
        f"\n{b.name} vs {a.name}: {cw.n_significant} of {cw.n_classes} classes significant "
        f"at p <= {cw.alpha:g}; count p-value {cw.count_pvalue:.3g} ({cw.n_permutations} splits)"
    )
    print("\nmost affected classes (delta = relative accuracy B - A):")
    print(cmp.most_affected_frame(5).round(4).to_string(index=False))
    print("\nwhere the student disagrees with the teacher (teacher's class -> student's class):")
    print(cmp.top_pairs_frame(5).round(4).to_string(index=False))
    if cmp.fairness is not None:
        print("\nfairness on ink (delta = B - A; negative: B is fairer):")
        cols = ["attribute", "metric", "a_mean", "b_mean", "delta", "pvalue", "significant"]
        print(cmp.fairness.to_frame()[cols].round(4).to_string(index=False))

    # 4. the same from the command line; here run in-process through the CLI's typer app
    json_path = out / "comparison.json"
    command = ["compare", str(dir_a), str(dir_b), "--format", "json", "-o", str(json_path)]
    print("\nthe same from the command line:")
    print(f"  kdaudit validate {dir_a} {dir_b}")
    print(f"  kdaudit compare {dir_a} {dir_b}            # tables in the terminal")
    print(f"  kdaudit {' '.join(command)}")
    from kdbias_audit.cli import app

    code = app(command, standalone_mode=False)
    print(f"wrote {json_path}")
    return int(code or 0)


if __name__ == "__main__":
    raise SystemExit(main())
