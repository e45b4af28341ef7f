"""Datasets: the Trifeature generator and the CIFAR/SVHN readers (on files the tests write)."""

import itertools
import pickle

import numpy as np
import pytest

pytest.importorskip("torch")

from producers.data import DataNotFoundError  # noqa: E402
from producers.data.cifar import load_cifar10, load_cifar100, load_svhn  # noqa: E402
from producers.data.trifeature import (  # noqa: E402
    BACKGROUND,
    COLORS,
    SHAPES,
    TEST_SIZE,
    TEXTURES,
    TRAIN_SIZE,
    cell_counts,
    generate_split,
    load_trifeature,
    render,
    sample_params,
)
from producers.settings import SETTINGS, DataOptions, get_setting  # noqa: E402

# --- Trifeature ------------------------------------------------------------------------------


def test_trifeature_is_deterministic_per_seed():
    a = generate_split(30, size=12, seed=3)
    b = generate_split(30, size=12, seed=3)
    c = generate_split(30, size=12, seed=4)
    assert np.array_equal(a.images, b.images)
    assert np.array_equal(a.labels, b.labels)
    assert all(np.array_equal(a.groups[k], b.groups[k]) for k in a.groups)
    assert not np.array_equal(a.images, c.images)


def test_smaller_split_is_a_prefix_of_a_larger_one():
    small = generate_split(25, size=10, seed=1, split=1)
    big = generate_split(1030, size=10, seed=1, split=1)
    assert np.array_equal(small.images, big.images[:25])
    assert np.array_equal(small.groups["color"], big.groups["color"][:25])


def test_every_label_and_group_combination_is_reachable():
    d = generate_split(1000, size=8, seed=0)
    combos = set(
        zip(
            d.labels.tolist(), d.groups["color"].tolist(), d.groups["texture"].tolist(), strict=True
        )
    )
    expected = set(itertools.product(range(10), COLORS, TEXTURES))
    assert combos == expected  # each of the 1000 exactly once per block of 1000
    assert np.bincount(d.labels, minlength=10).tolist() == [100] * 10
    # labels balanced in every run of 10 consecutive samples
    assert all(sorted(d.labels[i : i + 10]) == list(range(10)) for i in range(0, 1000, 10))


def test_default_test_split_is_balanced_with_500_per_cell():
    # the parameters alone (no rendering): every shape x colour and shape x texture cell of the
    # default 50,000-image test split holds exactly 500 images
    assert TEST_SIZE >= 50_000 and TRAIN_SIZE >= 20_000
    p = sample_params(TEST_SIZE, seed=0, split=1)
    for groups in (p.color, p.texture):
        counts = np.zeros((10, 10), dtype=int)
        np.add.at(counts, (p.shape, groups), 1)
        assert counts.min() == counts.max() == TEST_SIZE // 100 >= 500
    full = np.zeros((10, 10, 10), dtype=int)
    np.add.at(full, (p.shape, p.color, p.texture), 1)
    assert full.min() == full.max() == TEST_SIZE // 1000


def test_cell_counts_and_parallel_rendering():
    serial = generate_split(2000, size=8, seed=2, split=1)
    parallel = generate_split(2000, size=8, seed=2, split=1, workers=2)
    assert np.array_equal(serial.images, parallel.images)
    for attribute in ("color", "texture"):
        counts = cell_counts(parallel, attribute)
        assert counts.shape == (10, 10) and counts.min() == counts.max() == 20
    # a prefix that is not a whole number of blocks is close to balanced, not exactly
    part = cell_counts(generate_split(1500, size=8, seed=2, split=1), "color")
    assert part.sum() == 1500 and part.min() >= 10 and part.max() <= 20


def test_train_and_test_streams_differ():
    tr = sample_params(200, seed=0, split=0)
    te = sample_params(200, seed=0, split=1)
    assert not np.allclose(tr.angle, te.angle)
    assert not np.allclose(tr.cx, te.cx)


def _vary(field, values, size=32):
    base = sample_params(1, seed=5)
    ps = base.take(np.zeros(len(values), dtype=int))
    getattr(ps, field)[:] = values
    return render(ps, size)


def test_images_differ_by_shape_alone():
    imgs = _vary("shape", np.arange(10))
    for i, j in itertools.combinations(range(10), 2):
        diff = np.abs(imgs[i].astype(int) - imgs[j].astype(int)).sum(axis=-1)
        assert (diff > 30).sum() >= 4, (SHAPES[i], SHAPES[j])


def test_images_differ_by_texture_and_colour():
    tex = _vary("texture", np.arange(10), size=48)
    assert len({t.tobytes() for t in tex}) == 10
    col = _vary("color", np.arange(10))
    assert len({c.tobytes() for c in col}) == 10


def test_solid_shape_has_its_colour_on_a_grey_background():
    p = sample_params(1, seed=0).take(np.array([0]))
    p.shape[:] = SHAPES.index("circle")
    p.texture[:] = TEXTURES.index("solid")
    p.color[:] = list(COLORS).index("orange")
    p.cx[:] = 0.5
    p.cy[:] = 0.5
    img = render(p, 64)[0]
    assert tuple(img[32, 32]) == COLORS["orange"]
    assert tuple(img[1, 1]) == (BACKGROUND,) * 3


def test_load_trifeature_and_setting():
    d = load_trifeature(image_size=16, train_size=20, test_size=10, seed=0)
    assert d.train.images.shape == (20, 16, 16, 3) and d.test.images.dtype == np.uint8
    assert d.class_names == SHAPES and set(d.test.groups) == {"color", "texture"}
    s = get_setting("trifeature")
    assert s.teacher_arch == "resnet20" and s.student_arch == "lenet5" and s.batch_size == 64
    assert s.group_attributes == ("color", "texture") and s.padding_for(32) == 4
    d2 = s.load(DataOptions(image_size=16, train_size=20, test_size=10))
    assert np.array_equal(d.test.images, d2.test.images)


def test_registered_settings():
    for name in ("trifeature", "cifar10", "cifar100", "svhn"):
        assert SETTINGS[name].name == name
    names = get_setting("cifar100").class_names
    assert get_setting("cifar100").num_classes == 100 == len(set(names))
    assert list(names) == sorted(names)  # the official fine-label order is alphabetical
    assert (get_setting("cifar10").teacher_arch, get_setting("cifar10").student_arch) == (
        "resnet56",
        "resnet20",
    )


# --- CIFAR / SVHN readers on files written here ----------------------------------------------


def _planes(rng, n):
    return rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)


def test_cifar10_binary(tmp_path):
    rng = np.random.default_rng(0)
    d = tmp_path / "cifar-10-batches-bin"
    d.mkdir()
    imgs, labels = [], []
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        x, y = _planes(rng, 3), rng.integers(0, 10, 3).astype(np.uint8)
        rec = np.concatenate([y[:, None], x.reshape(3, -1)], axis=1)
        rec.tofile(d / name)
        imgs.append(x)
        labels.append(y)
    data = load_cifar10(tmp_path)
    assert data.train.images.shape == (15, 32, 32, 3) and len(data.test) == 3
    # pixel (row 2, col 5) of the first image: red, green, blue planes
    assert tuple(data.train.images[0, 2, 5]) == tuple(imgs[0][0, :, 2, 5])
    assert data.train.labels.tolist() == np.concatenate(labels[:5]).tolist()
    assert data.test.labels.tolist() == labels[5].tolist()
    assert data.class_names[0] == "airplane"


def test_cifar100_binary_uses_fine_labels(tmp_path):
    rng = np.random.default_rng(1)
    d = tmp_path / "cifar-100-binary"
    d.mkdir()
    for name in ("train.bin", "test.bin"):
        x = _planes(rng, 4)
        coarse = np.array([1, 2, 3, 4], dtype=np.uint8)
        fine = np.array([10, 20, 30, 99], dtype=np.uint8)
        np.concatenate([coarse[:, None], fine[:, None], x.reshape(4, -1)], axis=1).tofile(d / name)
    data = load_cifar100(tmp_path)
    assert data.test.labels.tolist() == [10, 20, 30, 99]
    assert data.num_classes == 100


def test_cifar_python_version_needs_explicit_opt_in(tmp_path):
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    rng = np.random.default_rng(2)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(d / name, "wb") as f:
            pickle.dump({b"data": _planes(rng, 2).reshape(2, -1), b"labels": [1, 2]}, f)
    with pytest.raises(DataNotFoundError, match="--allow-pickle"):
        load_cifar10(tmp_path)
    data = load_cifar10(tmp_path, allow_pickle=True)
    assert data.train.images.shape == (10, 32, 32, 3)


def test_svhn_mat(tmp_path):
    from scipy.io import savemat

    rng = np.random.default_rng(3)
    (tmp_path / "svhn").mkdir()
    x = rng.integers(0, 256, size=(32, 32, 3, 5), dtype=np.uint8)
    savemat(
        tmp_path / "svhn" / "train_32x32.mat", {"X": x, "y": np.array([[10], [1], [2], [3], [10]])}
    )
    savemat(tmp_path / "svhn" / "test_32x32.mat", {"X": x[..., :2], "y": np.array([[10], [9]])})
    data = load_svhn(tmp_path)
    assert data.train.labels.tolist() == [0, 1, 2, 3, 0]
    assert data.test.labels.tolist() == [0, 9]
    assert np.array_equal(data.train.images[1], x[..., 1])


@pytest.mark.parametrize(
    "loader, where",
    [
        (load_cifar10, "cifar-10-batches-bin/data_batch_"),
        (load_cifar100, "cifar-100-binary/train.bin"),
        (load_svhn, "svhn/train_32x32.mat"),
    ],
)
def test_missing_dataset_says_where_to_put_it(tmp_path, loader, where):
    with pytest.raises(DataNotFoundError) as err:
        loader(tmp_path)
    msg = str(err.value)
    assert where in msg and str(tmp_path) in msg and "\n" not in msg


def test_file_settings_need_a_data_root():
    from kdbias_audit.errors import KDAuditError

    with pytest.raises(KDAuditError, match="--data-root"):
        get_setting("cifar10").load(DataOptions())
