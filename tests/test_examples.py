"""The worked examples in ``examples/`` run, write what they say, and agree with the library.

Each example runs as a user would run it: ``python examples/<name>.py`` in a subprocess from
the repository root, headless (``MPLBACKEND=Agg``), warnings as errors, outputs in ``tmp_path``.
Every shipped run set under ``examples/data/`` must pass validation.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kdbias_audit as ka
from kdbias_audit.io import read_predictions
from kdbias_audit.io.validate import validate_paths
from kdbias_audit.stats.disagreement import disagreement

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
DATA = EXAMPLES / "data"
TRIFEATURE = DATA / "trifeature"


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if "__pycache__" not in p.parts}


def run_example(
    script: str, *args: str, out: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<script>`` like a user, and check it wrote nothing into ``examples/``."""
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "KDAUDIT_EXAMPLE_OUT": str(out),
        "PYTHONHASHSEED": "0",
    }
    before = _tree(EXAMPLES)
    proc = subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLES / script), *args],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert _tree(EXAMPLES) == before, f"{script} wrote into the repository"
    return proc


needs_trifeature = pytest.mark.skipif(
    not (TRIFEATURE / "teacher").is_dir(), reason="no shipped Trifeature sweep"
)


# ---------------------------------------------------------------------------------------------
# shipped data
# ---------------------------------------------------------------------------------------------


def _sweep_roots() -> list[Path]:
    return (
        sorted(p for p in DATA.iterdir() if p.is_dir() and not p.name.startswith("."))
        if DATA.is_dir()
        else []
    )


@pytest.mark.parametrize("root", _sweep_roots(), ids=lambda p: p.name)
def test_shipped_sweep_validates(root):
    report = validate_paths([root])
    assert report.ok, "\n".join(report.problems)
    assert len(report.summaries) >= 3  # teacher, NDS and at least one DS
    for s in report.summaries:
        assert len(s["seeds"]) >= 2, s["path"]
    # and the sweep is usable as one: roles are unambiguous
    plan = ka.discover_sweep(root)
    assert plan.distilled


def test_shipped_data_exists():
    assert _sweep_roots(), "examples/data/ holds no sweep"


# ---------------------------------------------------------------------------------------------
# (a) quickstart
# ---------------------------------------------------------------------------------------------


def test_quickstart_is_percent_format():
    text = (EXAMPLES / "quickstart.py").read_text(encoding="utf-8")
    cells = re.split(r"^(# %%.*)$", text, flags=re.MULTILINE)
    headers = cells[1::2]
    assert sum(h.startswith("# %% [markdown]") for h in headers) >= 4
    assert sum(h.strip() == "# %%" for h in headers) >= 6
    for header, body in zip(headers, cells[2::2], strict=True):
        if header.startswith("# %% [markdown]"):  # prose only: every line a comment
            bad = [ln for ln in body.strip().splitlines() if ln.strip() and not ln.startswith("#")]
            assert not bad, bad


@needs_trifeature
def test_quickstart_runs(tmp_path):
    proc = run_example("quickstart.py", out=tmp_path)
    out = proc.stdout

    teacher, nds, ds = ka.load_runsets(
        [TRIFEATURE / "teacher", TRIFEATURE / "nds", TRIFEATURE / "ds_T4"]
    )
    cw = ka.classwise_test(nds, ds)
    m = re.search(r"NDS vs DS \(T=4\): (\d+) of (\d+) classes significant", out)
    assert m, out
    assert (int(m.group(1)), int(m.group(2))) == (cw.n_significant, 10)
    m = re.search(r"count p-value ([0-9.e-]+) over (\d+) splits", out)
    assert m and int(m.group(2)) == 252  # C(10, 5): 5 + 5 seeds, every split
    assert float(m.group(1)) == pytest.approx(cw.count_pvalue, rel=1e-2)

    # disagreement rates, checked against a brute-force count over seed pairs
    for who, rs in (("teacher vs NDS", nds), ("teacher vs DS (T=4)", ds)):
        rate = np.mean(
            [(teacher.preds[i] != rs.preds[i]).mean() for i in range(len(teacher.seeds))]
        )
        m = re.search(re.escape(who) + r": ([0-9.]+) ± ([0-9.]+) % of test samples", out)
        assert m, who
        assert float(m.group(1)) == pytest.approx(100 * rate, abs=0.006)
        assert float(m.group(1)) == pytest.approx(
            100 * disagreement(teacher, rs).rate_mean, abs=0.006
        )

    assert "dpd_mean" in out and "color" in out and "texture" in out  # fairness audit
    assert "| ds_T40 | DS | 40 |" in out  # the sweep table
    png = tmp_path / "disagreement_T4.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------------------------
# (b) third-party audit
# ---------------------------------------------------------------------------------------------


def test_third_party_audit(tmp_path):
    out = tmp_path / "tp"
    proc = run_example("third_party_audit.py", "--out", str(out), "--seeds", "3", out=tmp_path)
    a_dir, b_dir = out / "teacher_rf", out / "student_mlp"
    assert sorted(p.name for p in a_dir.iterdir()) == [
        "seed0.parquet",
        "seed1.parquet",
        "seed2.parquet",
    ]
    assert sorted(p.name for p in b_dir.iterdir()) == [
        "seed0.parquet",
        "seed1.parquet",
        "seed2.parquet",
    ]

    # the files pass `kdaudit validate`, run as a separate process
    cli = [sys.executable, "-c", "from kdbias_audit.cli import main; main()"]
    val = subprocess.run(
        [*cli, "validate", str(a_dir), str(b_dir)],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert val.returncode == 0, val.stderr
    assert validate_paths([a_dir, b_dir]).ok

    run = read_predictions(b_dir / "seed1.parquet")
    assert run.num_classes == 10 and run.seed == 1
    assert set(run.group_levels["ink"]) == {"heavy", "light"}
    assert run.metadata["dataset"] == "sklearn-digits"
    assert run.metadata["class_names"] == [str(i) for i in range(10)]

    # the JSON parses and agrees with an audit done here from the files
    result = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    a, b = ka.load_runsets([a_dir, b_dir])
    assert result["format_version"] == 1
    assert result["a"]["seeds"] == [0, 1, 2] and result["b"]["seeds"] == [0, 1, 2]
    acc_b = (b.preds == b.label).mean(axis=1)
    assert result["b"]["accuracy"]["mean"] == pytest.approx(acc_b.mean(), abs=1e-12)
    cw = ka.classwise_test(a, b)
    assert result["classwise"]["n_classes"] == 10
    assert result["classwise"]["n_significant"] == cw.n_significant
    assert result["classwise"]["n_permutations"] == 20  # C(6, 3)
    rate = np.mean([(a.preds[i] != b.preds[i]).mean() for i in range(3)])
    assert result["disagreement"]["rate"]["mean"] == pytest.approx(rate, abs=1e-12)
    assert set(result["fairness"]) == {"ink"}
    assert 0.0 <= result["fairness"]["ink"]["a"]["dpd"]["mean"] <= 1.0

    text = proc.stdout
    assert f"{cw.n_significant} of 10 classes significant" in text
    assert f"kdaudit compare {a_dir} {b_dir}" in text


# ---------------------------------------------------------------------------------------------
# (c) paper table and figure
# ---------------------------------------------------------------------------------------------


@needs_trifeature
def test_paper_table_and_figure(tmp_path):
    out = tmp_path / "paper"
    proc = run_example(
        "paper_table_and_figure.py", str(TRIFEATURE), "--out", str(out), "--dpi", "60", out=tmp_path
    )
    tex = (out / "tables.tex").read_text(encoding="utf-8")
    for text in (proc.stdout, tex):
        assert text.count("\\begin{tabular}") == 2  # class bias + fairness
        assert "\\toprule" in text and "\\midrule" in text and "\\bottomrule" in text
        assert "EOD color" in text and "DPD texture" in text

    # the DS T=4 row carries #SC and #TC computed here from the files
    nds, ds, teacher = ka.load_runsets(
        [TRIFEATURE / "nds", TRIFEATURE / "ds_T4", TRIFEATURE / "teacher"]
    )
    n_sc = ka.classwise_test(nds, ds).n_significant
    n_tc = ka.classwise_test(teacher, ds).n_significant
    acc = 100 * (ds.preds == ds.label).mean(axis=1)
    row = next(line for line in tex.splitlines() if line.startswith("ds\\_T4 &"))
    cells = [c.strip() for c in row.rstrip("\\ ").split("&")]
    assert cells[2] == "4"
    # LaTeX writes ± as math since issue 16 (it compiles without a unicode package)
    assert cells[3] == f"{acc.mean():.2f} $\\pm$ {acc.std(ddof=1):.2f}"
    assert (cells[4], cells[5]) == (str(n_sc), str(n_tc))

    for stem in ("fig3_significance", "fig4_fairness_color", "fig4_fairness_texture"):
        png, pdf = (out / f"{stem}.png").read_bytes(), (out / f"{stem}.pdf").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000, stem
        assert pdf[:5] == b"%PDF-" and len(pdf) > 5_000, stem


# ---------------------------------------------------------------------------------------------
# (d) checkpoints to an audit: producers.predict + kdaudit compare
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.torch
def test_predict_and_audit(tmp_path):
    pytest.importorskip("timm")
    pytest.importorskip("transformers")
    out = tmp_path / "pa"
    proc = run_example("predict_and_audit.py", "--out", str(out), out=tmp_path, timeout=400)
    text = proc.stdout
    seeds = [0]  # one checkpoint per side, compared with --method samples
    for audit, classes, attrs in (
        ("images_audit", ["circle", "cross", "square", "stripes"], {"background"}),
        ("text_audit", ["negative", "positive"], {"dialect", "gender"}),
    ):
        a_dir, b_dir = out / audit / "teacher", out / audit / "student"
        assert sorted(p.name for p in b_dir.iterdir()) == [f"seed{s}.parquet" for s in seeds]
        assert validate_paths([a_dir, b_dir]).ok
        ta, st = (
            read_predictions(a_dir / "seed0.parquet"),
            read_predictions(b_dir / "seed0.parquet"),
        )
        assert ta.metadata["role"] == "teacher" and st.metadata["role"] == "distilled"
        assert st.metadata["temperature"] == 4
        assert ta.metadata["class_names"] == classes == st.metadata["class_names"]
        assert set(ta.groups) == attrs == set(st.groups)
        assert list(ta.sample_id) == list(st.sample_id)  # aligned by id
        assert len(ta.metadata["weights_sha256"]) >= 1
        result = json.loads((out / audit / "comparison.json").read_text(encoding="utf-8"))
        assert result["classwise"]["n_classes"] == len(classes)
        assert result["method"] == "samples"
        assert "python -m producers.predict --model" in text
        assert f"compare {a_dir} {b_dir}" in text
    assert read_predictions(out / "images_audit" / "teacher" / "seed0.parquet").sample_id[0] == (
        "circle/00.png"
    )
    assert (
        read_predictions(out / "text_audit" / "teacher" / "seed0.parquet").sample_id[0] == "post000"
    )
