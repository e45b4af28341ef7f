"""Batched training (K runs as one wide network) equals K unbatched runs, in float64."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from producers.batched import (  # noqa: E402
    BatchedTrainer,
    batchable,
    build_wide,
    load_run,
    run_state_dict,
    widen,
)
from producers.data.trifeature import load_trifeature  # noqa: E402
from producers.gpu import DeviceData  # noqa: E402
from producers.kd import kd_loss  # noqa: E402
from producers.models import build_model  # noqa: E402
from producers.train import Trainer  # noqa: E402

STEPS = 20
BATCH = 8
CPU = torch.device("cpu")
RECIPE = dict(total_steps=STEPS, batch_size=BATCH, padding=2, hflip=True, lr=0.05)


@pytest.fixture(scope="module")
def data():
    d = load_trifeature(image_size=8, train_size=40, test_size=12, seed=0)
    mean, std = d.channel_stats()

    def dev(split):
        return DeviceData(
            split.images, split.labels, mean=mean, std=std, device=CPU, dtype=torch.float64
        )

    return dev(d.train), dev(d.test)


def _init(arch, seed):
    """A run's initial weights, as train_run makes them."""
    torch.manual_seed(seed)
    return build_model(arch, num_classes=10).double()


def _train_single(model, train, *, seed, teacher=None, temperature=None, alpha=None, clip=None):
    tr = Trainer(
        model,
        train,
        device=CPU,
        seed=seed,
        teacher=teacher,
        temperature=temperature,
        alpha=alpha,
        grad_clip=clip,
        **RECIPE,
    )
    steps = 0
    while steps < STEPS:
        tr.model.train()
        for x, y in train.train_batches(BATCH, padding=2, hflip=True, generator=tr.generator):
            tr.train_step(x, y)
            steps += 1
            if steps == STEPS:
                break
    return tr


def _train_batched(
    wide, train, *, seeds, teacher=None, temperatures=None, alpha=None, strategy="wide", clip=None
):
    tr = BatchedTrainer(
        wide,
        train,
        device=CPU,
        seeds=seeds,
        teacher=teacher,
        temperatures=temperatures,
        alpha=alpha,
        strategy=strategy,
        grad_clip=clip,
        **RECIPE,
    )
    steps = 0
    while steps < STEPS:
        tr.model.train()
        for x, y in tr.epoch_batches():
            tr.train_step(x, y)
            steps += 1
            if steps == STEPS:
                break
    return tr


def _assert_same_run(batched, i, single, test):
    got = run_state_dict(batched.model, i, single.model)
    want = single.model.state_dict()
    assert set(got) == set(want)
    for key, w in want.items():  # weights and BN buffers (running mean/var, counters)
        torch.testing.assert_close(got[key], w, rtol=1e-6, atol=1e-9, msg=key)
    torch.testing.assert_close(
        torch.from_numpy(batched.predict(test)[i]),
        torch.from_numpy(single.predict(test)),
        rtol=1e-6,
        atol=1e-8,
    )


@pytest.mark.parametrize(
    "arch, strategy",
    [("resnet8", "wide"), ("lenet5", "wide"), ("resnet8", "per_run"), ("lenet5", "per_run")],
)
def test_batched_runs_equal_unbatched_runs(data, arch, strategy):
    # "wide" (grouped convolutions) is the CUDA path, "per_run" the CPU one
    train, test = data
    seeds = [0, 1, 2]
    inits = [_init(arch, s) for s in seeds]
    wide = widen(arch, inits, num_classes=10)
    singles = [
        _train_single(copy.deepcopy(m), train, seed=s) for m, s in zip(inits, seeds, strict=True)
    ]
    batched = _train_batched(wide, train, seeds=seeds, strategy=strategy)
    for i, single in enumerate(singles):
        _assert_same_run(batched, i, single, test)
    # the runs really differ (own init and batches) and really trained
    p = [single.predict(test) for single in singles]
    assert not np.allclose(p[0], p[1])
    assert not torch.equal(
        singles[0].model.state_dict()["fc.bias" if arch != "lenet5" else "fc3.bias"],
        inits[0].state_dict()["fc.bias" if arch != "lenet5" else "fc3.bias"],
    )


@pytest.mark.parametrize(
    "seeds, temperatures, strategy, clip",
    [
        ([0, 0, 0], [1.0, 4.0, 20.0], "wide", None),
        ([0, 1, 0], [2.0, 2.0, 5.0], "wide", 1.0),
        ([0, 1, 0], [2.0, 2.0, 5.0], "per_run", 1.0),
    ],
    ids=["one-seed", "two-seeds-clipped", "two-seeds-clipped-per-run"],
)
def test_kd_group_equals_separate_kd_runs(data, seeds, temperatures, strategy, clip):
    # clip: each run's own global gradient norm, as the unbatched Trainer clips it
    train, test = data
    teachers = {s: _init("resnet8", 100 + s) for s in dict.fromkeys(seeds)}
    inits = [_init("lenet5", s) for s in seeds]
    wide_teacher = widen("resnet8", list(teachers.values()), num_classes=10)
    singles = [
        _train_single(
            copy.deepcopy(m),
            train,
            seed=s,
            teacher=copy.deepcopy(teachers[s]),
            temperature=t,
            alpha=0.8,
            clip=clip,
        )
        for m, s, t in zip(inits, seeds, temperatures, strict=True)
    ]
    batched = _train_batched(
        widen("lenet5", inits, num_classes=10),
        train,
        seeds=seeds,
        teacher=wide_teacher,
        temperatures=temperatures,
        alpha=0.8,
        strategy=strategy,
        clip=clip,
    )
    assert batched.streams == len(teachers)
    if clip is not None:  # the clip really acts on some run at the last step
        assert float(batched.last_grad_norms.max()) > clip
    for i, single in enumerate(singles):
        _assert_same_run(batched, i, single, test)


def test_state_dict_round_trip_and_support():
    m = [_init("resnet8", s) for s in (3, 4)]
    wide = build_wide("resnet8", 2, num_classes=10).double()
    for i, mi in enumerate(m):
        load_run(wide, i, mi.state_dict())
    for i, mi in enumerate(m):
        got = run_state_dict(wide, i, mi)
        assert all(torch.equal(got[k], v) for k, v in mi.state_dict().items())
    assert batchable("resnet20") and batchable("resnet56") and batchable("lenet5")
    assert not batchable("resnet18") and not batchable("vit_base_patch16_224")


def test_kd_loss_with_a_run_axis_equals_per_run_losses():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(3, 5, 4, generator=g, dtype=torch.float64)
    t = torch.randn(3, 5, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (3, 5), generator=g)
    temps = [1.0, 3.0, 30.0]
    got = kd_loss(s, t, y, temperature=torch.tensor(temps), alpha=0.8)
    want = [kd_loss(s[i], t[i], y[i], temperature=temps[i], alpha=0.8) for i in range(3)]
    torch.testing.assert_close(got, torch.stack(want), rtol=1e-12, atol=0)
    ce = kd_loss(s, None, y, temperature=1.0, alpha=0.8)
    torch.testing.assert_close(ce, torch.stack([kd_loss(s[i], None, y[i]) for i in range(3)]))


# --- the sweep: planning, files, resume --------------------------------------------------------

SWEEP = dict(
    setting="trifeature",
    teacher_arch="resnet8",
    epochs=1,
    image_size=16,
    train_size=32,
    test_size=20,
    batch_size=16,
    device="cpu",
)


def test_groups_are_planned_by_role_recipe_and_seed(tmp_path):
    from producers.sweep import plan_groups, plan_sweep

    plan = plan_sweep(
        out=tmp_path, seeds=[0, 1, 2, 3, 4], temperatures=[*range(1, 11), 20, 30, 40], **SWEEP
    )
    groups = plan_groups(plan.runs, 16)
    roles = [g[0].spec.role for g in groups]
    assert roles == ["teacher", "baseline"] + ["distilled"] * 5
    ds = groups[2:]
    assert [len(g) for g in ds] == [13] * 5  # one seed per group: one teacher forward per batch
    assert all(len({r.spec.seed for r in g}) == 1 for g in ds)
    assert sorted(r.name for g in groups for r in g) == sorted(r.name for r in plan.runs)
    assert [len(g) for g in plan_groups(plan.runs, 1)] == [1] * len(plan.runs)
    # another recipe (learning rate) never shares a group
    other = plan_sweep(
        out=tmp_path, seeds=[0, 1], temperatures=[], lr=0.05, include_nds=False, **SWEEP
    )
    assert len(plan_groups([*plan.runs[:2], *other.runs], 16)) == 2


def _logits(path):
    import pyarrow.parquet as pq

    col = pq.read_table(path, columns=["logits"]).column("logits").combine_chunks()
    return col.flatten().to_numpy().reshape(len(col), -1)


def test_batched_sweep_writes_the_same_files_as_the_unbatched_one(tmp_path):
    from kdbias_audit.io import read_predictions
    from producers.sweep import plan_sweep, run_sweep

    common = dict(seeds=[0, 1, 2], temperatures=[2.0, 4.0], **SWEEP)
    a = run_sweep(plan_sweep(out=tmp_path / "a", **common), batch_runs=3, show_progress=False)
    assert len(a.trained) == 12 and not a.failed, a.failed
    b = run_sweep(plan_sweep(out=tmp_path / "b", **common), batch_runs=1, show_progress=False)
    assert len(b.trained) == 12
    for f in sorted((tmp_path / "b").rglob("*.parquet")):
        rel = f.relative_to(tmp_path / "b")
        pa, pb = read_predictions(tmp_path / "a" / rel), read_predictions(f)
        assert pa.metadata == pb.metadata, rel
        np.testing.assert_allclose(_logits(tmp_path / "a" / rel), _logits(f), rtol=1e-3, atol=1e-3)
    log = (tmp_path / "a" / ".producers" / "logs" / "ds_T4_seed1.log").read_text()
    assert "batched with 3 runs" in log and "done test_acc=" in log


def test_an_interrupted_group_resumes_with_only_its_missing_runs(tmp_path, monkeypatch):
    import kdbias_audit.io
    from producers.sweep import plan_sweep, run_sweep

    plan = plan_sweep(
        out=tmp_path, seeds=[0], temperatures=[1.0, 3.0, 9.0], include_nds=False, **SWEEP
    )
    real = kdbias_audit.io.write_predictions
    written = []

    def killed_after_one(path, **kw):
        if "ds_T" in str(path) and written:
            raise KeyboardInterrupt  # the process dies while the group writes its files
        real(path, **kw)
        if "ds_T" in str(path):
            written.append(path)

    monkeypatch.setattr(kdbias_audit.io, "write_predictions", killed_after_one)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(plan, batch_runs=3, show_progress=False)
    monkeypatch.undo()
    assert len(written) == 1
    assert len(list(tmp_path.glob("ds_T*/seed0.parquet"))) == 1
    resumed = run_sweep(plan, batch_runs=3, show_progress=False)
    assert len(resumed.skipped) == 2 and not resumed.failed  # the teacher and the written one
    assert sorted(resumed.trained) == sorted(
        r.name for r in plan.runs if r.spec.role == "distilled" and r.out != written[0]
    )
    missing = [r for r in plan.runs if r.name in resumed.trained]
    assert "batched with 2 runs" in missing[0].log.read_text()


def test_batch_runs_option_and_default(tmp_path):
    from typer.testing import CliRunner

    from producers.sweep import app, default_batch_runs, default_compile

    assert default_batch_runs("cpu") == 1
    assert default_compile("cpu") is False  # CUDA graphs only on CUDA
    args = ["--setting", "trifeature", "--out", str(tmp_path), "--epochs", "1", "--seeds", "0-2"]
    res = CliRunner().invoke(
        app, [*args, "--temperatures", "2,4", "--batch-runs", "3", "--dry-run"]
    )
    assert res.exit_code == 0, res.output
    assert res.output.count("would train together") == 4  # teachers, NDS, DS of seeds 0-1, 1-2
    res = CliRunner().invoke(app, [*args, "--batch-runs", "2", "--concurrent", "2"])
    assert res.exit_code == 1 and "choose one" in res.output
