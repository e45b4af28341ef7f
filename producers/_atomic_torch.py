"""Atomic saving of torch state dicts (a killed save leaves no finished-looking file)."""

from __future__ import annotations

import os
from pathlib import Path


def save_state_dict(state: dict, path: str | os.PathLike[str]) -> Path:
    import torch

    from kdbias_audit.atomic import atomic_write

    cpu_state = {k: v.detach().cpu() for k, v in state.items()}
    return atomic_write(path, lambda tmp: torch.save(cpu_state, tmp))
