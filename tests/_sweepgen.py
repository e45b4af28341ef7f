"""Generate small temperature sweeps (prediction files) with planted class effects, for tests.

Every model's per-seed class accuracy is ``base[c] + effect[c] + noise``; a wrong prediction
picks another class at random. Distilled students get a large gain on ``PLANTED`` classes that
grows with the temperature, so #SC must find them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kdbias_audit.io import write_predictions

NUM_CLASSES = 6
PER_CLASS = 300
PLANTED = (1, 4)
TEMPERATURES = (2.0, 4.0, 8.0)
SEEDS = (0, 1, 2)


def make_labels(num_classes: int = NUM_CLASSES, per_class: int = PER_CLASS) -> np.ndarray:
    return np.repeat(np.arange(num_classes), per_class)


def make_groups(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(12345)
    return {
        "young": np.where(rng.random(n) < 0.4, "young", "old"),
        "color": rng.integers(0, 3, size=n),
    }


def predictions(
    y: np.ndarray, class_acc: np.ndarray, rng: np.random.Generator, num_classes: int
) -> np.ndarray:
    """Correct with probability ``class_acc[y]``, else a uniformly chosen wrong class."""
    correct = rng.random(y.size) < class_acc[y]
    wrong = (y + rng.integers(1, num_classes, size=y.size)) % num_classes
    return np.where(correct, y, wrong).astype(np.int64)


def write_runset(
    directory: Path,
    y: np.ndarray,
    class_acc: np.ndarray,
    *,
    seeds=SEEDS,
    metadata: dict[str, Any],
    groups: dict[str, np.ndarray] | None,
    noise: float = 0.01,
    rng_seed: int = 0,
    num_classes: int = NUM_CLASSES,
) -> Path:
    for s in seeds:
        rng = np.random.default_rng([rng_seed, s])
        acc = np.clip(class_acc + rng.normal(0.0, noise, size=num_classes), 0.02, 0.98)
        pred = predictions(y, acc, rng, num_classes)
        write_predictions(
            directory / f"seed{s}.parquet",
            y_true=y,
            y_pred=pred,
            groups=groups,
            seed=int(s),
            num_classes=num_classes,
            metadata=dict(metadata),
        )
    return directory


def make_sweep(
    root: Path,
    *,
    temperatures=TEMPERATURES,
    seeds=SEEDS,
    with_groups: bool = True,
    class_names: list[str] | None = None,
    kd_alphas=(None,),
    dataset: str = "synthetic",
    num_classes: int = NUM_CLASSES,
    per_class: int = PER_CLASS,
) -> Path:
    """Teacher, NDS and one DS per (alpha, temperature) under ``root``; returns ``root``."""
    y = make_labels(num_classes, per_class)
    groups = make_groups(y.size) if with_groups else None
    base = np.linspace(0.55, 0.75, num_classes)
    common: dict[str, Any] = {"dataset": dataset}
    if class_names is not None:
        common["class_names"] = list(class_names)
    write_runset(
        root / "teacher",
        y,
        np.clip(base + 0.15, 0, 0.97),
        seeds=seeds,
        groups=groups,
        metadata={**common, "role": "teacher", "model": "resnet56"},
        rng_seed=1,
        num_classes=num_classes,
    )
    write_runset(
        root / "nds",
        y,
        base,
        seeds=seeds,
        groups=groups,
        metadata={**common, "role": "baseline", "model": "resnet20"},
        rng_seed=2,
        num_classes=num_classes,
    )
    for ai, a in enumerate(kd_alphas):
        for ti, t in enumerate(temperatures):
            acc = base + 0.01 * ti
            acc = acc.copy()
            for c in PLANTED:
                if c < num_classes:
                    acc[c] += 0.12 + 0.03 * ti
            meta = {
                **common,
                "role": "distilled",
                "model": "resnet20",
                "temperature": float(t),
                "teacher_model": "resnet56",
            }
            name = f"ds_T{t:g}"
            if a is not None:
                meta["alpha"] = float(a)
                name += f"_a{a:g}"
            write_runset(
                root / name,
                y,
                acc,
                seeds=seeds,
                groups=groups,
                metadata=meta,
                rng_seed=10 + 10 * ai + ti,
                num_classes=num_classes,
            )
    return root
