"""``kdaudit compare`` benchmark (issue 3): total command time vs a bare pyarrow read, and the
statistics alone (all permutation splits included).

Writes two run sets (A and B, ``--seeds`` files each, float32 logits) to a temporary directory,
then measures, each in a fresh subprocess so the page cache is the only thing shared:

  (a) bare read: ``pyarrow.parquet.read_table`` of the 2 x seeds files (all columns);
  (b) ``kdaudit compare A B --out FILE`` (the default table format) and the same with
      ``--format json``, run in-process through the typer app (the same code path as the
      console script: load_runsets -> compare -> render), timed around the command; the
      subprocess wall time (interpreter start and imports included) is printed too;
  (c) statistics only, on run sets already in memory: ``compare(a, b)`` (Welch tests, BH, all
      C(2S, S) permutation splits, disagreement), best of 3, and the permutation part alone.

Targets: (b) <= 1.5 x (a); (c) < 2 s.

    python benchmarks/compare.py                     # --scale small: 10,000 x 100, seconds
    python benchmarks/compare.py --scale imagenet    # 50,000 x 1,000, 5 seeds per side (~2 GB in $TMPDIR)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SCALES = {
    "small": {"n": 10_000, "classes": 100},
    "imagenet": {"n": 50_000, "classes": 1_000},
}

CHILD_READ = r"""
import json, sys, time
from pathlib import Path
import pyarrow.parquet as pq
import pyarrow.dataset  # read_table imports it (and pandas) on first use: not part of the read
files = [Path(p) for p in sys.argv[1:]]
t0 = time.perf_counter()
for f in files:
    t = pq.read_table(f)
    del t
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""

CHILD_COMPARE = r"""
import json, os, sys, time
from kdbias_audit.cli import app
if os.environ.get("KDBENCH_PREIMPORT"):  # isolate the work from one-off module imports
    import pandas, pyarrow.parquet, rich.table, scipy.special  # noqa: F401
    import kdbias_audit.comparison, kdbias_audit.io, kdbias_audit.render.formats  # noqa: F401
t0 = time.perf_counter()
try:
    app(["compare", *sys.argv[1:]], standalone_mode=False)
except SystemExit as exc:
    if exc.code:
        raise
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""

CHILD_STATS = r"""
import json, sys, time
import numpy as np
from kdbias_audit.io import load_runsets
from kdbias_audit.comparison import compare
from kdbias_audit import seed_accuracies, permutation_count_test
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
print(json.dumps({"compare": t_cmp, "permutations": t_perm, "n_permutations": perm.n_permutations,
                  "n_significant": res.classwise.n_significant,
                  "n_significant_fdr": res.classwise.n_significant_fdr,
                  "count_pvalue": res.classwise.count_pvalue,
                  "expected_false_positives": res.classwise.expected_false_positives,
                  "disagreement": res.disagreement.rate_mean}))
"""


def run_child(code: str, *args: str, env: dict | None = None) -> tuple[dict, float]:
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=None if env is None else {**os.environ, **env},
    )
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"child failed ({out.returncode}):\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1]), wall


def write_side(root: Path, rng, y, n_classes, seeds, acc, hurt, hurt_acc):
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


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--scale", choices=sorted(SCALES), default="small")
    ap.add_argument("--n", type=int, help="samples (overrides --scale)")
    ap.add_argument("--classes", type=int, help="classes (overrides --scale)")
    ap.add_argument("--seeds", type=int, default=5, help="seeds per side (default 5: 252 splits)")
    ap.add_argument("--repeats", type=int, default=2, help="best of N for each timing")
    ap.add_argument("--dir", type=Path, help="where to write the run sets (default: a temp dir)")
    args = ap.parse_args()
    n = args.n or SCALES[args.scale]["n"]
    c = args.classes or SCALES[args.scale]["classes"]

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        y = np.arange(n) % c
        rng.shuffle(y)
        hurt = rng.choice(c, size=max(1, c // 20), replace=False)
        t0 = time.perf_counter()
        write_side(root / "A", rng, y, c, args.seeds, 0.75, hurt, 0.75)
        write_side(root / "B", rng, y, c, args.seeds, 0.75, hurt, 0.55)
        files = sorted((root / "A").glob("*.parquet")) + sorted((root / "B").glob("*.parquet"))
        size = sum(f.stat().st_size for f in files)
        print(
            f"data: 2 run sets x {args.seeds} seeds, {n} x {c} float32 logits per file "
            f"({len(files)} files, {size / 2**20:.0f} MiB on disk; written in {time.perf_counter() - t0:.1f} s)"
        )

        out_json, out_table = root / "compare.json", root / "compare.txt"
        base = [str(root / "A"), str(root / "B")]
        reads, tables, jsons, warm = [], [], [], []
        for _ in range(args.repeats):  # interleaved, so all see the same page-cache state
            reads.append(run_child(CHILD_READ, *map(str, files)))
            tables.append(run_child(CHILD_COMPARE, *base, "--out", str(out_table)))
            jsons.append(
                run_child(CHILD_COMPARE, *base, "--format", "json", "--out", str(out_json))
            )
            warm.append(
                run_child(
                    CHILD_COMPARE, *base, "--out", str(out_table), env={"KDBENCH_PREIMPORT": "1"}
                )
            )
        read_s = min(r[0]["seconds"] for r in reads)
        table_s, table_wall = min(r[0]["seconds"] for r in tables), min(r[1] for r in tables)
        json_s, json_wall = min(r[0]["seconds"] for r in jsons), min(r[1] for r in jsons)
        warm_s = min(r[0]["seconds"] for r in warm)
        stats, _ = run_child(CHILD_STATS, str(root / "A"), str(root / "B"), "3")
        doc = json.loads(out_json.read_text())
        assert doc["classwise"]["n_permutations"] == stats["n_permutations"]

        print(f"(a) bare pyarrow read_table of {len(files)} files: {read_s:8.3f} s")
        print(
            f"(b) kdaudit compare A B (table) --out FILE: {table_s:8.3f} s   ratio (b)/(a) = "
            f"{table_s / read_s:.2f} (target <= 1.5); subprocess wall incl. interpreter start "
            f"and imports {table_wall:.3f} s, ratio {table_wall / read_s:.2f}"
        )
        print(
            f"    same, modules imported before timing:  {warm_s:8.3f} s   ratio = {warm_s / read_s:.2f}"
        )
        print(
            f"    kdaudit compare A B --format json:     {json_s:8.3f} s   ratio = "
            f"{json_s / read_s:.2f}; subprocess wall {json_wall:.3f} s, ratio {json_wall / read_s:.2f}"
        )
        print(
            f"(c) statistics only, compare(a, b) on loaded run sets: {stats['compare']:.3f} s "
            f"(target < 2 s); permutation test alone ({stats['n_permutations']} splits x {c} classes): "
            f"{stats['permutations']:.3f} s"
        )
        print(
            f"    result: {stats['n_significant']} significant classes (BH {stats['n_significant_fdr']}) "
            f"of {c}, {len(hurt)} planted; count p = {stats['count_pvalue']:.4g}, expected false "
            f"positives {stats['expected_false_positives']:.2f}; disagreement {100 * stats['disagreement']:.2f}%"
        )


if __name__ == "__main__":
    main()
