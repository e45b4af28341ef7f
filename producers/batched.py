"""K runs trained as one network: seed- and temperature-batched training.

Small CIFAR models cannot fill a modern GPU one run at a time. Here a *group* of K compatible
runs (same architecture and recipe; seeds and, for distilled students, temperatures differ) is
trained as one "wide" network whose every layer holds K independent copies:

- convolutions are grouped convolutions (``groups=K``) over the K runs' channels stacked on the
  channel axis, so run ``k`` only ever sees its own channels;
- batch norm is one ``BatchNorm2d(K * C)``: statistics are per channel, hence per run;
- linear layers are one batched matrix product over a leading run axis;
- the loss is the sum of the K runs' losses (`producers.kd.kd_loss` with a leading run axis and
  one temperature per run), whose gradient with respect to run ``k``'s weights is run ``k``'s own
  gradient; SGD (momentum, weight decay) is element-wise, so one optimiser over the stacked
  weights is K independent optimisers.

Each run keeps what it would have alone: its initial weights are built exactly as
`producers.train.train_run` builds them (``torch.manual_seed(seed)``, then
`producers.models.build_model`) and copied in; its batches (order, crops, flips) come from its
own generator seeded with its seed and drawn through the same `producers.gpu.DeviceData`
methods in the same order; its BatchNorm statistics are its own. Runs that share a seed (the
distilled students of one seed at every temperature) share one data stream, so the teacher of
that seed runs once per batch for all of them (the teachers of a group's seeds are batched the
same way). The optimiser, learning-rate schedule and loss are the unbatched `Trainer`'s own
(`BatchedTrainer` subclasses it), so a change of recipe applies to both.

The wide model's state dict uses the single-run model's key names; `run_state_dict` and
`load_run` move one run's weights out of and into it. Supported: the CIFAR ResNets
(``resnet<6n+2>``) and ``lenet5``; other architectures train one run at a time.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from kdbias_audit.errors import KDAuditError

from .train import (
    RunResult,
    RunSpec,
    Trainer,
    device_splits,
    load_data,
    log_writer,
    trainer_options,
)

__all__ = [
    "BatchedTrainer",
    "GroupOutcome",
    "PerRunNetwork",
    "WideCifarResNet",
    "WideLeNet5",
    "batchable",
    "build_wide",
    "group_key",
    "load_run",
    "run_state_dict",
    "train_group",
    "widen",
]

_RESNET = re.compile(r"^(?:cifar_)?resnet(\d+)$")


def batchable(arch: str) -> bool:
    """Whether ``arch`` has a wide (K-copy) version: ``resnet<6n+2>`` or ``lenet5``."""
    name = arch.strip().lower()
    m = _RESNET.match(name)
    if m:
        d = int(m.group(1))
        return d >= 8 and (d - 2) % 6 == 0
    return name in ("lenet5", "lenet-5", "lenet")


# --- wide layers -----------------------------------------------------------------------------


class WideConv2d(nn.Module):
    """K independent ``Conv2d(cin, cout)`` as one grouped convolution.

    Input ``(B, K * cin, H, W)`` (run ``k``'s channels at ``k * cin ...``), or with
    ``shared=True`` one ``(B, cin, H, W)`` input seen by all K runs (an ordinary convolution
    with ``K * cout`` filters: the same numbers as K copies of the input, without the copies).
    Weight ``(K * cout, cin, kh, kw)``: run ``k``'s filters are rows ``k * cout ...``.
    """

    def __init__(
        self,
        k: int,
        cin: int,
        cout: int,
        kernel: int,
        *,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.k, self.stride, self.padding = k, stride, padding
        self.weight = nn.Parameter(torch.empty(k * cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(k * cout)) if bias else None
        nn.init.kaiming_normal_(self.weight)

    def forward(self, x: torch.Tensor, shared: bool = False) -> torch.Tensor:
        groups = 1 if shared else self.k
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, 1, groups)


class WideLinear(nn.Module):
    """K independent ``Linear(fin, fout)``: ``(K, B, fin) -> (K, B, fout)``.

    Weight ``(K, fout, fin)``, bias ``(K, fout)``.
    """

    def __init__(self, k: int, fin: int, fout: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(k, fout, fin))
        self.bias = nn.Parameter(torch.zeros(k, fout))
        nn.init.kaiming_normal_(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias[:, None, :], x, self.weight.transpose(1, 2))


def _runs_first(x: torch.Tensor, k: int) -> torch.Tensor:
    """Pooled ``(B, K * F)`` features -> ``(K, B, F)``."""
    b = x.shape[0]
    return x.reshape(b, k, -1).transpose(0, 1)


class _WideBlock(nn.Module):
    def __init__(self, k: int, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.k = k
        self.conv1 = WideConv2d(k, in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(k * planes)
        self.conv2 = WideConv2d(k, planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(k * planes)
        self.stride = stride
        self.in_planes = in_planes
        self.pad = planes - in_planes  # option A, per run

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride != 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.pad:
            b, _, h, w = x.shape
            x = x.reshape(b, self.k, self.in_planes, h, w)
            x = F.pad(x, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
            x = x.reshape(b, self.k * (self.in_planes + self.pad), h, w)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class WideCifarResNet(nn.Module):
    """K copies of `producers.models.CifarResNet` (same key names); output ``(K, B, C)``."""

    def __init__(self, k: int, depth: int = 20, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2 (20, 32, 44, 56, 110), got {depth}")
        n = (depth - 2) // 6
        self.k = k
        self.conv1 = WideConv2d(k, in_channels, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(k * 16)
        layers: list[nn.Module] = []
        in_planes = 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(n):
                layers.append(_WideBlock(k, in_planes, planes, stride if i == 0 else 1))
                in_planes = planes
        self.layers = nn.Sequential(*layers)
        self.fc = WideLinear(k, 64, num_classes)
        self._single_args = (depth, num_classes, in_channels)

    def single(self) -> nn.Module:
        """A single-run network of this architecture (the layout `run_state_dict` fills)."""
        from .models import CifarResNet

        return CifarResNet(*self._single_args)

    def forward(self, x: torch.Tensor, shared: bool = False) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x, shared)))
        x = self.layers(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(_runs_first(x, self.k))


class WideLeNet5(nn.Module):
    """K copies of `producers.models.LeNet5` (same key names); output ``(K, B, C)``."""

    MIN_SIZE = 16

    def __init__(self, k: int, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        self.k = k
        self.conv1 = WideConv2d(k, in_channels, 6, 5)
        self.conv2 = WideConv2d(k, 6, 16, 5)
        self.fc1 = WideLinear(k, 16 * 5 * 5, 120)
        self.fc2 = WideLinear(k, 120, 84)
        self.fc3 = WideLinear(k, 84, num_classes)
        self._single_args = (num_classes, in_channels)

    def single(self) -> nn.Module:
        """A single-run network of this architecture (the layout `run_state_dict` fills)."""
        from .models import LeNet5

        return LeNet5(*self._single_args)

    def forward(self, x: torch.Tensor, shared: bool = False) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h < self.MIN_SIZE or w < self.MIN_SIZE:
            ph, pw = max(0, self.MIN_SIZE - h), max(0, self.MIN_SIZE - w)
            x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        x = F.max_pool2d(F.relu(self.conv1(x, shared)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.adaptive_avg_pool2d(x, 5)
        b = x.shape[0]
        x = x.reshape(b, self.k, 16 * 25).transpose(0, 1)  # per run: flatten (C, H, W)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class PerRunNetwork(nn.Module):
    """Runs a wide network's K runs one after the other, each as the single-run network.

    The same weights (views of the wide network's tensors, so gradients and BatchNorm running
    statistics land in the wide tensors) and the same numbers as the wide forward; on CPU it is
    faster than grouped convolutions (oneDNN's grouped kernels were measured slower than K plain
    ones), so `BatchedTrainer` uses it there. Input and output as the wide network's.
    """

    def __init__(self, wide: nn.Module) -> None:
        super().__init__()
        self.k = wide.k
        self.wide = [wide]  # not a submodule: the wide network owns the weights
        first = next(iter(wide.parameters()))
        self.template = wide.single().to(device=first.device, dtype=first.dtype)
        self.shapes = {k: v.shape for k, v in self.template.state_dict().items()}

    def _views(self, i: int) -> dict[str, torch.Tensor]:
        wide = self.wide[0]
        out = {}
        for name, t in [*wide.named_parameters(), *wide.named_buffers()]:
            one = self.shapes[name]
            if name.endswith("num_batches_tracked"):  # counted once per step, by run 0
                out[name] = t if i == 0 else t.clone()
            elif t.ndim == len(one) + 1:
                out[name] = t[i]
            else:
                n = one[0]
                out[name] = t[i * n : (i + 1) * n]
        return out

    def forward(self, x, shared: bool = False) -> torch.Tensor:
        """``x``: the wide network's input, or a list of K per-run inputs."""
        from torch.func import functional_call

        self.template.train(self.wide[0].training)
        if isinstance(x, (list, tuple)):  # one input per run, each (B, C, H, W)
            xs = list(x)
        else:
            xs = [x] * self.k if shared else list(x.chunk(self.k, 1))
        outs = [
            functional_call(self.template, self._views(i), (xs[i],), strict=True)
            for i in range(self.k)
        ]
        return torch.stack(outs)


def build_wide(arch: str, k: int, *, num_classes: int, in_channels: int = 3) -> nn.Module:
    """The K-copy version of ``arch`` (weights to be copied in with `load_run`)."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    name = arch.strip().lower()
    m = _RESNET.match(name)
    if m and batchable(name):
        return WideCifarResNet(k, int(m.group(1)), num_classes, in_channels)
    if batchable(name):
        return WideLeNet5(k, num_classes, in_channels)
    raise ValueError(f"architecture {arch!r} has no batched version (resnet<6n+2>, lenet5)")


def _slot(wide: torch.Tensor, one: torch.Tensor, k: int, i: int) -> torch.Tensor:
    """Run ``i``'s part of a wide tensor whose single-run counterpart has ``one``'s shape."""
    if wide.ndim == one.ndim + 1 and wide.shape[0] == k:  # leading run axis (linear layers)
        return wide[i]
    if wide.ndim == one.ndim and wide.ndim >= 1 and wide.shape[0] == k * one.shape[0]:
        n = one.shape[0]
        return wide[i * n : (i + 1) * n]  # stacked along the first axis (convs, batch norm)
    if wide.shape == one.shape:  # shared counters (num_batches_tracked)
        return wide
    raise ValueError(f"cannot map a {tuple(one.shape)} tensor into {tuple(wide.shape)}")


def load_run(wide: nn.Module, i: int, state: dict[str, torch.Tensor]) -> None:
    """Copy a single-run state dict (`producers.models` names) into run ``i`` of ``wide``."""
    k = wide.k
    target = wide.state_dict(keep_vars=True)
    if set(target) != set(state):
        raise ValueError(f"state dict keys differ: {sorted(set(target) ^ set(state))[:4]}")
    with torch.no_grad():
        for key, v in state.items():
            _slot(target[key], v, k, i).copy_(v)


def run_state_dict(wide: nn.Module, i: int, like: nn.Module) -> dict[str, torch.Tensor]:
    """Run ``i``'s weights as the state dict of ``like`` (a single-run model of the same arch)."""
    k = wide.k
    wsd = wide.state_dict()
    return {key: _slot(wsd[key], v, k, i).detach().clone() for key, v in like.state_dict().items()}


def widen(arch: str, models: Sequence[nn.Module], *, num_classes: int) -> nn.Module:
    """One wide network holding ``models`` (single-run networks of ``arch``) as its runs."""
    wide = build_wide(arch, len(models), num_classes=num_classes)
    first = next(iter(models[0].parameters()))
    wide = wide.to(device=first.device, dtype=first.dtype)
    for i, m in enumerate(models):
        load_run(wide, i, m.state_dict())
    return wide


# --- the trainer -----------------------------------------------------------------------------


def _wide_input(x: torch.Tensor) -> torch.Tensor:
    """(K, B, H, W, 3) per-run batches -> (B, K*3, H, W) in channels_last storage."""
    k, b, h, w, c = x.shape
    return x.permute(1, 2, 3, 0, 4).reshape(b, h, w, k * c).permute(0, 3, 1, 2)


class BatchedTrainer(Trainer):
    """`Trainer` for a wide network: K runs, one optimiser step for all of them per batch.

    Parameters
    ----------
    model : wide network (`build_wide`), K runs
    train_data : `producers.gpu.DeviceData`
    seeds : sequence of int, length K
        Run ``k``'s seed: its data order and augmentation come from a generator seeded with it,
        as in the unbatched `Trainer`. Runs with equal seeds share one data stream.
    teacher : wide network with one run per distinct seed (in order of first appearance), or None
    temperatures : sequence of float, length K (distilled runs), or None
    strategy : ``"auto"``, ``"wide"`` or ``"per_run"``
        How the K runs execute: ``"wide"`` as one network (grouped convolutions; CUDA),
        ``"per_run"`` one after the other through `PerRunNetwork` (CPU); ``"auto"`` picks by
        device. Both give the same numbers.
    The other parameters are `Trainer`'s (the recipe is the same for every run of a group).
    """

    def __init__(
        self,
        model,
        train_data,
        *,
        seeds: Sequence[int],
        temperatures: Sequence[float] | None = None,
        teacher=None,
        strategy: str = "auto",
        **kwargs,
    ) -> None:
        kwargs.pop("seed", None)
        kwargs.pop("temperature", None)
        unique = list(dict.fromkeys(int(s) for s in seeds))
        super().__init__(model, train_data, seed=unique[0], teacher=teacher, **kwargs)
        torch = self.torch
        self.k = len(seeds)
        if getattr(model, "k", self.k) != self.k:
            raise ValueError(f"model holds {model.k} runs, {self.k} seeds given")
        self.seeds = [int(s) for s in seeds]
        self.streams = len(unique)
        self.generators = [self.generator]
        for s in unique[1:]:
            g = torch.Generator(device=self.device)
            g.manual_seed(s)
            self.generators.append(g)
        self._stream_list = [unique.index(s) for s in self.seeds]
        self.stream_of = torch.tensor(
            [unique.index(s) for s in self.seeds], dtype=torch.long, device=self.device
        )
        self._identity = self.streams == self.k and all(
            i == unique.index(s) for i, s in enumerate(self.seeds)
        )
        if strategy not in ("auto", "wide", "per_run"):
            raise ValueError(f"strategy must be auto, wide or per_run, got {strategy!r}")
        if strategy == "auto":
            strategy = "wide" if self.device.type == "cuda" else "per_run"
        self.strategy = strategy
        self._eval = self.model
        if strategy == "per_run":
            self._fwd = self._eval = PerRunNetwork(self.model)
            if self.teacher is not None:
                self._tfwd = PerRunNetwork(self.teacher)
        self.temperatures = None
        if temperatures is not None:
            if len(temperatures) != self.k or any(t is None or t <= 0 for t in temperatures):
                raise ValueError("one temperature > 0 per run is needed")
            self.temperatures = torch.tensor(
                [float(t) for t in temperatures], dtype=torch.float64, device=self.device
            )

    # data ------------------------------------------------------------------------------------

    def epoch_batches(self):
        """One epoch of every stream's batches: (S, B, H, W, 3) normalised floats, (S, B) labels.

        Each stream draws exactly what `DeviceData.train_batches` draws for one run.
        """
        torch = self.torch
        data = self.data
        perms = [data.epoch_order(g) for g in self.generators]
        bs = min(self.batch_size, data.n)
        for step in range(data.steps_per_epoch(self.batch_size)):
            idx = torch.stack([p[step * bs : (step + 1) * bs] for p in perms])
            draws = [
                data.draw_augment(bs, padding=self.padding, hflip=self.hflip, generator=g)
                for g in self.generators
            ]
            oy = torch.stack([d[0] for d in draws])
            ox = torch.stack([d[1] for d in draws])
            flip = torch.stack([d[2] for d in draws]) if self.hflip else None
            x = data.normalize_nhwc(data.crop(idx, oy, ox, flip, padding=self.padding))
            yield x, data.labels[idx]

    def _per_run(self, t: torch.Tensor) -> torch.Tensor:
        """Stream-indexed (S, ...) -> run-indexed (K, ...)."""
        if self._identity:
            return t
        if self.streams == 1:
            return t.expand(self.k, *t.shape[1:])
        return t[self.stream_of]

    # steps -----------------------------------------------------------------------------------

    def train_step(self, x, y):
        """One SGD step of all K runs on stream batches ``x`` (S, B, H, W, 3), ``y`` (S, B).

        Returns (per-run losses (K,), per-run numbers correct (K,)) as device tensors.
        """
        from .gpu import autocast
        from .kd import kd_loss

        torch = self.torch
        if self.graphs:
            torch.compiler.cudagraph_mark_step_begin()
        lr = self.lr_at(self.step_count)
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        shared = self.streams == 1
        if shared:
            xs = xt = x[0].permute(0, 3, 1, 2)
        elif self.strategy == "per_run":  # no wide copy: each run reads its stream's batch
            xs = [x[i].permute(0, 3, 1, 2) for i in self._stream_list]
            xt = [x[i].permute(0, 3, 1, 2) for i in range(self.streams)]
        else:
            xs = _wide_input(self._per_run(x))
            xt = _wide_input(x) if self._tfwd is not None else None
        with autocast(self.device, self.amp):
            t_logits = None
            if self._tfwd is not None:
                with torch.no_grad():
                    t_logits = self._per_run(self._tfwd(xt, shared))
            out = self._fwd(xs, shared)
        yk = self._per_run(y)
        losses = kd_loss(
            out,
            t_logits,
            yk,
            temperature=self.temperatures if self.temperatures is not None else 1.0,
            alpha=self.alpha if t_logits is not None else 0.0,
        )
        self.optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()
        self.clip_gradients()
        self.optimizer.step()
        self.step_count += 1
        correct = (out.detach().argmax(-1) == yk).sum(-1)
        return losses.detach(), correct

    def clip_gradients(self) -> None:
        """`Trainer.clip_gradients` for each run: its own global norm, its own scale.

        ``torch.nn.utils.clip_grad_norm_``'s rule (scale ``min(1, clip / (norm + 1e-6))``) with
        the norm over run ``k``'s slices of every gradient (rows ``k`` of a ``(K * n, ...)``
        or ``(K, ...)`` tensor), no host sync.
        """
        if self.grad_clip is None:
            return
        torch = self.torch
        grads = [p.grad for p in self.model.parameters() if p.grad is not None]
        if not grads:
            return
        k = self.k
        # every gradient is run-major (rows k * n ... of a (K * n, ...) or (K, ...) tensor), so
        # splitting the first axis into (K, n) views each run's slice, whatever the memory
        # format of the rest: one norm kernel and one scale kernel per tensor
        runs = [g.detach().view(k, g.shape[0] // k, *g.shape[1:]) for g in grads]
        per_tensor = torch.stack(
            [torch.linalg.vector_norm(r, dim=tuple(range(1, r.ndim))) for r in runs]
        )  # (P, K)
        norms = torch.linalg.vector_norm(per_tensor, dim=0)
        coef = (self.grad_clip / (norms + 1e-6)).clamp(max=1.0)
        for r in runs:
            r.mul_(coef.view(k, *([1] * (r.ndim - 1))).to(r.dtype))
        self.last_grad_norms = norms

    def run_epoch(self, on_step: Callable[[int], None] | None = None):
        """Train one epoch; returns (per-run mean loss, per-run train accuracy, images per run)."""
        torch = self.torch
        self.model.train()
        loss_sum = torch.zeros(self.k, dtype=torch.float64, device=self.device)
        correct = torch.zeros(self.k, dtype=torch.long, device=self.device)
        seen = 0
        for i, (x, y) in enumerate(self.epoch_batches()):
            loss, c = self.train_step(x, y)
            loss_sum += loss.double() * y.shape[1]
            correct += c
            seen += int(y.shape[1])
            if on_step is not None:
                on_step(i + 1)
        n = max(seen, 1)
        return (loss_sum / n).cpu().numpy(), (correct.double() / n).cpu().numpy(), seen

    # predict (Trainer's): logits (K, N, C), every run on the same eval batches
    _sample_axis = 1

    def _eval_logits(self, x):
        return self._eval(x, True)


# --- one group of runs -> one prediction file each ---------------------------------------------

_PER_RUN = ("seed", "temperature", "teacher_checkpoint", "save_checkpoint")


def group_key(spec: RunSpec) -> tuple:
    """What runs of one group share: everything but seed, temperature and checkpoint paths.

    Runs with equal keys have the same architecture, role, recipe and data, so the same
    learning-rate schedule; `train_group` trains them together.
    """
    d = dataclasses.asdict(spec)
    return tuple(sorted((k, v) for k, v in d.items() if k not in _PER_RUN))


@dataclass(frozen=True)
class GroupOutcome:
    """What became of one run of a group: its result, or the error that stopped it."""

    spec: RunSpec
    out: Path
    result: RunResult | None = None
    error: Exception | None = None


def train_group(
    specs: Sequence[RunSpec],
    outs: Sequence[str | Path],
    *,
    data=None,
    log_paths: Sequence[str | Path | None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    overwrite: bool = True,
) -> list[GroupOutcome]:
    """Train ``specs`` (compatible runs, see `group_key`) as one wide network.

    Each run writes its own prediction file ``outs[i]`` (and teacher checkpoint, and log)
    exactly as `producers.train.train_run` would. A run whose loss stops being finite is
    reported as failed (its file is not written); the others go on.
    """
    from kdbias_audit.io import write_predictions

    from ._atomic_torch import save_state_dict
    from .gpu import configure_device, resolve_device
    from .models import build_model, load_checkpoint
    from .settings import get_setting

    specs = list(specs)
    if not specs:
        return []
    keys = {group_key(s) for s in specs}
    if len(keys) != 1:
        raise KDAuditError("a batched group needs runs with one architecture and recipe")
    first = specs[0]
    if not batchable(first.arch) or (
        first.role == "distilled" and not batchable(first.teacher_arch)
    ):
        raise KDAuditError(f"{first.arch}: no batched version; train it with train_run")
    logs = [log_writer(Path(p) if p else None) for p in (log_paths or [None] * len(specs))]
    setting = get_setting(first.setting)
    if first.threads:
        torch.set_num_threads(first.threads)
    device = resolve_device(first.device)
    configure_device(device)
    if data is None:
        data = load_data(first)
    image_size = data.train.image_size[0]
    k = len(specs)
    for spec, log in zip(specs, logs, strict=True):
        log(
            f"start {spec.role} {spec.arch} seed={spec.seed} on {device} "
            f"(batched with {k} runs): {spec.to_json()}"
        )
    if first.compile:
        torch.compiler.reset()

    singles = []
    for spec in specs:  # each run's initial weights exactly as train_run makes them
        torch.manual_seed(spec.seed)
        np.random.seed(spec.seed % (2**32))
        singles.append(build_model(spec.arch, num_classes=data.num_classes, image_size=image_size))
    model = widen(first.arch, singles, num_classes=data.num_classes)
    teacher = None
    if first.role == "distilled":
        ckpts: dict[int, str] = {}
        for spec in specs:
            if ckpts.setdefault(spec.seed, spec.teacher_checkpoint) != spec.teacher_checkpoint:
                raise KDAuditError(f"seed {spec.seed}: runs of one seed need one teacher")
        teachers = [
            load_checkpoint(
                build_model(
                    first.teacher_arch, num_classes=data.num_classes, image_size=image_size
                ),
                path,
            )
            for path in ckpts.values()
        ]
        teacher = widen(first.teacher_arch, teachers, num_classes=data.num_classes)

    train_data, test_data = device_splits(data, device)
    steps_per_epoch = train_data.steps_per_epoch(first.batch_size)
    total = steps_per_epoch * first.epochs
    trainer = BatchedTrainer(
        model,
        train_data,
        device=device,
        total_steps=total,
        seeds=[s.seed for s in specs],
        teacher=teacher,
        temperatures=[s.temperature for s in specs] if first.role == "distilled" else None,
        **trainer_options(first, setting, image_size),
    )
    failed: dict[int, Exception] = {}
    t0 = time.perf_counter()
    train_acc = np.full(k, np.nan)
    for epoch in range(first.epochs):
        te = time.perf_counter()
        base = epoch * steps_per_epoch

        def on_step(i: int, base: int = base) -> None:
            if progress is not None:
                progress(base + i, total)

        loss, train_acc, seen = trainer.run_epoch(on_step)
        dt = time.perf_counter() - te
        lr = trainer.lr_at(trainer.step_count - 1)
        for i, log in enumerate(logs):
            if i in failed:
                continue
            log(
                f"epoch {epoch + 1}/{first.epochs} loss={loss[i]:.4f} train_acc={train_acc[i]:.4f} "
                f"lr={lr:.4g} {dt:.1f}s {k * seen / max(dt, 1e-9):.0f} img/s (group of {k})"
            )
            if not math.isfinite(float(loss[i])):
                failed[i] = KDAuditError(
                    f"{outs[i]}: training diverged (loss {loss[i]}) at epoch {epoch + 1}"
                )
    seconds = time.perf_counter() - t0

    logits = trainer.predict(test_data, first.eval_batch_size)
    outcomes: list[GroupOutcome] = []
    for i, (spec, out, log) in enumerate(zip(specs, outs, logs, strict=True)):
        out = Path(out)
        if i in failed:
            outcomes.append(GroupOutcome(spec, out, error=failed[i]))
            continue
        try:
            if spec.save_checkpoint:
                save_state_dict(run_state_dict(trainer.model, i, singles[i]), spec.save_checkpoint)
            test_acc = float((logits[i].argmax(1) == data.test.labels).mean())
            write_predictions(
                out,
                y_true=data.test.labels,
                logits=logits[i],
                sample_id=data.test.sample_id,
                groups={g: np.asarray(v, dtype=str) for g, v in data.test.groups.items()} or None,
                seed=spec.seed,
                num_classes=data.num_classes,
                metadata=spec.expected_metadata(data),
                overwrite=overwrite,
                logits_dtype=spec.logits_dtype,
            )
        except (KDAuditError, OSError, ValueError) as exc:
            outcomes.append(GroupOutcome(spec, out, error=exc))
            continue
        log(
            f"done test_acc={test_acc:.4f} train_acc={train_acc[i]:.4f} {seconds:.1f}s "
            f"(group of {k}) -> {out}"
        )
        seen_total = steps_per_epoch * first.epochs * min(first.batch_size, train_data.n)
        outcomes.append(
            GroupOutcome(
                spec,
                out,
                RunResult(
                    out,
                    test_acc,
                    float(train_acc[i]),
                    seconds,
                    seen_total / max(seconds, 1e-9),
                    total,
                ),
            )
        )
    return outcomes
