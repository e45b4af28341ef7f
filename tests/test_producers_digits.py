"""The digits setting: scikit-learn's bundled images, a fixed stratified split."""

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("torch")

from producers.data.digits import load_digits_splits  # noqa: E402
from producers.settings import DataOptions, get_setting  # noqa: E402


def test_split_is_stratified_disjoint_and_deterministic():
    from sklearn.datasets import load_digits

    d = load_digits_splits(seed=0)
    again = load_digits_splits(seed=0)
    other = load_digits_splits(seed=1)
    np.testing.assert_array_equal(d.test.sample_id, again.test.sample_id)
    assert not np.array_equal(d.test.sample_id, other.test.sample_id)
    assert len(d.train) + len(d.test) == 1797
    assert not set(d.train.sample_id) & set(d.test.sample_id)
    target = load_digits().target
    counts = np.bincount(target, minlength=10)
    np.testing.assert_array_equal(
        np.bincount(d.test.labels, minlength=10), np.round(0.3 * counts).astype(int)
    )
    np.testing.assert_array_equal(
        d.test.labels, target[d.test.sample_id]
    )  # ids index load_digits()


def test_images_are_the_real_digits_enlarged():
    from sklearn.datasets import load_digits

    d = load_digits_splits(image_size=16)
    assert d.test.images.shape[1:] == (16, 16, 3) and d.test.images.dtype == np.uint8
    i = d.test.sample_id[0]
    expected = np.round(load_digits().images[i] * 255 / 16).astype(np.uint8)
    np.testing.assert_array_equal(d.test.images[0, ::2, ::2, 1], expected)
    with pytest.raises(ValueError, match="multiple of 8"):
        load_digits_splits(image_size=12)


def test_registered_setting_loads():
    s = get_setting("digits")
    d = s.load(DataOptions(train_size=100, test_size=50))
    assert (len(d.train), len(d.test), d.num_classes) == (100, 50, 10)
    assert s.hflip is False and s.teacher_arch == "resnet20" and s.student_arch == "lenet5"
