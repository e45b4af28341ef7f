"""Knowledge-distillation loss (Hinton et al., 2015)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor | None,
    targets: torch.Tensor,
    *,
    temperature: float = 4.0,
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
    student_logits : Tensor, shape (B, C)
    teacher_logits : Tensor, shape (B, C), or None
        Detached inside: no gradient ever reaches the teacher. ``None`` (or ``alpha == 0``)
        gives plain cross-entropy, the non-distilled student's loss.
    targets : Tensor of int64, shape (B,)
    temperature : float, > 0
    alpha : float in [0, 1]
        Weight of the soft-target term (0.8 in the study).

    Returns
    -------
    Tensor
        A scalar, computed in float32 whatever the inputs' dtype (bf16 under autocast).

    Examples
    --------
    >>> s = torch.tensor([[2.0, 0.0]]); t = torch.tensor([[0.0, 2.0]]); y = torch.tensor([0])
    >>> float(kd_loss(s, t, y, temperature=1.0, alpha=0.0)) == float(F.cross_entropy(s, y))
    True
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    s = student_logits.float()
    ce = F.cross_entropy(s, targets)
    if teacher_logits is None or alpha == 0.0:
        return ce
    t = teacher_logits.detach().float()
    log_p_student = F.log_softmax(s / temperature, dim=1)
    log_p_teacher = F.log_softmax(t / temperature, dim=1)
    kl = F.kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True)
    return alpha * temperature * temperature * kl + (1.0 - alpha) * ce
