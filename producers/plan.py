"""The plan of a sweep: which runs, in which order, grouped how, and which are finished.

Shared by every executor of `producers.sweep` (in-memory one run at a time, in processes,
batched groups; streamed DDP and text runs in `producers.streamed`): `plan_sweep` lists the
runs (teachers, then NDS, then DS by temperature and seed), `SweepPlan.shard` takes a job
array's share, `plan_groups` forms the batched groups, `run_state` says whether a run is done
(and checks its recipe), `SweepSummary` reports.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kdbias_audit.errors import KDAuditError

from .settings import get_setting
from .train import RunSpec

__all__ = [
    "WORK_DIR",
    "SweepPlan",
    "SweepRun",
    "SweepSummary",
    "checkpoint_path",
    "default_batch_runs",
    "default_compile",
    "group_name",
    "parse_float_list",
    "parse_int_list",
    "parse_shard",
    "plan_groups",
    "plan_sweep",
    "run_state",
    "temperature_label",
]

WORK_DIR = ".producers"


# --- parsing ---------------------------------------------------------------------------------


def _parse_items(text: str, what: str) -> list[str]:
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise KDAuditError(f"--{what}: empty list")
    return items


def parse_int_list(text: str, what: str = "seeds") -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,2,5-6"`` -> [0, 2, 5, 6] (order kept, duplicates dropped)."""
    out: list[int] = []
    for item in _parse_items(text, what):
        try:
            if "-" in item:
                lo, hi = item.split("-", 1)
                a, b = int(lo), int(hi)
                if b < a:
                    raise ValueError
                out.extend(range(a, b + 1))
            else:
                out.append(int(item))
        except ValueError:
            raise KDAuditError(f"--{what}: cannot read {item!r}; use e.g. 0-4 or 0,2,5") from None
    return list(dict.fromkeys(out))


def parse_float_list(text: str, what: str = "temperatures") -> list[float]:
    """``"1-10,20,30,40"`` -> 1..10 (integer steps), 20, 30, 40; ``"0.5,2.5"`` as given."""
    out: list[float] = []
    for item in _parse_items(text, what):
        try:
            if "-" in item:
                lo, hi = item.split("-", 1)
                a, b = float(lo), float(hi)
                if b < a or a != int(a) or b != int(b):
                    raise ValueError
                out.extend(float(v) for v in range(int(a), int(b) + 1))
            else:
                out.append(float(item))
        except ValueError:
            raise KDAuditError(
                f"--{what}: cannot read {item!r}; use numbers and integer ranges, e.g. 1-10,20"
            ) from None
    if any(t <= 0 for t in out):
        raise KDAuditError(f"--{what}: temperatures must be > 0")
    return list(dict.fromkeys(out))


def parse_shard(text: str | None) -> tuple[int, int]:
    if not text:
        return 0, 1
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise KDAuditError(f"--shard: expected i/n (e.g. 0/4), got {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise KDAuditError(f"--shard: need 0 <= i < n, got {text!r}")
    return i, n


def temperature_label(t: float) -> str:
    """Directory label of a temperature: 4.0 -> ``"4"``, 2.5 -> ``"2.5"``."""
    return f"{t:g}"


# --- plan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepRun:
    """One run of the plan: its spec, its output file, its log, and its teacher's files."""

    spec: RunSpec
    runset: str
    out: Path
    log: Path
    teacher_out: Path | None = None

    @property
    def name(self) -> str:
        return f"{self.runset}/seed{self.spec.seed}"


@dataclass(frozen=True)
class SweepPlan:
    root: Path
    runs: tuple[SweepRun, ...]
    data_cache: Path | None

    def shard(self, i: int, n: int) -> SweepPlan:
        return SweepPlan(
            self.root, tuple(r for j, r in enumerate(self.runs) if j % n == i), self.data_cache
        )


def checkpoint_path(root: Path, seed: int) -> Path:
    return root / WORK_DIR / "checkpoints" / f"teacher_seed{seed}.pt"


def plan_sweep(
    *,
    setting: str,
    out: str | os.PathLike[str],
    seeds: Sequence[int],
    temperatures: Sequence[float],
    epochs: int,
    alpha: float = 0.8,
    batch_size: int | None = None,
    teacher_arch: str | None = None,
    student_arch: str | None = None,
    teacher_epochs: int | None = None,
    lr: float | None = None,
    student_lr: float | None = None,
    student_grad_clip: float | None | str = "setting",
    student_warmup: float | str = "setting",
    include_nds: bool = True,
    **spec_options,
) -> SweepPlan:
    """The ordered runs of a sweep (teachers, then NDS, then DS by temperature and seed).

    ``lr`` is the teachers' initial learning rate and the students' unless ``student_lr`` is
    given; ``None`` takes the setting's (`producers.registry.Setting.optim_defaults`: the
    study's 0.1 for every model of the image settings, 2e-5 for HateXplain). ``student_grad_clip`` is the students' maximum
    gradient norm: ``"setting"`` (default) takes the setting's (1.0 for the LeNet-5 settings,
    none elsewhere), ``None`` or 0 turns clipping off. ``student_warmup`` is the students'
    linear LR warm-up as a fraction of their steps: ``"setting"`` (default) takes the
    setting's (0.1 for Trifeature, 0 elsewhere). ``spec_options`` go to every `RunSpec`
    (``image_size``, ``train_size``, ``test_size``, ``data_root``, ``device``, ``compile``,
    ``logits_dtype``, ``models_root``, ``num_workers``, ``max_steps``, ...).
    """
    s_lr = lr if student_lr is None else student_lr
    s = get_setting(setting)
    s_clip = s.student_grad_clip if student_grad_clip == "setting" else student_grad_clip
    s_clip = float(s_clip) if s_clip else None
    s_warmup = float(s.student_warmup if student_warmup == "setting" else student_warmup or 0.0)
    root = Path(out)
    bs = batch_size or s.batch_size
    t_arch = teacher_arch or s.teacher_arch
    s_arch = student_arch or s.student_arch
    cache = None
    if s.generated:
        key = "_".join(
            f"{k}{spec_options.get(k)}"
            for k in ("image_size", "train_size", "test_size", "data_seed")
        )
        cache = root / WORK_DIR / "data" / f"{s.name}_{key}.npz"
    spec_options = dict(spec_options)
    if cache is not None:
        spec_options["data_cache"] = str(cache)
    logs = root / WORK_DIR / "logs"
    runs: list[SweepRun] = []
    for seed in seeds:
        runs.append(
            SweepRun(
                RunSpec(
                    setting=setting,
                    role="teacher",
                    seed=seed,
                    arch=t_arch,
                    epochs=teacher_epochs or epochs,
                    batch_size=bs,
                    lr=lr,
                    save_checkpoint=str(checkpoint_path(root, seed)),
                    **spec_options,
                ),
                "teacher",
                root / "teacher" / f"seed{seed}.parquet",
                logs / f"teacher_seed{seed}.log",
            )
        )
    if include_nds:
        for seed in seeds:
            runs.append(
                SweepRun(
                    RunSpec(
                        setting=setting,
                        role="baseline",
                        seed=seed,
                        arch=s_arch,
                        epochs=epochs,
                        batch_size=bs,
                        lr=s_lr,
                        grad_clip=s_clip,
                        warmup=s_warmup,
                        **spec_options,
                    ),
                    "nds",
                    root / "nds" / f"seed{seed}.parquet",
                    logs / f"nds_seed{seed}.log",
                )
            )
    for t in temperatures:
        label = f"ds_T{temperature_label(t)}"
        for seed in seeds:
            runs.append(
                SweepRun(
                    RunSpec(
                        setting=setting,
                        role="distilled",
                        seed=seed,
                        arch=s_arch,
                        epochs=epochs,
                        batch_size=bs,
                        lr=s_lr,
                        grad_clip=s_clip,
                        warmup=s_warmup,
                        temperature=float(t),
                        alpha=alpha,
                        teacher_arch=t_arch,
                        teacher_checkpoint=str(checkpoint_path(root, seed)),
                        **spec_options,
                    ),
                    label,
                    root / label / f"seed{seed}.parquet",
                    logs / f"{label}_seed{seed}.log",
                    teacher_out=root / "teacher" / f"seed{seed}.parquet",
                )
            )
    return SweepPlan(root, tuple(runs), cache)


# --- state of a run on disk ------------------------------------------------------------------

_CHECKED_KEYS = (
    "role",
    "model",
    "dataset",
    "seed",
    "temperature",
    "alpha",
    "teacher_model",
    "epochs",
    "batch_size",
    "lr",
    "grad_clip",
    "warmup",
    "data_seed",
    "image_size",
    "train_size",
    "test_size",
)
# what a file written before a recipe key existed used (files without ``warmup`` had none, so
# the teachers of an earlier sweep stay valid)
_ABSENT_MEANS = {"warmup": 0.0}


def run_state(run: SweepRun, expected: dict | None = None) -> str:
    """``"done"``, ``"missing"`` or ``"invalid"`` (a file that does not validate).

    A teacher is done only when its checkpoint exists too. When ``expected`` metadata is given
    and the file disagrees on a recipe key, raises `KDAuditError` naming the key.
    """
    from kdbias_audit.io import read_predictions

    if not run.out.is_file():
        return "missing"
    if run.spec.save_checkpoint and not Path(run.spec.save_checkpoint).is_file():
        return "missing"
    try:
        meta = read_predictions(run.out).metadata
    except KDAuditError:
        return "invalid"
    if expected is not None:
        for key in _CHECKED_KEYS:
            got = meta.get(key, _ABSENT_MEANS.get(key))
            if key in expected and got != expected[key]:
                raise KDAuditError(
                    f"{run.out}: exists but was made with {key}={got!r} (this sweep: "
                    f"{expected[key]!r}); use another --out or remove the file"
                )
    return "done"


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep invocation did: run names trained, skipped and failed (with the reason)."""

    root: Path
    trained: tuple[str, ...]
    skipped: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict:
        return {
            "root": str(self.root),
            "trained": list(self.trained),
            "skipped": list(self.skipped),
            "failed": [{"run": n, "error": e} for n, e in self.failed],
        }


def plan_groups(runs: Sequence[SweepRun], batch_runs: int) -> list[tuple[SweepRun, ...]]:
    """Split ``runs`` into groups that train together as one wide network (`producers.batched`).

    Groups come in stage order (teachers, then non-distilled, then distilled students); a group
    holds runs of one role, architecture and recipe (`producers.batched.group_key`), sorted by
    seed then temperature, so the distilled students of one seed at every temperature share a
    group (and their teacher's forward pass) whenever ``batch_runs`` allows. ``n`` compatible
    runs make ``ceil(n / batch_runs)`` groups of near-equal size (65 students, K = 16: five
    groups of 13, one seed each). Architectures without a batched version, and
    ``batch_runs <= 1``, give groups of one (the unbatched reference trainer).
    """
    from .batched import batchable, group_key

    order = {"teacher": 0, "baseline": 1, "distilled": 2}
    out: list[tuple[SweepRun, ...]] = []
    for role in sorted(order, key=order.get):
        buckets: dict[tuple, list[SweepRun]] = {}
        for run in runs:
            if run.spec.role != role:
                continue
            spec = run.spec
            ok = batch_runs > 1 and batchable(spec.arch)
            if ok and role == "distilled":
                ok = batchable(spec.teacher_arch or "")
            if not ok:
                out.append((run,))
                continue
            buckets.setdefault(group_key(spec), []).append(run)
        for members in buckets.values():
            members.sort(key=lambda r: (r.spec.seed, r.spec.temperature or 0.0))
            n = len(members)
            g = -(-n // batch_runs)
            size, extra = divmod(n, g)
            start = 0
            for j in range(g):
                stop = start + size + (1 if j < extra else 0)
                out.append(tuple(members[start:stop]))
                start = stop
    return out


def group_name(group: Sequence[SweepRun]) -> str:
    """``teacher/seed0`` for one run; ``ds_T1..T10/seed0 (10 runs)`` style for a group."""
    if len(group) == 1:
        return group[0].name
    runsets = list(dict.fromkeys(r.runset for r in group))
    seeds = list(dict.fromkeys(r.spec.seed for r in group))
    rs = runsets[0] if len(runsets) == 1 else f"{runsets[0]}..{runsets[-1]}"
    sd = f"seed{seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}..{seeds[-1]}"
    return f"{rs}/{sd} ({len(group)} runs)"


def _on_cuda(device: str) -> bool:
    """Does ``device`` ("auto", "cpu", "cuda", ...) resolve to CUDA here? (False if it cannot.)"""
    from .gpu import resolve_device

    try:
        return resolve_device(device).type == "cuda"
    except RuntimeError:
        return False


def default_compile(device: str) -> bool:
    """On for CUDA, off elsewhere: ``torch.compile(mode="reduce-overhead")`` (CUDA graphs).

    Measured on an H200 (`benchmarks/results/train_speed_batched_compiled_h200.log`): a
    batched group of 16 ResNet-20s trains 1.9x faster compiled than eager, the KD group of 13
    3.2x; in float64 the compiled group gives the eager numbers to 4e-15. Compiling costs
    20-40 s per group. Only in-memory runs compile; the streamed runners ignore it.
    """
    return _on_cuda(device)


def default_batch_runs(device: str) -> int:
    """16 on CUDA (K runs per wide network), 1 (the unbatched reference) on CPU."""
    return 16 if _on_cuda(device) else 1
