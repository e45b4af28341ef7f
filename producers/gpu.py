"""The training fast path: device-resident uint8 data, batched augmentation, bf16, graphs.

The same code runs on CPU (tests) and on CUDA, where it switches on what makes small-image
training fast on one GPU:

- the whole split lives on the device as uint8 (CIFAR-10 train is 150 MB), so there is no
  DataLoader, no host-to-device copy per batch and no worker processes;
- random crop (zero padding) and horizontal flip are one batched gather on the device;
- bf16 autocast, channels_last memory format, ``cudnn.benchmark`` and TF32;
- optional ``torch.compile`` (``mode="reduce-overhead"`` captures CUDA graphs, which is what
  removes the launch overhead that dominates at batch 128 for a ResNet-20).

Teacher logits cannot be precomputed once: each epoch sees different random crops/flips, so the
teacher runs on every augmented batch (eval mode, no gradients, same autocast/compile).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch

__all__ = ["DeviceData", "autocast", "compile_model", "configure_device", "resolve_device"]


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``auto`` -> ``cuda`` when available, else ``cpu``."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for but torch sees no CUDA device")
    return dev


def configure_device(device: torch.device) -> None:
    """Global switches for speed on CUDA (cudnn autotuning, TF32 matmuls)."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def autocast(device: torch.device, enabled: bool = True):
    """bf16 autocast on CUDA; a no-op context elsewhere (fp32 on CPU)."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def compile_model(model: torch.nn.Module, mode: str | None = "reduce-overhead") -> torch.nn.Module:
    """``torch.compile`` with a fixed shape (training uses ``drop_last`` batches)."""
    return torch.compile(model, mode=mode, dynamic=False)


class DeviceData:
    """One split held on ``device`` as uint8 (N, 3, H, W), served as normalised batches.

    Parameters
    ----------
    images : ndarray, (N, H, W, 3) uint8
    labels : ndarray, (N,) int
    mean, std : per-channel statistics in [0, 1] units, used to normalise
    device : torch.device
    channels_last : bool
        Return batches in channels_last memory format (what cuDNN prefers).
    dtype : torch.dtype
        Floating type of the batches (float32; the equivalence tests use float64).

    Notes
    -----
    One epoch of one run draws from its generator, in this order: ``randperm(N)``, then per
    batch ``randint`` (crop rows), ``randint`` (crop columns), ``rand`` (flips). The batched
    trainer (`producers.batched`) draws each run's numbers through the same methods
    (`epoch_order`, `draw_augment`) and gathers all runs' crops with one `crop` call, so a run
    sees exactly the batches it would see alone.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        *,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        device: torch.device,
        channels_last: bool = True,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.device = device
        # NHWC uint8 on the host -> NCHW view on the device (channels_last storage = no copy).
        self.nhwc = torch.from_numpy(np.ascontiguousarray(images)).to(device, non_blocking=True)
        self.images = self.nhwc.permute(0, 3, 1, 2)
        self.labels = torch.from_numpy(np.asarray(labels, dtype=np.int64)).to(
            device, non_blocking=True
        )
        self.n = int(self.labels.shape[0])
        self.height, self.width = int(self.nhwc.shape[1]), int(self.nhwc.shape[2])
        self.dtype = dtype
        m = torch.tensor(mean, dtype=torch.float32, device=device).to(dtype)
        s = torch.tensor(std, dtype=torch.float32, device=device).to(dtype)
        self._scale_c = 1.0 / (255.0 * s)  # (3,): NHWC broadcasting
        self._shift_c = m / s
        self._scale = self._scale_c.view(1, 3, 1, 1)
        self._shift = self._shift_c.view(1, 3, 1, 1)
        self.channels_last = channels_last

    def __len__(self) -> int:
        return self.n

    def _finish(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.dtype).mul_(self._scale).sub_(self._shift)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def normalize_nhwc(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 (..., H, W, 3) -> normalised floats, the same arithmetic as the NCHW path."""
        return x.to(self.dtype).mul_(self._scale_c).sub_(self._shift_c)

    def steps_per_epoch(self, batch_size: int) -> int:
        """Full batches per epoch (the last partial batch is dropped; one batch if N < B)."""
        return max(1, self.n // batch_size)

    def epoch_order(self, generator: torch.Generator) -> torch.Tensor:
        """The shuffled sample order of one epoch (the epoch's first draw)."""
        return torch.randperm(self.n, device=self.device, generator=generator)

    def draw_augment(
        self, b: int, *, padding: int, hflip: bool, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """One batch's crop offsets ``(oy, ox)`` in [0, 2 * padding] and flips (or None)."""
        dev = self.device
        if padding > 0:
            oy = torch.randint(0, 2 * padding + 1, (b,), device=dev, generator=generator)
            ox = torch.randint(0, 2 * padding + 1, (b,), device=dev, generator=generator)
        else:
            oy = ox = torch.full((b,), 0, dtype=torch.long, device=dev)
        flip = torch.rand(b, device=dev, generator=generator) < 0.5 if hflip else None
        return oy, ox, flip

    def crop(
        self,
        idx: torch.Tensor,
        oy: torch.Tensor,
        ox: torch.Tensor,
        flip: torch.Tensor | None,
        *,
        padding: int,
    ) -> torch.Tensor:
        """uint8 crops (..., H, W, 3) of the zero-padded images ``idx`` (any leading shape).

        The crop of image ``i`` at offset ``(oy, ox)`` of the image padded by ``padding``
        pixels, mirrored where ``flip``: one gather, no padded copy of the data.
        """
        h, w, dev = self.height, self.width, self.device
        rows = oy[..., None] - padding + torch.arange(h, device=dev)  # (..., H)
        cols = ox[..., None] - padding + torch.arange(w, device=dev)  # (..., W)
        if flip is not None:
            mirrored = ox[..., None] - padding + (w - 1 - torch.arange(w, device=dev))
            cols = torch.where(flip[..., None], mirrored, cols)
        inside = ((rows >= 0) & (rows < h))[..., :, None] & ((cols >= 0) & (cols < w))[..., None, :]
        out = self.nhwc[
            idx[..., None, None],
            rows.clamp(0, h - 1)[..., :, None],
            cols.clamp(0, w - 1)[..., None, :],
        ]  # (..., H, W, 3)
        if padding > 0:
            out = out * inside[..., None].to(out.dtype)
        return out

    def augment(
        self, idx: torch.Tensor, *, padding: int, hflip: bool, generator: torch.Generator
    ) -> torch.Tensor:
        """Random crop (zero padding ``padding``) and random horizontal flip, one gather."""
        oy, ox, flip = self.draw_augment(
            int(idx.shape[0]), padding=padding, hflip=hflip, generator=generator
        )
        out = self.crop(idx, oy, ox, flip, padding=padding)
        return out.permute(0, 3, 1, 2)  # NCHW view of NHWC storage, i.e. channels_last

    def train_batches(
        self,
        batch_size: int,
        *,
        padding: int,
        hflip: bool,
        generator: torch.Generator,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of shuffled, augmented, normalised batches of exactly ``batch_size``."""
        perm = self.epoch_order(generator)
        bs = min(batch_size, self.n)
        for k in range(self.steps_per_epoch(batch_size)):
            idx = perm[k * bs : (k + 1) * bs]
            x = self.augment(idx, padding=padding, hflip=hflip, generator=generator)
            yield self._finish(x), self.labels[idx]

    def eval_batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The split in order, normalised, no augmentation (last batch may be smaller)."""
        for start in range(0, self.n, batch_size):
            yield (
                self._finish(self.images[start : start + batch_size]),
                self.labels[start : start + batch_size],
            )
