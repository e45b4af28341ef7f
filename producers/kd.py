"""Knowledge-distillation loss (Hinton et al., 2015)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor | None,
    targets: torch.Tensor,
    *,
    temperature: float | torch.Tensor = 4.0,
    alpha: float = 0.8,
) -> torch.Tensor:
    r"""Hinton's distillation loss, averaged over the batch.

    .. math::

        L = \alpha\, T^2\, \mathrm{KL}\big(\mathrm{softmax}(t/T)\,\|\,\mathrm{softmax}(s/T)\big)
            + (1 - \alpha)\, \mathrm{CE}(s, y)

    with ``s`` the student's logits, ``t`` the teacher's, ``y`` the labels and the KL divergence
    summed over classes and averaged over the batch (``reduction="batchmean"``). The ``T^2``
    factor keeps the soft-target gradients on the same scale for every temperature.

    Parameters
    ----------
    student_logits : Tensor, shape (B, C), or (K, B, C) for K runs trained together
    teacher_logits : Tensor, shape like ``student_logits``, or None
        Detached inside: no gradient ever reaches the teacher. ``None`` (or ``alpha == 0``)
        gives plain cross-entropy, the non-distilled student's loss.
    targets : Tensor of int64, shape (B,) or (K, B)
    temperature : float > 0, or Tensor of shape (K,)
        One temperature per run when the logits carry a leading run axis
        (`producers.batched` trains a temperature sweep as one network).
    alpha : float in [0, 1]
        Weight of the soft-target term (0.8 in the study).

    Returns
    -------
    Tensor
        A scalar for (B, C) logits, else one loss per run (shape (K,)); in float32 for bf16 or
        float16 inputs (autocast), in the inputs' dtype otherwise.

    Examples
    --------
    >>> s = torch.tensor([[2.0, 0.0]]); t = torch.tensor([[0.0, 2.0]]); y = torch.tensor([0])
    >>> float(kd_loss(s, t, y, temperature=1.0, alpha=0.0)) == float(F.cross_entropy(s, y))
    True
    """
    if not isinstance(temperature, torch.Tensor) and temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    s = _upcast(student_logits)
    if isinstance(temperature, torch.Tensor):  # one per run, broadcast over (B, C)
        temp = temperature.to(device=s.device, dtype=s.dtype)[..., None, None]
    else:
        temp = temperature
    if s.ndim == 2:
        ce = F.cross_entropy(s, targets)
    else:  # one mean per run
        ce = F.cross_entropy(s.flatten(0, -2), targets.flatten(), reduction="none")
        ce = ce.view(targets.shape).mean(-1)
    if teacher_logits is None or alpha == 0.0:
        return ce
    t = _upcast(teacher_logits.detach())
    log_p_student = F.log_softmax(s / temp, dim=-1)
    log_p_teacher = F.log_softmax(t / temp, dim=-1)
    if s.ndim == 2:
        kl = F.kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True)
    else:  # batchmean per run
        kl = F.kl_div(log_p_student, log_p_teacher, reduction="none", log_target=True)
        kl = kl.sum(-1).mean(-1)
    t2 = temp * temp if not isinstance(temp, torch.Tensor) else (temp * temp)[..., 0, 0]
    return alpha * t2 * kl + (1.0 - alpha) * ce


def _upcast(x: torch.Tensor) -> torch.Tensor:
    """bf16/fp16 (autocast) -> float32; float32 and float64 stay as they are."""
    return x.float() if x.dtype in (torch.bfloat16, torch.float16) else x
