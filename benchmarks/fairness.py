"""Fairness audit vs fairlearn: same numbers, measured speed-up.

Cases (issue 4, "Performance"):

(a) CelebA-scale binary: 19,962 samples, 2 attributes of 2 groups, 5 seeds, 15 run sets
    (teacher, NDS, 13 temperatures);
(b) Trifeature-scale multi-class: 10 classes, 2 attributes of 10 groups, 10,000 samples,
    5 seeds (one-vs-rest, averaged over classes);
(c) 200,000 samples, 10 classes, 1 attribute of 10 groups, 5 seeds (one-vs-rest).

For each case, "ours" is ``fairness_audit`` on already-loaded run sets (both DPD and EOD, every
attribute, every seed, mean and std); "fairlearn" is the same numbers through
``fairlearn.metrics.demographic_parity_difference`` / ``equalized_odds_difference`` (defaults),
called per run set x seed x attribute (x class for one-vs-rest) on the group labels as strings,
as a user would. Reading files is not timed on either side. The values are checked to agree to
1e-12 before the speed-up is printed.

fairlearn at full scale takes a while on a small machine: by default it is timed on a subset of
its calls (``--fairlearn-share``, the first run sets / seeds) and its time is scaled linearly to
the full count of calls; the output says so. ``--full`` times every fairlearn call.

Usage::

    python benchmarks/fairness.py                # default: subsets for fairlearn, about a minute
    python benchmarks/fairness.py --full         # every fairlearn call
    python benchmarks/fairness.py --cases a c --repeat 20
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kdbias_audit.fairness import fairness_audit  # noqa: E402
from kdbias_audit.io import RunSet  # noqa: E402

TOL = 1e-12


@dataclass
class Case:
    key: str
    title: str
    n: int
    num_classes: int
    n_runsets: int
    n_seeds: int
    attributes: dict[str, int]  # name -> number of groups


CASES = {
    "a": Case("a", "CelebA-scale binary", 19_962, 2, 15, 5, {"young": 2, "male": 2}),
    "b": Case("b", "Trifeature-scale one-vs-rest", 10_000, 10, 1, 5, {"color": 10, "texture": 10}),
    "c": Case("c", "large one-vs-rest", 200_000, 10, 1, 5, {"group": 10}),
}


def make_runsets(case: Case, rng: np.random.Generator) -> list[RunSet]:
    """Synthetic run sets; every group has every class (so fairlearn's 0-convention never bites)."""
    n, k = case.n, case.num_classes
    y = rng.integers(0, k, n)
    groups = {}
    for name, g in case.attributes.items():
        codes = rng.integers(0, g, n)
        codes[: g * k] = np.repeat(np.arange(g), k)  # each group x class cell is non-empty
        y[: g * k] = np.tile(np.arange(k), g)
        groups[name] = np.array([f"{name}_{i}" for i in range(g)])[codes]
    out = []
    for r in range(case.n_runsets):
        acc = 0.7 + 0.2 * rng.random()
        preds = np.where(
            rng.random((case.n_seeds, n)) < acc, y, rng.integers(0, k, (case.n_seeds, n))
        )
        out.append(RunSet.from_arrays(y, preds, groups=groups, num_classes=k, name=f"rs{r}"))
    return out


def run_ours(runsets: list[RunSet], repeat: int) -> tuple[float, list]:
    best = float("inf")
    audits = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        audits = [fairness_audit(rs) for rs in runsets]
        best = min(best, time.perf_counter() - t0)
    return best, audits


def run_fairlearn(runsets: list[RunSet], case: Case, share: float):
    """fairlearn values for the first ``ceil(share * calls)`` (run set, seed) pairs; time, pairs."""
    import fairlearn.metrics as flm

    pairs = [(r, s) for r in range(len(runsets)) for s in range(case.n_seeds)]
    m = max(1, int(np.ceil(share * len(pairs))))
    pairs = pairs[:m]
    values: dict[tuple[int, int, str], tuple[float, float]] = {}
    labels_cache = {}
    for r, _ in pairs:  # decode group codes to the strings a user would hold (not timed)
        rs = runsets[r]
        labels_cache[r] = {
            a: np.asarray(rs.group_levels(a), dtype=object)[rs.group_codes(a)]
            for a in rs.group_attributes
        }
    t0 = time.perf_counter()
    for r, s in pairs:
        rs = runsets[r]
        y, p = rs.label, rs.preds[s]
        for attr, sf in labels_cache[r].items():
            if case.num_classes == 2:
                d = flm.demographic_parity_difference(y, p, sensitive_features=sf)
                e = flm.equalized_odds_difference(y, p, sensitive_features=sf)
            else:  # Algorithm 1: one-vs-rest per class, then the mean over classes
                ds, es = [], []
                for c in range(case.num_classes):
                    yb, pb = (y == c).astype(int), (p == c).astype(int)
                    ds.append(flm.demographic_parity_difference(yb, pb, sensitive_features=sf))
                    es.append(flm.equalized_odds_difference(yb, pb, sensitive_features=sf))
                d, e = float(np.mean(ds)), float(np.mean(es))
            values[(r, s, attr)] = (d, e)
    elapsed = time.perf_counter() - t0
    return elapsed, values, m, case.n_runsets * case.n_seeds


def check(audits, values) -> float:
    worst = 0.0
    for (r, s, attr), (d, e) in values.items():
        res = audits[r][attr]
        worst = max(worst, abs(res.dpd_per_seed[s] - d), abs(res.eod_per_seed[s] - e))
    if not worst <= TOL:
        raise SystemExit(f"values disagree with fairlearn: max abs difference {worst:.3g} > {TOL}")
    return worst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--full", action="store_true", help="time every fairlearn call (slow)")
    ap.add_argument(
        "--fairlearn-share",
        type=float,
        default=None,
        help="share of (run set, seed) pairs run through fairlearn (default: "
        "a 0.2, b 0.4, c 0.2; 1.0 with --full)",
    )
    ap.add_argument("--repeat", type=int, default=10, help="repetitions of ours (best time kept)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    default_share = {"a": 0.2, "b": 0.4, "c": 0.2}
    ok = True
    print(f"{'case':<36} {'ours (s)':>10} {'fairlearn (s)':>14} {'speed-up':>10}  note")
    for key in args.cases:
        case = CASES[key]
        runsets = make_runsets(case, rng)
        share = 1.0 if args.full else (args.fairlearn_share or default_share[key])
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # any degenerate group would make this unfair: fail
            t_ours, audits = run_ours(runsets, args.repeat)
            t_fl, values, done, total = run_fairlearn(runsets, case, share)
        worst = check(audits, values)
        t_fl_full = t_fl * total / done
        speedup = t_fl_full / t_ours
        note = (
            f"fairlearn timed on {done}/{total} (run set, seed) pairs, scaled x{total / done:.2f}"
            if done < total
            else f"fairlearn: all {total} (run set, seed) pairs"
        )
        label = (
            f"({key}) {case.title}: N={case.n:,}, K={case.num_classes}, "
            f"{case.n_runsets} run set(s) x {case.n_seeds} seeds, "
            f"attrs {'/'.join(f'{a}:{g}' for a, g in case.attributes.items())}"
        )
        print(label)
        print(
            f"{'':<36} {t_ours:>10.4f} {t_fl_full:>14.3f} {speedup:>9.0f}x  {note}; "
            f"max |diff| {worst:.1e}"
        )
        if key in ("a", "c") and speedup < 200:
            ok = False
            print(f"{'':<36} below the 200x target")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
