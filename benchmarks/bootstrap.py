"""Counts-based resampling vs fairlearn's bootstrap, and the sample-level compare at ImageNet scale.

Cases (issue 11, "Performance"), measured side by side in one run:

(a) 20,000 binary samples, 4 groups. fairlearn: ``MetricFrame`` of selection rate, TPR and FPR
    with ``n_boot`` resamples (default 100) and ``ci_quantiles=[0.025, 0.975]``, then
    ``difference_ci()``; its time is scaled linearly to 1,000 resamples (printed as such).
    Ours: :func:`bootstrap_spreads` with 1,000 resamples (the same plain row bootstrap, drawn
    as one multinomial over the occupied group x label x prediction cells), the same 95 %
    percentile intervals of the between-group spreads. The intervals are checked to agree
    within Monte Carlo error (3 combined standard errors of a 2.5 % / 97.5 % quantile). Also
    timed: the full :func:`disparity_uncertainty` (stratified CIs and noise floors of DPD/EOD).
(b) One seed per side at ImageNet scale: 50,000 samples x 1,000 classes, the sample-level
    class-wise comparison (:func:`paired_classwise_test`: r_c deltas, Wald CIs, McNemar, BH)
    with a 2,000-permutation count test; the time of the statistics alone (no file reading).

Usage::

    python benchmarks/bootstrap.py                  # fairlearn timed on 100 resamples
    python benchmarks/bootstrap.py --fairlearn-boot 1000  # no scaling (about 5 minutes)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kdbias_audit.fairness.uncertainty import (  # noqa: E402
    bootstrap_spreads,
    disparity_uncertainty,
)
from kdbias_audit.stats.paired import paired_classwise_test  # noqa: E402


def binary_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 4, n)
    y = (rng.random(n) < 0.4 + 0.05 * g).astype(int)
    tpr = np.array([0.80, 0.75, 0.85, 0.70])[g]
    fpr = np.array([0.10, 0.15, 0.12, 0.20])[g]
    pred = (rng.random(n) < np.where(y == 1, tpr, fpr)).astype(int)
    return y, pred, g


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def quantile_se(sd: float, q: float, r: int) -> float:
    """Normal-approximation standard error of the ``q`` quantile of ``r`` draws."""
    from scipy import stats

    return float(np.sqrt(q * (1 - q) / r) / stats.norm.pdf(stats.norm.ppf(q)) * sd)


def case_a(n_boot_fairlearn: int, n_ours: int, repeat: int) -> None:
    from fairlearn.metrics import (
        MetricFrame,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )

    y, pred, g = binary_data(20_000)
    groups = np.array(["g0", "g1", "g2", "g3"])[g]
    metrics = {
        "selection_rate": selection_rate,
        "tpr": true_positive_rate,
        "fpr": false_positive_rate,
    }

    t0 = time.perf_counter()
    mf = MetricFrame(
        metrics=metrics,
        y_true=y,
        y_pred=pred,
        sensitive_features=groups,
        n_boot=n_boot_fairlearn,
        ci_quantiles=[0.025, 0.975],
        random_state=0,
    )
    fl_ci = mf.difference_ci()
    t_fl = time.perf_counter() - t0
    t_fl_scaled = t_fl * n_ours / n_boot_fairlearn

    ours = {}

    def run() -> None:
        ours["reps"] = bootstrap_spreads(y, pred, g, 4, n_resamples=n_ours, random_state=1)

    run()  # warm imports
    t_ours = best_of(run, repeat)
    t_full = best_of(
        lambda: disparity_uncertainty(y, pred, g, 4, n_resamples=n_ours, random_state=1), repeat
    )

    print("(a) 20,000 binary samples, 4 groups; selection rate, TPR, FPR spreads, 95 % CIs")
    scaled = "" if n_boot_fairlearn == n_ours else f", scaled x{n_ours / n_boot_fairlearn:g}"
    print(
        f"    fairlearn MetricFrame(n_boot={n_boot_fairlearn}) + difference_ci: {t_fl:.2f} s "
        f"-> {t_fl_scaled:.1f} s per {n_ours} resamples{scaled}"
    )
    print(f"    ours bootstrap_spreads({n_ours} resamples, row bootstrap): {1e3 * t_ours:.1f} ms")
    print(f"    speed-up (fairlearn{scaled} / ours): {t_fl_scaled / t_ours:,.0f}x")
    print(
        f"    ours disparity_uncertainty({n_ours}): stratified CIs + noise floors of DPD and EOD: "
        f"{1e3 * t_full:.1f} ms"
    )
    print("    95 % intervals of max_g - min_g (fairlearn vs ours; tolerance = 3 combined MC SEs):")
    ok = True
    for name in ("selection_rate", "tpr", "fpr"):
        reps = ours["reps"][name]
        lo, hi = np.quantile(reps, [0.025, 0.975])
        f_lo, f_hi = float(fl_ci[0][name]), float(fl_ci[1][name])
        sd = float(reps.std())
        tol = [
            3 * np.hypot(quantile_se(sd, q, n_boot_fairlearn), quantile_se(sd, q, n_ours))
            for q in (0.025, 0.975)
        ]
        agree = abs(lo - f_lo) <= tol[0] and abs(hi - f_hi) <= tol[1]
        ok &= agree
        print(
            f"      {name:15s} fairlearn [{f_lo:.4f}, {f_hi:.4f}]  ours [{lo:.4f}, {hi:.4f}]  "
            f"tol ±{tol[0]:.4f}/{tol[1]:.4f}  {'agree' if agree else 'DISAGREE'}"
        )
    print(f"    intervals agree within Monte Carlo error: {ok}")


def case_b(n_resamples: int, repeat: int) -> None:
    n, c = 50_000, 1_000
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(c), n // c)
    q = rng.beta(0.8, 0.2, n)  # per-sample difficulty: A and B agree on most samples
    a = np.where(rng.random(n) < q, y, (y + rng.integers(1, c, n)) % c)
    b = np.where(rng.random(n) < q, y, (y + rng.integers(1, c, n)) % c)
    out = {}

    def run() -> None:
        out["res"] = paired_classwise_test(y, a, b, c, n_resamples=n_resamples, random_state=0)

    t = best_of(run, repeat)
    res = out["res"]
    print(
        f"(b) ImageNet scale, one seed per side: {n:,} samples x {c:,} classes, "
        f"{n_resamples:,} paired permutations (count test included)"
    )
    print(
        f"    paired_classwise_test: {t:.2f} s (target < 3 s); {res.n_significant} classes "
        f"with p <= 0.05, count p = {res.count_pvalue:.3f}, expected false positives "
        f"{res.expected_false_positives:.1f}, untestable {res.n_untestable}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fairlearn-boot", type=int, default=100)
    parser.add_argument("--resamples", type=int, default=1_000)
    parser.add_argument("--compare-resamples", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", nargs="*", default=["a", "b"], choices=["a", "b"])
    args = parser.parse_args(argv)
    if "a" in args.cases:
        case_a(args.fairlearn_boot, args.resamples, args.repeat)
    if "b" in args.cases:
        case_b(args.compare_resamples, args.repeat)


if __name__ == "__main__":
    main()
