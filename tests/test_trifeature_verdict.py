"""examples/trifeature_verdict.py: claims, noise floor and the RESULTS/README pages.

The sweeps here are generated with planted effects (Trifeature-shaped: 10 shapes x 10 colours x
10 textures, balanced): DS students more accurate than the NDS, a colour effect on accuracy that
shrinks from T = 1 to T = 10 and grows again at T = 40, or no effect at all.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kdbias_audit import read_predictions
from kdbias_audit.io import write_predictions

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "examples" / "trifeature_verdict.py"
COLORS = [f"c{i}" for i in range(10)]
TEXTURES = [f"t{i}" for i in range(10)]


def _load_script():
    spec = importlib.util.spec_from_file_location("trifeature_verdict", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["trifeature_verdict"] = mod
    spec.loader.exec_module(mod)
    return mod


verdict = _load_script()


def _design(blocks: int):
    """Labels and groups: every (shape, colour, texture) once per block of 1,000."""
    k = np.arange(1000 * blocks) % 1000
    return k % 10, (k // 10) % 10, k // 100


def _write_runset(root, name, y, color, texture, acc, penalty, seeds, meta, rng_seed):
    for s in seeds:
        rng = np.random.default_rng([rng_seed, s])
        p = np.clip(acc + rng.normal(0, 0.003) - penalty * (color == 0), 0, 1)
        right = rng.random(y.size) < p
        wrong = (y + rng.integers(1, 10, y.size)) % 10
        write_predictions(
            root / name / f"seed{s}.parquet",
            y_true=y,
            y_pred=np.where(right, y, wrong),
            groups={"color": np.array(COLORS)[color], "texture": np.array(TEXTURES)[texture]},
            seed=s,
            num_classes=10,
            metadata={"class_names": [f"s{i}" for i in range(10)], **meta},
        )


def make_sweep(root: Path, *, planted: bool, blocks: int = 3, seeds=(0, 1, 2)) -> Path:
    y, color, texture = _design(blocks)
    common = {"model": "lenet5", "epochs": 30, "lr": 0.1, "grad_clip": 1.0, "image_size": 32}
    common |= {"train_size": 20000, "test_size": y.size, "batch_size": 64, "weight_decay": 0.001}
    _write_runset(root, "teacher", y, color, texture, 0.99, 0.0, seeds, {"role": "teacher"}, 1)
    nds_pen = 0.3 if planted else 0.0
    _write_runset(
        root, "nds", y, color, texture, 0.85, nds_pen, seeds, common | {"role": "baseline"}, 2
    )
    for t in (1.0, 4.0, 7.0, 10.0, 40.0):
        pen = ({1.0: 0.3, 4.0: 0.2, 7.0: 0.1, 10.0: 0.0, 40.0: 0.3}[t]) if planted else 0.0
        acc = 0.90 if planted else 0.85
        meta = common | {"role": "distilled", "temperature": t, "alpha": 0.8}
        _write_runset(root, f"ds_T{t:g}", y, color, texture, acc, pen, seeds, meta, 3 + int(t))
    return root


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = make_sweep(tmp_path_factory.mktemp("planted"), planted=True)
    return root, verdict.analyze(root, sims=200)


def test_planted_effects_are_found(planted):
    _, a = planted
    ds = [m for m in a["models"] if "vs_nds" in m]
    assert len(ds) == 5 and all(m["vs_nds"]["verdict"] == "supported" for m in ds)
    claims = {c["claim"]: c for c in a["claims"]}
    # an accuracy penalty in one colour moves TPRs (EOD), hardly selection rates (DPD): wrong
    # predictions are spread over the other classes, so only EOD is checked here
    c = claims["EOD color decreases from T = 1 to T = 10"]
    assert c["verdict"] == "supported" and c["p_one_sided"] < 1e-4
    assert claims["EOD color rises again at high T (T = 40 vs T = 10)"]["verdict"] == "supported"
    # texture carries no effect of its own, but its EOD noise shrinks as accuracy rises (T = 1
    # is the least accurate DS), so a Spearman trend is possible; the noise floor tells them
    # apart: colour at T = 1 is beyond noise on every seed, texture stays at its floor
    ds1 = next(m for m in a["models"] if m["key"] == 1.0)
    floor_c = a["noise_floor"]["color"]["DS T=1"]
    floor_t = a["noise_floor"]["texture"]["DS T=1"]
    assert floor_c["eod_beyond"] == floor_c["seeds"] == 3
    assert max(floor_c["eod_p"]) < 0.01
    assert floor_t["eod_beyond"] <= 1
    # beyond the floor the colour trend stays and texture's (noise of the error count) goes
    beyond = "EOD {} beyond its noise floor decreases from T = 1 to T = 10"
    assert claims[beyond.format("color")]["verdict"] == "supported"
    assert claims[beyond.format("texture")]["verdict"] != "supported"
    assert claims[beyond.format("texture")]["p_one_sided"] > 0.05
    # while the raw texture trend is "supported": an artefact of the error count
    assert claims["EOD texture decreases from T = 1 to T = 10"]["p_one_sided"] < 0.05
    assert np.mean(ds1["fairness"]["texture"]["eod"]) == pytest.approx(
        floor_t["eod_mean"], rel=0.25
    )
    assert a["cells"]["color"] == {"min": 30, "max": 30}
    assert a["training"]["low_runs"] == []
    # the NDS carries the colour penalty of T = 1 and T = 40 (0.3); T = 10 has none, so only
    # there (and at T = 4, 7) is the DS fairer than the NDS
    by_t = {m["key"]: m["fair_vs_nds"]["color"]["eod"] for m in ds}
    assert by_t[10.0]["verdict"] == "supported" and by_t[10.0]["diff"] > 0
    assert by_t[1.0]["verdict"] != "supported" and by_t[40.0]["verdict"] != "supported"
    overall = claims["DS accuracy > NDS, averaged over T (paired by seed)"]
    assert overall["verdict"] == "supported"
    pooled = claims["DS EOD color < NDS, averaged over T (paired by seed)"]
    assert pooled["p_one_sided"] < 0.05


def test_statistics_match_scipy(planted):
    from scipy import stats

    root, a = planted
    nds = [read_predictions(root / "nds" / f"seed{s}.parquet").accuracy for s in (0, 1, 2)]
    ds = [read_predictions(root / "ds_T4" / f"seed{s}.parquet").accuracy for s in (0, 1, 2)]
    m = next(m for m in a["models"] if m["key"] == 4.0)
    want = stats.ttest_ind(ds, nds, equal_var=False, alternative="greater").pvalue
    assert m["vs_nds"]["p_one_sided"] == pytest.approx(want, rel=1e-12)
    t, y = [1, 2, 3, 4, 5, 6, 7], [7, 5, 6, 3, 4, 1, 2]
    rho, one, two = verdict.spearman_decrease(t, y)
    assert rho == pytest.approx(stats.spearmanr(t, y).statistic) and rho < 0
    assert one == pytest.approx(two / 2) and two == pytest.approx(stats.spearmanr(t, y).pvalue)
    assert verdict._decide(-1.0, 0.9, 0.01, 0.05) == "contradicted"
    assert verdict._decide(1.0, 0.2, 0.4, 0.05) == "not shown"


def test_noise_floor_is_calibrated(tmp_path):
    # no group effect anywhere: the observed EOD/DPD must look like draws from the floor
    root = make_sweep(tmp_path, planted=False, blocks=2, seeds=(0, 1, 2, 3, 4, 5))
    a = verdict.analyze(root, sims=400)
    obs_eod, obs_dpd, floor_eod, floor_dpd, p_eod, p_dpd = [], [], [], [], [], []
    for m in a["models"]:
        if m["key"] == "Teacher":
            continue
        key = "NDS" if m["key"] == "NDS" else f"DS T={m['key']:g}"
        fl = a["noise_floor"]["color"][key]
        obs_eod += m["fairness"]["color"]["eod"]
        obs_dpd += m["fairness"]["color"]["dpd"]
        floor_eod.append(fl["eod_mean"])
        floor_dpd.append(fl["dpd_mean"])
        p_eod += fl["eod_p"]
        p_dpd += fl["dpd_p"]
    # 36 null seed-level values: their mean within 10 % of the floor's mean, and about 5 % of
    # their noise p-values at or below 0.05 (at most 6 of 36 allowed, for EOD and for DPD)
    assert np.mean(obs_eod) == pytest.approx(np.mean(floor_eod), rel=0.1)
    assert np.mean(obs_dpd) == pytest.approx(np.mean(floor_dpd), rel=0.1)
    assert len(p_eod) == len(p_dpd) == 36
    assert np.sum(np.array(p_eod) <= 0.05) <= 6
    assert np.sum(np.array(p_dpd) <= 0.05) <= 6


def test_command_line_writes_pages(planted, tmp_path):
    root, _ = planted
    out = tmp_path / "o"
    notes = tmp_path / "notes.md"
    notes.write_text("## Another sizing\n\nWritten by hand.\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            str(SCRIPT),
            str(root),
            "--sims",
            "100",
            "--out",
            str(out / "verdict.md"),
            "--json",
            str(out / "v.json"),
            "--results",
            str(out / "RESULTS.md"),
            "--readme",
            str(out / "README.md"),
            "--device-note",
            "One test machine.",
            "--notes",
            str(notes),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    md = (out / "verdict.md").read_text()
    assert md in proc.stdout and "| DS | 4 | 92.61 ± 0.17 |" in md  # the paper's number
    results = (out / "RESULTS.md").read_text()
    assert "## Verdicts" in results and "figures/fig4_fairness_color.png" in results
    assert "supported" in results and md in results
    # the hand-written notes sit between the verdicts and the tables
    assert (
        results.index("## Verdicts")
        < results.index("## Another sizing")
        < results.index("## Tables")
    )
    readme = " ".join((out / "README.md").read_text().split())
    assert "clipped at 1.0" in readme
    assert "One test machine." in readme and "3,000 test images" in readme
    assert json.loads((out / "v.json").read_text())["seeds"] == [0, 1, 2]
    bad = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert bad.returncode == 1 and bad.stderr.startswith("error:")
    assert "Traceback" not in bad.stderr


def _eod_and_floor(rng, acc: float, penalty: float, n: int = 2000, groups: int = 5):
    """One model's one-vs-rest EOD and its label-conditional noise floor (10 balanced classes,
    ``groups`` balanced groups, group 0 ``penalty`` less accurate)."""
    from kdbias_audit.fairness.uncertainty import disparity_uncertainty

    y = np.arange(n) % 10
    g = (np.arange(n) // 10) % groups
    right = rng.random(n) < np.clip(acc - penalty * (g == 0), 0, 1)
    pred = np.where(right, y, (y + rng.integers(1, 10, n)) % 10)
    u = disparity_uncertainty(
        y,
        pred,
        g,
        groups,
        mode="one-vs-rest",
        num_classes=10,
        n_resamples=100,
        interval=False,
        dpd_null="labels",
        random_state=int(rng.integers(2**31)),
    )
    return u.eod.statistic, u.eod.noise_floor


def _trend_pvalues(seed: int, penalty_at_t1: float) -> tuple[float, float]:
    """One-sided p of "EOD decreases from T = 1 to T = 10", raw and beyond the floor, for 3 seeds
    x 10 temperatures whose accuracy rises with T (0.80 -> 0.935) and whose group-0 penalty
    shrinks linearly from ``penalty_at_t1`` to 0."""
    rng = np.random.default_rng(seed)
    ts = np.repeat(np.arange(1, 11), 3).astype(float)
    v = np.array(
        [_eod_and_floor(rng, 0.80 + 0.015 * (t - 1), penalty_at_t1 * (10 - t) / 9) for t in ts]
    )
    raw = verdict.spearman_decrease(ts, v[:, 0])[1]
    beyond = verdict.spearman_decrease(ts, v[:, 0] - v[:, 1])[1]
    return raw, beyond


def test_trend_beyond_the_noise_floor_is_calibrated_where_the_raw_trend_is_not():
    # no group effect at all, accuracy rising with T: the raw EOD falls with T because the
    # noise of fewer errors does (measured: 200 of 200 replicates "supported"); the same trend
    # of EOD minus its floor rejects at about the nominal rate (measured 3.0 %)
    null = np.array([_trend_pvalues(s, 0.0) for s in range(200)])
    assert (null[:, 0] <= 0.05).mean() > 0.9
    fpr = (null[:, 1] <= 0.05).mean()
    assert fpr <= 0.08  # 5 % nominal; 0.08 is about 2 binomial SEs above it at 200 replicates
    # power: a group-0 penalty at T = 1 shrinking to 0 at T = 10; measured over these 60
    # replicates: 6 points 32 %, 8 points 68 %, 12 points 100 %
    power = np.mean([_trend_pvalues(1000 + s, 0.08)[1] <= 0.05 for s in range(60)])
    assert 0.5 <= power
