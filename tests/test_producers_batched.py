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


def _train_single(model, train, *, seed, teacher=None, temperature=None, alpha=None):
    tr = Trainer(
        model,
        train,
        device=CPU,
        seed=seed,
        teacher=teacher,
        temperature=temperature,
        alpha=alpha,
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


def _train_batched(wide, train, *, seeds, teacher=None, temperatures=None, alpha=None):
    tr = BatchedTrainer(
        wide,
        train,
        device=CPU,
        seeds=seeds,
        teacher=teacher,
        temperatures=temperatures,
        alpha=alpha,
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


@pytest.mark.parametrize("arch", ["resnet8", "lenet5"])
def test_batched_runs_equal_unbatched_runs(data, arch):
    train, test = data
    seeds = [0, 1, 2]
    inits = [_init(arch, s) for s in seeds]
    wide = widen(arch, inits, num_classes=10)
    singles = [
        _train_single(copy.deepcopy(m), train, seed=s) for m, s in zip(inits, seeds, strict=True)
    ]
    batched = _train_batched(wide, train, seeds=seeds)
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
    "seeds, temperatures",
    [([0, 0, 0], [1.0, 4.0, 20.0]), ([0, 1, 0], [2.0, 2.0, 5.0])],
    ids=["one-seed", "two-seeds"],
)
def test_kd_group_equals_separate_kd_runs(data, seeds, temperatures):
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
    )
    assert batched.streams == len(teachers)
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
