"""The Hinton KD loss against a hand computation (numpy)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from producers.kd import kd_loss  # noqa: E402


def _np_log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _hand_kd(s, t, y, T, alpha):
    log_ps = _np_log_softmax(s / T)
    log_pt = _np_log_softmax(t / T)
    kl = (np.exp(log_pt) * (log_pt - log_ps)).sum(axis=1).mean()
    ce = -_np_log_softmax(s)[np.arange(len(y)), y].mean()
    return alpha * T * T * kl + (1 - alpha) * ce


@pytest.mark.parametrize("T", [1.0, 2.0, 4.0, 20.0])
@pytest.mark.parametrize("alpha", [0.0, 0.5, 0.8, 1.0])
def test_matches_hand_computation(T, alpha):
    rng = np.random.default_rng(0)
    s = rng.normal(size=(6, 5)) * 3
    t = rng.normal(size=(6, 5)) * 3
    y = rng.integers(0, 5, size=6)
    got = kd_loss(torch.tensor(s), torch.tensor(t), torch.tensor(y), temperature=T, alpha=alpha)
    assert float(got) == pytest.approx(_hand_kd(s, t, y, T, alpha), rel=1e-5, abs=1e-6)


def test_alpha_zero_is_plain_cross_entropy():
    s = torch.randn(8, 4, generator=torch.Generator().manual_seed(1))
    t = torch.randn(8, 4)
    y = torch.arange(8) % 4
    ce = torch.nn.functional.cross_entropy(s, y)
    assert torch.allclose(kd_loss(s, t, y, temperature=3.0, alpha=0.0), ce)
    assert torch.allclose(kd_loss(s, None, y, temperature=3.0, alpha=0.8), ce)


def test_soft_term_gradient_shows_the_T_squared_scaling():
    # d/ds [T^2 KL(p_t || softmax(s/T))] averaged over B rows = T (softmax(s/T) - p_t) / B
    rng = np.random.default_rng(2)
    s_np, t_np = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    y = torch.tensor([0, 1, 2])
    for T in (1.0, 3.0, 10.0):
        s = torch.tensor(s_np, requires_grad=True)
        kd_loss(s, torch.tensor(t_np), y, temperature=T, alpha=1.0).backward()
        ps = np.exp(_np_log_softmax(s_np / T))
        pt = np.exp(_np_log_softmax(t_np / T))
        np.testing.assert_allclose(
            s.grad.numpy(), T * (ps - pt) / 3, rtol=1e-5, atol=1e-7
        )  # float32 inside


def test_gradient_reaches_only_the_student():
    s = torch.randn(4, 3, requires_grad=True)
    t = torch.randn(4, 3, requires_grad=True)
    loss = kd_loss(s, t, torch.tensor([0, 1, 2, 0]), temperature=4.0, alpha=0.8)
    loss.backward()
    assert t.grad is None
    assert s.grad is not None and float(s.grad.abs().sum()) > 0


def test_zero_when_student_equals_teacher_and_alpha_one():
    z = torch.randn(5, 7)
    assert float(
        kd_loss(z, z.clone(), torch.zeros(5, dtype=torch.long), temperature=2.0, alpha=1.0)
    ) == pytest.approx(0.0, abs=1e-6)


def test_bf16_inputs_are_computed_in_float32():
    s = torch.randn(4, 3).bfloat16()
    out = kd_loss(s, s.clone(), torch.tensor([0, 1, 2, 0]), temperature=2.0, alpha=0.5)
    assert out.dtype == torch.float32


@pytest.mark.parametrize("kw", [{"temperature": 0.0}, {"temperature": -1.0}, {"alpha": 1.5}])
def test_bad_arguments(kw):
    args = {"temperature": 2.0, "alpha": 0.5, **kw}
    with pytest.raises(ValueError):
        kd_loss(torch.zeros(1, 2), torch.zeros(1, 2), torch.zeros(1, dtype=torch.long), **args)
