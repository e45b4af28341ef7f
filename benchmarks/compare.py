"""``kdaudit compare`` benchmark (issues 3 and 15): whole process vs a bare pyarrow read, peak
memory, 10 vs 20 files, and the statistics alone.

Writes two run sets (A and B, float32 logits) with the largest ``--seeds`` count per side to a
temporary directory; smaller seed counts use the first files (symlinks). For each seed count,
interleaved ``--repeats`` times, each in a fresh subprocess:

  (a) bare read: ``pyarrow.parquet.read_table`` of the 2 x seeds files (all columns, all cores);
  (b) ``kdaudit compare A B --out FILE`` (table) and ``--format json``: the whole process
      (interpreter start, imports, reading, statistics, rendering, writing).

Each line gives wall seconds (best of the repeats) and the child's peak RSS (``ru_maxrss`` from
``os.wait4``, largest of the repeats). Then, on loaded run sets: (c) the statistics alone
(Welch tests, BH, all C(2S, S) permutation splits, disagreement) and the compact JSON of the
result.

Targets (issue 15): (b)/(a) <= 1.5 at ImageNet scale; peak RSS of (b) <= 600 MB and within 10 %
between 10 and 20 files; JSON of a 1,000-class comparison <= 0.15 s. (c) < 2 s (issue 3).

    python benchmarks/compare.py                     # --scale small: 10,000 x 100
    python benchmarks/compare.py --scale imagenet    # 50,000 x 1,000, 5 and 10 seeds per side (~4 GB in $TMPDIR)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from _proc import bare_read_command, best_of, kdaudit_command, run_measured

SCALES = {
    "small": {"n": 10_000, "classes": 100},
    "imagenet": {"n": 50_000, "classes": 1_000},
}

CHILD_STATS = r"""
import json, sys, time
from kdbias_audit import compare, load_runsets, permutation_count_test, seed_accuracies
try:
    from kdbias_audit.render.formats import to_json
except ImportError:
    from kdbias_audit._render import to_json
a, b = load_runsets(sys.argv[1:3])
repeats = int(sys.argv[3])
def best(fn):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter(); out = fn(); times.append(time.perf_counter() - t0)
    return min(times), out
t_cmp, res = best(lambda: compare(a, b))
ra = seed_accuracies(a.label, a.preds, a.num_classes).relative_accuracy
rb = seed_accuracies(b.label, b.preds, b.num_classes).relative_accuracy
t_perm, perm = best(lambda: permutation_count_test(ra, rb))
t_json, text = best(lambda: to_json(res.to_dict(), indent=None))
print(json.dumps({"compare": t_cmp, "permutations": t_perm, "json": t_json, "json_mb": len(text) / 1e6,
                  "n_permutations": perm.n_permutations,
                  "n_significant": res.classwise.n_significant,
                  "n_significant_fdr": res.classwise.n_significant_fdr,
                  "count_pvalue": res.classwise.count_pvalue,
                  "expected_false_positives": res.classwise.expected_false_positives,
                  "disagreement": res.disagreement.rate_mean}))
"""


def write_side(root: Path, rng, y, n_classes, seeds, acc, hurt, hurt_acc):
    import numpy as np

    from kdbias_audit import write_predictions

    n = y.shape[0]
    target = np.full(n_classes, acc)
    target[hurt] = hurt_acc
    for s in range(seeds):
        z = rng.standard_normal((n, n_classes), dtype=np.float32)
        correct = rng.random(n) < target[y]
        z[np.flatnonzero(correct), y[correct]] += 6.0  # argmax is the label for these rows
        write_predictions(
            root / f"seed{s}.parquet",
            y_true=y,
            logits=z,
            seed=s,
            num_classes=n_classes,
            metadata={"role": root.name},
        )


def subset(root: Path, side: str, seeds: int, out: Path) -> Path:
    """A run set of the first ``seeds`` files of ``root/side`` (symlinks)."""
    d = out / f"{side}{seeds}" / side
    d.mkdir(parents=True, exist_ok=True)
    for s in range(seeds):
        (d / f"seed{s}.parquet").symlink_to(root / side / f"seed{s}.parquet")
    return d


def write_data(root: Path, n: int, c: int, seeds: int) -> int:
    """Run sets A and B (B hurts 5 % of the classes); returns the number of planted classes."""
    import numpy as np

    rng = np.random.default_rng(0)
    y = np.arange(n) % c
    rng.shuffle(y)
    hurt = rng.choice(c, size=max(1, c // 20), replace=False)
    write_side(root / "A", rng, y, c, seeds, 0.75, hurt, 0.75)
    write_side(root / "B", rng, y, c, seeds, 0.75, hurt, 0.55)
    return len(hurt)


def main() -> None:
    if sys.argv[1:2] == ["--write"]:
        root, n, c, seeds = Path(sys.argv[2]), *map(int, sys.argv[3:6])
        print(write_data(root, n, c, seeds))
        return
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--scale", choices=sorted(SCALES), default="small")
    ap.add_argument("--n", type=int, help="samples (overrides --scale)")
    ap.add_argument("--classes", type=int, help="classes (overrides --scale)")
    ap.add_argument(
        "--seeds",
        default="5,10",
        help="seeds per side, comma-separated (default 5,10: 10 vs 20 files)",
    )
    ap.add_argument("--repeats", type=int, default=2, help="best of N for each timing")
    ap.add_argument("--dir", type=Path, help="where to write the run sets (default: a temp dir)")
    args = ap.parse_args()
    n = args.n or SCALES[args.scale]["n"]
    c = args.classes or SCALES[args.scale]["classes"]
    seed_counts = sorted({int(s) for s in args.seeds.split(",")})

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        # written by a child: this process stays small, since a child's ru_maxrss starts from
        # the parent's resident size at fork
        planted = json.loads(
            run_measured(
                [
                    sys.executable,
                    __file__,
                    "--write",
                    str(root),
                    str(n),
                    str(c),
                    str(seed_counts[-1]),
                ]
            ).stdout
        )
        one = (root / "A" / "seed0.parquet").stat().st_size
        print(
            f"data: 2 run sets x {seed_counts[-1]} seeds, {n} x {c} float32 logits per file "
            f"({one / 2**20:.0f} MiB per file on disk; written in {time.perf_counter() - t0:.1f} s)"
        )
        kd = kdaudit_command()
        results = {}
        for s in seed_counts:
            a, b = subset(root, "A", s, root / "sets"), subset(root, "B", s, root / "sets")
            files = [str(p) for d in (a, b) for p in sorted(d.glob("*.parquet"))]
            out_t, out_j = root / f"compare{s}.txt", root / f"compare{s}.json"
            runs: dict[str, list] = {"read": [], "table": [], "json": []}
            for _ in range(args.repeats):  # interleaved, so all see the same page-cache state
                runs["read"].append(run_measured(bare_read_command(files)))
                runs["table"].append(
                    run_measured([*kd, "compare", str(a), str(b), "--out", str(out_t)])
                )
                runs["json"].append(
                    run_measured(
                        [*kd, "compare", str(a), str(b), "--format", "json", "--out", str(out_j)]
                    )
                )
            best = {}
            for key, ms in runs.items():
                m = min(ms, key=lambda m: m.seconds)
                best[key] = (m.seconds, max(x.peak_rss_mib for x in ms))
            results[s] = best
            (ra, rr), (ta, tr), (ja, jr) = best["read"], best["table"], best["json"]
            print(f"{2 * s} files ({s} seeds per side):")
            print(
                f"  (a) bare pyarrow read_table, whole process:   {ra:7.2f} s   peak RSS {rr:6.0f} MiB"
            )
            print(
                f"  (b) kdaudit compare A B --out FILE (table):    {ta:7.2f} s   peak RSS {tr:6.0f} MiB   "
                f"ratio (b)/(a) = {ta / ra:.2f} (target <= 1.5)"
            )
            print(
                f"      kdaudit compare --format json:            {ja:7.2f} s   peak RSS {jr:6.0f} MiB   "
                f"ratio = {ja / ra:.2f}"
            )
        if len(seed_counts) > 1:
            lo, hi = seed_counts[0], seed_counts[-1]
            r_lo = max(results[lo]["table"][1], results[lo]["json"][1])
            r_hi = max(results[hi]["table"][1], results[hi]["json"][1])
            print(
                f"peak RSS of compare, {2 * hi} vs {2 * lo} files: {r_hi:.0f} vs {r_lo:.0f} MiB "
                f"({100 * (r_hi / r_lo - 1):+.1f} %; target within 10 %, and <= 600 MB)"
            )
        a, b = (
            root / "sets" / f"A{seed_counts[0]}" / "A",
            root / "sets" / f"B{seed_counts[0]}" / "B",
        )
        stats = json.loads(
            best_of([sys.executable, "-c", CHILD_STATS, str(a), str(b), "3"], 1).stdout
        )
        doc = json.loads((root / f"compare{seed_counts[0]}.json").read_text())
        assert doc["classwise"]["n_permutations"] == stats["n_permutations"]
        print(
            f"(c) statistics only, compare(a, b) on loaded run sets: {stats['compare']:.3f} s "
            f"(target < 2 s); permutation test alone ({stats['n_permutations']} splits x {c} classes): "
            f"{stats['permutations']:.3f} s"
        )
        print(
            f"    JSON of the result (to_dict + compact to_json, {stats['json_mb']:.1f} MB): "
            f"{stats['json']:.3f} s (target <= 0.15 s at 1,000 classes)"
        )
        print(
            f"    result: {stats['n_significant']} significant classes (BH {stats['n_significant_fdr']}) "
            f"of {c}, {planted} planted; count p = {stats['count_pvalue']:.4g}, expected false "
            f"positives {stats['expected_false_positives']:.2f}; disagreement {100 * stats['disagreement']:.2f}%"
        )


if __name__ == "__main__":
    main()
