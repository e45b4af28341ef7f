"""The LeNet-5 recipe: distillation at T = 7 leaves chance with gradient clipping, not without.

The paper's recipe (SGD, lr 0.1, momentum 0.9) makes LeNet-5 students distilled at T >= 3
diverge (NaN) or die (constant predictions, 10.0 % test accuracy), because the soft-target
term ``0.8 * T^2 * KL`` has gradient norms of 5-80 where cross-entropy has 0.3-3
(docs/producers.md, "Gradient clipping for LeNet-5 students"). The producers clip the
students' global gradient norm at the setting's ``student_grad_clip`` (1.0 for Trifeature).

The teacher here is a stand-in with a real teacher's logit scale: it returns, for each training
image, the class-mean logits of a ResNet-20 trained on Trifeature at 32 px (99.95 % test
accuracy; true-class logit about 13, others -16..+11), found by an exact image lookup (the
run uses no augmentation so that the lookup is exact). Training a real ResNet-20 on CPU takes
minutes; the student's loss, step and schedule are those of the producers' `Trainer`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kdbias_audit.errors import KDAuditError

torch = pytest.importorskip("torch")

from producers.data.trifeature import load_trifeature  # noqa: E402
from producers.gpu import DeviceData  # noqa: E402
from producers.models import build_model  # noqa: E402
from producers.settings import get_setting  # noqa: E402
from producers.train import Trainer  # noqa: E402

# class-mean logits (rows: true shape) of the ResNet-20 teacher described above, rounded
TEACHER_CLASS_LOGITS = [
    [10, 5, 0, -11, -5, 5, -1, 5, -11, 3],
    [5, 10, 2, -1, -10, -2, 7, -2, -13, 1],
    [2, 3, 10, -8, 2, -7, 0, 3, -11, -1],
    [-8, 11, 3, 27, -13, -13, 22, -12, -12, -10],
    [1, -4, 3, -15, 12, -2, -7, 8, 2, -2],
    [9, 7, -2, -7, -6, 14, 1, -1, -8, -8],
    [0, 10, 3, 8, -11, -6, 12, -6, -11, -4],
    [6, 0, 2, -15, 4, -1, -6, 10, -7, 4],
    [-3, -4, -2, -9, 6, -4, -5, 2, 14, -4],
    [9, 7, 0, -9, -10, -6, 1, 7, -16, 15],
]


class LookupTeacher(torch.nn.Module):
    """Returns the class-mean teacher logits of each (un-augmented) training image."""

    def __init__(self, data: DeviceData, labels: np.ndarray) -> None:
        super().__init__()
        x = torch.cat([b for b, _ in data.eval_batches(512)]).flatten(1)
        g = torch.Generator().manual_seed(0)
        self.proj = torch.randn(x.shape[1], 16, generator=g)
        self.keys = x @ self.proj
        table = torch.tensor(TEACHER_CLASS_LOGITS, dtype=torch.float32)
        self.logits = table[torch.as_tensor(labels)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = x.flatten(1).float() @ self.proj
        return self.logits[torch.cdist(k, self.keys).argmin(1)]


@pytest.fixture(scope="module")
def data():
    torch.set_num_threads(1)
    d = load_trifeature(image_size=16, train_size=2000, test_size=1000, seed=0, workers=1)
    mean, std = d.channel_stats()
    cpu = torch.device("cpu")
    train = DeviceData(d.train.images, d.train.labels, mean=mean, std=std, device=cpu)
    test = DeviceData(d.test.images, d.test.labels, mean=mean, std=std, device=cpu)
    return d, train, test, LookupTeacher(train, d.train.labels)


def _distil_t7(data, *, lr: float, grad_clip: float | None, seed: int = 0, epochs: int = 10):
    d, train, test, teacher = data
    torch.manual_seed(seed)
    model = build_model("lenet5", num_classes=10, image_size=16)
    trainer = Trainer(
        model,
        train,
        device=torch.device("cpu"),
        total_steps=train.steps_per_epoch(64) * epochs,
        batch_size=64,
        padding=0,
        hflip=False,
        seed=seed,
        teacher=teacher,
        temperature=7.0,
        alpha=0.8,
        lr=lr,
        grad_clip=grad_clip,
        amp=False,
    )
    losses = [trainer.run_epoch()[0] for _ in range(epochs)]
    acc = float((trainer.predict(test).argmax(1) == d.test.labels).mean())
    return acc, losses


@pytest.mark.slow
def test_t7_student_leaves_chance_with_the_recipe_and_not_without(data):
    clip = get_setting("trifeature").student_grad_clip
    assert clip == 1.0
    # chance is 10 % (balanced shapes); 1,000 test images: its binomial sd is 0.95 points
    acc, losses = _distil_t7(data, lr=0.1, grad_clip=clip)
    assert np.isfinite(losses).all() and losses[-1] < 0.8 * losses[0]
    assert acc >= 0.2, acc
    # the paper's recipe (same lr, no clipping) diverges or dies: constant predictions
    old_acc, old_losses = _distil_t7(data, lr=0.1, grad_clip=None)
    assert old_acc <= 0.12, old_acc
    assert not (np.isfinite(old_losses).all() and old_losses[-1] < 0.8 * old_losses[0])


def test_sweep_plan_clips_students_not_teachers(tmp_path):
    from producers.sweep import plan_sweep

    def clips(**kw):
        plan = plan_sweep(out=tmp_path, seeds=[0], temperatures=[7.0], epochs=1, **kw)
        return {r.runset: r.spec.grad_clip for r in plan.runs}

    assert clips(setting="trifeature") == {"teacher": None, "nds": 1.0, "ds_T7": 1.0}
    assert clips(setting="trifeature", student_grad_clip=0) == dict.fromkeys(
        ("teacher", "nds", "ds_T7")
    )
    assert clips(setting="trifeature", student_grad_clip=2.5)["ds_T7"] == 2.5
    assert set(clips(setting="cifar10").values()) == {None}  # BN students keep the paper's
    plan = plan_sweep(setting="trifeature", out=tmp_path, seeds=[0], temperatures=[7.0], epochs=1)
    assert plan.runs[-1].spec.expected_metadata()["grad_clip"] == 1.0


def test_sweep_plan_warms_up_students_not_teachers(tmp_path):
    from producers.sweep import plan_sweep

    def warmups(**kw):
        plan = plan_sweep(out=tmp_path, seeds=[0], temperatures=[7.0], epochs=1, **kw)
        return {r.runset: r.spec.expected_metadata()["warmup"] for r in plan.runs}

    assert warmups(setting="trifeature") == {"teacher": 0.0, "nds": 0.1, "ds_T7": 0.1}
    assert set(warmups(setting="trifeature", student_warmup=0).values()) == {0.0}
    assert warmups(setting="trifeature", student_warmup=0.05)["nds"] == 0.05
    assert set(warmups(setting="cifar10").values()) == {0.0}
    with pytest.raises(KDAuditError, match="warmup must be"):
        plan_sweep(
            setting="trifeature",
            out=tmp_path,
            seeds=[0],
            temperatures=[7.0],
            epochs=1,
            student_warmup=0.5,
        )


def test_warmup_schedule_is_shared_by_the_batched_trainer():
    from producers.batched import BatchedTrainer, widen

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 16, 16, 3), dtype=np.uint8)
    y = rng.integers(0, 10, 64)
    cpu = torch.device("cpu")
    data = DeviceData(x, y, mean=(0.5,) * 3, std=(0.25,) * 3, device=cpu)
    kw = dict(device=cpu, total_steps=100, batch_size=16, padding=0, hflip=False, amp=False)
    one = Trainer(
        build_model("lenet5", num_classes=10, image_size=16), data, seed=0, warmup=0.1, **kw
    )
    wide = widen(
        "lenet5", [build_model("lenet5", num_classes=10, image_size=16)] * 2, num_classes=10
    )
    two = BatchedTrainer(wide, data, seeds=[0, 1], warmup=0.1, **kw)
    expected = [0.01 * (i + 1) for i in range(10)] + [0.1] * 20 + [0.01] * 30
    for t in (one, two):
        assert [t.lr_at(i) for i in range(60)] == pytest.approx(expected)
    plain = Trainer(build_model("lenet5", num_classes=10, image_size=16), data, seed=0, **kw)
    assert plain.lr_at(0) == 0.1  # the paper's schedule without warm-up
    # the optimiser really uses it: after one epoch (4 steps) the last step's lr is 0.04
    one.run_epoch()
    assert one.optimizer.param_groups[0]["lr"] == pytest.approx(0.04)


def test_resume_keeps_old_teachers_and_refuses_students_without_warmup(tmp_path):
    from kdbias_audit.io import write_predictions
    from producers.plan import run_state
    from producers.sweep import plan_sweep

    plan = plan_sweep(setting="trifeature", out=tmp_path, seeds=[0], temperatures=[7.0], epochs=1)
    rng = np.random.default_rng(0)
    for run in plan.runs:
        meta = run.spec.expected_metadata()
        del meta["warmup"]  # a file of the earlier recipe, made before warm-up existed
        write_predictions(
            run.out,
            y_true=rng.integers(0, 10, 20),
            y_pred=rng.integers(0, 10, 20),
            seed=0,
            num_classes=10,
            metadata=meta,
        )
        if run.spec.save_checkpoint:
            Path(run.spec.save_checkpoint).parent.mkdir(parents=True, exist_ok=True)
            Path(run.spec.save_checkpoint).write_bytes(b"")
    teacher, nds, ds = plan.runs
    assert run_state(teacher, teacher.spec.expected_metadata()) == "done"
    for run in (nds, ds):
        with pytest.raises(KDAuditError, match=r"made with warmup=0.0 \(this sweep: 0.1\)"):
            run_state(run, run.spec.expected_metadata())
