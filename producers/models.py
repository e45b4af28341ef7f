"""Architectures: CIFAR ResNets (depth 6n+2), LeNet-5 for colour images, any ``timm`` model.

``build_model(arch, num_classes=..., image_size=...)`` is the one entry point the trainer uses:

- ``resnet20``, ``resnet32``, ``resnet44``, ``resnet56``, ``resnet110`` (any ``resnet<6n+2>``):
  He et al. (2016) section 4.2, 16/32/64 channels, parameter-free "option A" shortcuts
  (stride-2 subsampling plus zero-padded channels). ResNet-20 has 0.27M parameters and
  ResNet-56 0.86M for 10 classes.
- ``lenet5``: LeNet-5 (LeCun et al., 1998) with 3 input channels, any input size.
- ``timm:<name>`` or any other name ``timm`` knows: ``timm.create_model(name,
  pretrained=False, num_classes=...)``; weights only from a local checkpoint, never downloaded.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["CifarResNet", "LeNet5", "build_model", "count_parameters", "load_checkpoint"]


class _BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride = stride
        self.pad = planes - in_planes  # option A: zero channels, no parameters

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride != 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.pad:
            x = F.pad(x, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet of depth ``6n + 2`` for small images (He et al., 2016, section 4.2).

    Three stages of ``n`` basic blocks with 16, 32 and 64 channels; global average pooling;
    one linear layer. Works at any input size (the pooling is global).
    """

    def __init__(self, depth: int = 20, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2 (20, 32, 44, 56, 110), got {depth}")
        n = (depth - 2) // 6
        self.depth = depth
        self.conv1 = nn.Conv2d(in_channels, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers: list[nn.Module] = []
        in_planes = 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(n):
                layers.append(_BasicBlock(in_planes, planes, stride if i == 0 else 1))
                in_planes = planes
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layers(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


class LeNet5(nn.Module):
    """LeNet-5 for colour images of any size.

    conv 5x5 (6) -> ReLU -> max-pool 2 -> conv 5x5 (16) -> ReLU -> max-pool 2 -> adaptive
    average pool to 5x5 -> 120 -> 84 -> classes. At 32x32 input the feature map is already 5x5,
    so the adaptive pooling is the identity and this is the classic network (62k parameters for
    10 classes); larger inputs keep the same parameter count. Inputs smaller than 16 pixels are
    zero-padded (after normalisation, i.e. with the mean colour) to 16 so that both convolutions
    fit.
    """

    MIN_SIZE = 16

    def __init__(self, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h < self.MIN_SIZE or w < self.MIN_SIZE:
            ph, pw = max(0, self.MIN_SIZE - h), max(0, self.MIN_SIZE - w)
            x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 5), 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def load_checkpoint(model: nn.Module, path: str | Path) -> nn.Module:
    """Load weights from a local ``.safetensors`` file or a torch state dict.

    Torch files are read with ``torch.load(weights_only=True)``: tensors only, no arbitrary
    objects are unpickled. A checkpoint dict with a ``state_dict`` or ``model`` entry is
    accepted; a ``module.`` prefix (DataParallel/DDP) is stripped.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
        for key in ("state_dict", "model"):
            if isinstance(state, dict) and isinstance(state.get(key), dict):
                state = state[key]
    state = {k.removeprefix("module.").removeprefix("_orig_mod."): v for k, v in state.items()}
    model.load_state_dict(state)
    return model


_RESNET = re.compile(r"^(?:cifar_)?resnet(\d+)$")


def build_model(
    arch: str,
    *,
    num_classes: int,
    image_size: int | None = None,
    in_channels: int = 3,
    checkpoint: str | Path | None = None,
) -> nn.Module:
    """Create a model by name.

    Parameters
    ----------
    arch : str
        ``resnet<6n+2>`` (CIFAR ResNet), ``lenet5``, ``timm:<name>``, or a bare ``timm`` model
        name (e.g. ``resnet18`` is not 6n+2 and so goes to ``timm``).
    num_classes : int
    image_size : int, optional
        Unused by the built-in networks (they work at any size); passed to ``timm`` models that
        take an ``img_size`` (ViTs).
    checkpoint : path, optional
        Local weights to load (see `load_checkpoint`). Nothing is ever downloaded.
    """
    name = arch.strip().lower()
    m = _RESNET.match(name)
    model: nn.Module
    if m and (int(m.group(1)) - 2) % 6 == 0 and int(m.group(1)) >= 8:
        model = CifarResNet(int(m.group(1)), num_classes, in_channels)
    elif name in ("lenet5", "lenet-5", "lenet"):
        model = LeNet5(num_classes, in_channels)
    else:
        import timm

        tname = arch.split(":", 1)[1] if arch.startswith("timm:") else arch
        if not timm.is_model(tname):
            raise ValueError(
                f"unknown architecture {arch!r}: use resnet<6n+2>, lenet5, or a timm model name"
            )
        kwargs: dict = {"pretrained": False, "num_classes": num_classes, "in_chans": in_channels}
        if image_size is not None and "vit" in tname:
            kwargs["img_size"] = image_size
        model = timm.create_model(tname, **kwargs)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint)
    return model
