"""One training run: the exported file, frozen teacher, schedule, augmentation, atomicity."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # 2 shared cores: avoid oversubscription

from kdbias_audit.io import read_predictions  # noqa: E402
from producers.data.trifeature import load_trifeature  # noqa: E402
from producers.gpu import DeviceData  # noqa: E402
from producers.models import build_model  # noqa: E402
from producers.train import RunSpec, Trainer, train_run  # noqa: E402

TINY = dict(
    setting="trifeature", epochs=1, batch_size=16, image_size=16, train_size=32, test_size=20
)


@pytest.fixture(scope="module")
def data():
    return load_trifeature(image_size=16, train_size=32, test_size=20, seed=0)


@pytest.fixture(scope="module")
def teacher_ckpt(tmp_path_factory, data):
    d = tmp_path_factory.mktemp("teacher")
    spec = RunSpec(role="teacher", seed=0, arch="resnet20", save_checkpoint=str(d / "t.pt"), **TINY)
    train_run(spec, d / "teacher" / "seed0.parquet", data=data)
    return d / "t.pt"


def test_teacher_file_has_complete_metadata(tmp_path, data, teacher_ckpt):
    assert teacher_ckpt.is_file()
    spec = RunSpec(role="teacher", seed=1, arch="resnet20", **TINY)
    res = train_run(spec, tmp_path / "seed1.parquet", data=data, log_path=tmp_path / "run.log")
    run = read_predictions(tmp_path / "seed1.parquet")
    m = run.metadata
    assert (m["role"], m["model"], m["dataset"], m["split"], m["seed"]) == (
        "teacher",
        "resnet20",
        "trifeature",
        "test",
        1,
    )
    assert m["class_names"] == list(data.class_names) and m["epochs"] == 1 and m["image_size"] == 16
    assert m["temperature"] is None and m["alpha"] is None and m["teacher_model"] is None
    assert run.num_classes == 10 and len(run.label) == 20
    assert np.array_equal(run.label, data.test.labels)
    assert set(run.groups) == {"color", "texture"}
    assert 0.0 <= res.test_accuracy <= 1.0 and res.steps == 2
    log = (tmp_path / "run.log").read_text()
    assert "epoch 1/1" in log and "done test_acc=" in log


def test_distilled_file_and_float16_logits(tmp_path, data, teacher_ckpt):
    import pyarrow.parquet as pq

    spec = RunSpec(
        role="distilled",
        seed=0,
        arch="lenet5",
        temperature=4.0,
        alpha=0.8,
        teacher_arch="resnet20",
        teacher_checkpoint=str(teacher_ckpt),
        logits_dtype="float16",
        **TINY,
    )
    train_run(spec, tmp_path / "ds.parquet", data=data)
    m = read_predictions(tmp_path / "ds.parquet").metadata
    assert (m["role"], m["temperature"], m["alpha"], m["teacher_model"], m["model"]) == (
        "distilled",
        4.0,
        0.8,
        "resnet20",
        "lenet5",
    )
    assert (
        str(pq.read_schema(tmp_path / "ds.parquet").field("logits").type.value_type) == "halffloat"
    )


def test_pred_only_file(tmp_path, data):
    import pyarrow.parquet as pq

    spec = RunSpec(role="baseline", seed=0, arch="lenet5", logits_dtype="none", **TINY)
    res = train_run(spec, tmp_path / "nds.parquet", data=data)
    names = pq.read_schema(tmp_path / "nds.parquet").names
    assert "pred" in names and "logits" not in names
    run = read_predictions(tmp_path / "nds.parquet")
    assert run.num_classes == 10 and abs(run.accuracy - res.test_accuracy) < 1e-9
    with pytest.raises(Exception, match="logits_dtype"):
        RunSpec(role="baseline", seed=0, arch="lenet5", logits_dtype="int8", **TINY)


def test_teacher_stays_frozen_during_distillation(data, teacher_ckpt):
    teacher = build_model("resnet20", num_classes=10, checkpoint=teacher_ckpt)
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    dev = torch.device("cpu")
    mean, std = data.channel_stats()
    dd = DeviceData(data.train.images, data.train.labels, mean=mean, std=std, device=dev)
    tr = Trainer(
        build_model("lenet5", num_classes=10),
        dd,
        device=dev,
        total_steps=2,
        batch_size=16,
        padding=2,
        hflip=True,
        seed=0,
        teacher=teacher,
        temperature=4.0,
        alpha=0.8,
    )
    tr.run_epoch()
    assert not teacher.training
    for k, v in teacher.state_dict().items():
        assert torch.equal(v, before[k]), k  # BN running stats untouched too


def test_learning_rate_drops_at_30_60_90_percent(data):
    dev = torch.device("cpu")
    dd = DeviceData(
        data.train.images, data.train.labels, mean=(0.5,) * 3, std=(0.25,) * 3, device=dev
    )
    tr = Trainer(
        build_model("lenet5", num_classes=10),
        dd,
        device=dev,
        total_steps=100,
        batch_size=16,
        padding=0,
        hflip=False,
        seed=0,
    )
    lrs = [tr.lr_at(s) for s in range(100)]
    assert lrs[29] == pytest.approx(0.1) and lrs[30] == pytest.approx(0.01)
    assert lrs[59] == pytest.approx(0.01) and lrs[60] == pytest.approx(0.001)
    assert lrs[89] == pytest.approx(0.001) and lrs[90] == pytest.approx(0.0001)


def test_augmentation_is_a_crop_of_the_padded_image_or_its_mirror():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(6, 7, 7, 3), dtype=np.uint8)
    dev = torch.device("cpu")
    dd = DeviceData(imgs, np.zeros(6), mean=(0.0,) * 3, std=(1.0,) * 3, device=dev)
    g = torch.Generator().manual_seed(0)
    p = 2
    seen_flip = seen_shift = False
    for _ in range(5):
        out = dd.augment(torch.arange(6), padding=p, hflip=True, generator=g).numpy()  # (B,3,H,W)
        for b in range(6):
            padded = np.pad(imgs[b], ((p, p), (p, p), (0, 0)))
            cands = {}
            for oy in range(2 * p + 1):
                for ox in range(2 * p + 1):
                    crop = padded[oy : oy + 7, ox : ox + 7].transpose(2, 0, 1)
                    cands[(oy, ox, False)] = crop
                    cands[(oy, ox, True)] = crop[:, :, ::-1]
            hits = [k for k, c in cands.items() if np.array_equal(c, out[b])]
            assert hits, "augmented image is not a crop/flip of the input"
            seen_flip |= any(k[2] for k in hits) and not any(not k[2] for k in hits)
            seen_shift |= all(k[:2] != (p, p) for k in hits)
    assert seen_flip and seen_shift


def test_batches_are_normalised_and_channels_last(data):
    dev = torch.device("cpu")
    mean, std = data.channel_stats()
    dd = DeviceData(data.train.images, data.train.labels, mean=mean, std=std, device=dev)
    x, y = next(dd.eval_batches(32))
    assert x.is_contiguous(memory_format=torch.channels_last)
    ref = (data.train.images.astype(np.float64) / 255 - np.array(mean)) / np.array(std)
    np.testing.assert_allclose(x.permute(0, 2, 3, 1).numpy(), ref, rtol=1e-5, atol=1e-5)
    batches = list(
        dd.train_batches(10, padding=1, hflip=True, generator=torch.Generator().manual_seed(0))
    )
    assert len(batches) == 3 and all(b[0].shape == (10, 3, 16, 16) for b in batches)  # drop_last


def test_a_killed_run_leaves_no_finished_looking_file(tmp_path, data, monkeypatch):
    def spec(d):
        return RunSpec(
            role="teacher", seed=0, arch="lenet5", save_checkpoint=str(d / "t.pt"), **TINY
        )

    def boom(*a, **k):
        raise KeyboardInterrupt

    # killed while writing the prediction file: no prediction file (the checkpoint came first)
    a = tmp_path / "a"
    monkeypatch.setattr("kdbias_audit.io.writer.pq.write_table", boom)
    with pytest.raises(KeyboardInterrupt):
        train_run(spec(a), a / "seed0.parquet", data=data)
    assert sorted(p.name for p in a.iterdir()) == ["t.pt"]
    monkeypatch.undo()

    # killed while saving the teacher checkpoint: nothing at all
    def half_save(obj, f, *args, **kwargs):
        with open(f, "wb") as fh:
            fh.write(b"partial")
        raise KeyboardInterrupt

    b = tmp_path / "b"
    monkeypatch.setattr(torch, "save", half_save)
    with pytest.raises(KeyboardInterrupt):
        train_run(spec(b), b / "seed0.parquet", data=data)
    assert not b.exists() or list(b.iterdir()) == []


def test_spec_validation():
    from kdbias_audit.errors import KDAuditError

    with pytest.raises(KDAuditError, match="temperature"):
        RunSpec(role="distilled", seed=0, arch="lenet5", **TINY)
    with pytest.raises(KDAuditError, match="role"):
        RunSpec(role="student", seed=0, arch="lenet5", **TINY)
    s = RunSpec(role="baseline", seed=3, arch="lenet5", **TINY)
    assert RunSpec.from_json(s.to_json()) == s


def test_train_speed_benchmark_runs_on_cpu(tmp_path):
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "train_speed.py"
    spec = importlib.util.spec_from_file_location("train_speed", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rc = mod.main(
        [
            "--device",
            "cpu",
            "--steps",
            "1",
            "--warmup",
            "1",
            "--n-train",
            "64",
            "--batch-size",
            "16",
            "--concurrent",
            "0",
            "--batched",
            "0",
            "--json",
            str(tmp_path / "r.json"),
        ]
    )
    assert rc == 0
    out = json.loads((tmp_path / "r.json").read_text())
    assert set(out["results"]) == {
        "a_fast_r20",
        "b_dataloader_r20",
        "a_fast_kd56to20",
        "b_dataloader_kd56to20",
    }
    assert out["ratios"]["a/b r20"] > 0


def test_drop_logits_keeps_everything_else(tmp_path):
    from kdbias_audit.io import write_predictions
    from producers.predfiles import drop_logits, drop_logits_tree

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(300, 10)).astype(np.float32)
    y = rng.integers(0, 10, 300)
    groups = {"color": np.array(["red", "blue", "green"])[rng.integers(0, 3, 300)]}
    path = tmp_path / "ds_T4" / "seed3.parquet"
    meta = {"role": "distilled", "temperature": 4.0, "alpha": 0.8, "grad_clip": 1.0}
    write_predictions(
        path, y_true=y, logits=logits, groups=groups, seed=3, metadata=meta, logits_dtype="float16"
    )
    before = read_predictions(path)
    assert drop_logits_tree(tmp_path) == 1 and not drop_logits(path)  # idempotent
    after = read_predictions(path)
    for f in ("label", "pred", "sample_id"):
        assert np.array_equal(getattr(before, f), getattr(after, f))
    assert after.metadata == before.metadata and after.seed == 3
    assert after.group_levels == before.group_levels
    assert np.array_equal(after.groups["color"], before.groups["color"])
    import pyarrow.parquet as pq

    assert "logits" not in pq.read_schema(path).names


@pytest.mark.slow
def test_train_speed_batched_case_and_sweep_estimate_run_on_cpu(tmp_path):
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "train_speed.py"
    spec = importlib.util.spec_from_file_location("train_speed", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    args = ["--device", "cpu", "--steps", "1", "--warmup", "1", "--n-train", "64"]
    rc = mod.main(
        [
            *args,
            "--batch-size",
            "16",
            "--cases",
            "a,d",
            "--batched",
            "2",
            "--kd-group",
            "2",
            "--estimate-sweep",
            "digits",
            "--estimate-train-size",
            "64",
            "--estimate-epochs",
            "1",
            "--estimate-steps",
            "1",
            "--json",
            str(tmp_path / "r.json"),
        ]
    )
    assert rc == 0
    out = json.loads((tmp_path / "r.json").read_text())
    assert {"d_batched2_r20", "d_kdgroup2_kd56to20"} <= set(out["results"])
    assert out["ratios"]["d2/2 sequential r20"] > 0
    est = out["estimate"]["digits"]
    assert [g["role"] for g in est["groups"]] == ["teacher", "baseline", "distilled"]
    assert est["steps_per_run"] == 1 and est["minutes"] > 0


def test_one_run_spec_fills_the_settings_recipe():
    import producers.settings_large  # noqa: F401
    from kdbias_audit.errors import KDAuditError

    common = dict(seed=0, epochs=1, batch_size=512)
    image = RunSpec(setting="imagenet", role="teacher", arch="resnet50", **common)
    assert (image.optimizer, image.lr, image.weight_decay) == ("sgd", 0.1, 1e-3)
    vit = RunSpec(setting="imagenet_vit", role="teacher", arch="vit_base_patch16_224", **common)
    assert (vit.optimizer, vit.lr, vit.weight_decay) == ("adamw", 1e-3 * 512 / 1024, 0.05)
    text = RunSpec(setting="hatexplain", role="teacher", arch="bert-base-uncased", **common)
    assert (text.optimizer, text.lr, text.weight_decay) == ("adamw", 2e-5, 0.01)
    # given values win; the filled spec round-trips through JSON unchanged
    sgd_vit = RunSpec(setting="imagenet_vit", role="teacher", arch="x", optimizer="sgd", **common)
    assert (sgd_vit.lr, sgd_vit.weight_decay) == (0.1, 1e-3)
    own = RunSpec(setting="hatexplain", role="baseline", arch="d", lr=5e-5, **common)
    assert (own.lr, own.weight_decay) == (5e-5, 0.01)
    assert RunSpec.from_json(vit.to_json()) == vit
    # a text student is taught by a teacher directory; image students need teacher_arch too
    RunSpec(
        setting="hatexplain",
        role="distilled",
        arch="d",
        temperature=2.0,
        alpha=0.8,
        teacher_checkpoint="ckpt/teacher0",
        **common,
    )
    with pytest.raises(KDAuditError, match="teacher_arch"):
        RunSpec(
            setting="imagenet",
            role="distilled",
            arch="resnet18",
            temperature=2.0,
            alpha=0.8,
            teacher_checkpoint="t.pt",
            **common,
        )
    with pytest.raises(KDAuditError, match="optimizer"):
        RunSpec(setting="imagenet", role="teacher", arch="r", optimizer="adam", **common)
    with pytest.raises(KDAuditError, match="unknown setting"):
        RunSpec(setting="nope", role="teacher", arch="r", **common)


def test_train_speed_reuses_a_measured_group_by_shape_not_seed_values():
    """The sweep projection takes a group measured in (d) instead of compiling it again: the
    step time depends on the runs' number and data streams, not on which seeds they are."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "train_speed.py"
    spec = importlib.util.spec_from_file_location("train_speed_reuse", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    kw = dict(n=32, batch=8, steps=1, warmup=1, arch="lenet5", teacher_arch="resnet20")
    first = mod.bench_batched("cpu", seeds=[0, 0], temperatures=[1.0, 4.0], **kw)
    assert "reused" not in first
    again = mod.bench_batched("cpu", seeds=[3, 3], temperatures=[2.0, 9.0], **kw)
    assert again["reused"] and again["step_s"] == first["step_s"]
    # two streams, or no teacher, or another K is another measurement
    other = mod.bench_batched("cpu", seeds=[0, 1], temperatures=[1.0, 4.0], **kw)
    assert "reused" not in other
    plain = mod.bench_batched("cpu", seeds=[0, 0], temperatures=None, **kw)
    assert "reused" not in plain
