"""Does the batched trainer give the same numbers with ``torch.compile`` as eager? (issue 13)

Trains one small KD group (K wide LeNet-5 students of one ResNet-20 teacher, gradient clipping
on, as the Trifeature recipe does) for two epochs of random data twice, eagerly and compiled,
from the same initial weights and batches, and prints the largest relative difference of the
final weights and of the per-step losses, with each variant's wall time (compile included).
Run it before timing compiled groups on a GPU: a compiled step that changes the numbers is
not a speed-up.

    python benchmarks/batched_compile_check.py                       # CPU, inductor, ~1 min
    python benchmarks/batched_compile_check.py --device cuda --mode reduce-overhead

Measured on the 2-core dev box (CPU, float32, K = 2, mode ``default``): max relative weight
difference 2.0e-07, loss difference 3.8e-06; compile took ~45 s of the compiled variant's time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def train(compile: bool, *, device: str, mode: str, k: int, n: int, epochs: int):
    import torch

    from producers.batched import BatchedTrainer, widen
    from producers.gpu import DeviceData, resolve_device
    from producers.models import build_model

    dev = resolve_device(device)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, n)
    singles = []
    for s in range(k):
        torch.manual_seed(s)
        singles.append(build_model("lenet5", num_classes=10, image_size=32))
    model = widen("lenet5", [m.to(dev) for m in singles], num_classes=10)
    torch.manual_seed(99)
    teacher = widen("resnet20", [build_model("resnet20", num_classes=10).to(dev)], num_classes=10)
    data = DeviceData(images, labels, mean=(0.5,) * 3, std=(0.25,) * 3, device=dev)
    temps = [float(t) for t in np.linspace(1, 40, k)]
    tr = BatchedTrainer(
        model,
        data,
        device=dev,
        total_steps=epochs * data.steps_per_epoch(64),
        batch_size=64,
        padding=4,
        hflip=True,
        seeds=[0] * k,
        teacher=teacher,
        temperatures=temps,
        alpha=0.8,
        grad_clip=1.0,
        warmup=0.1,
        strategy="wide",
        compile=compile,
        compile_mode=mode,
    )
    tr.model.train()
    t0 = time.perf_counter()
    losses = []
    for _ in range(epochs):
        for x, y in tr.epoch_batches():
            loss, _ = tr.train_step(x, y)
            losses.append(loss.double().cpu())
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    weights = [p.detach().double().cpu().clone() for p in tr.model.parameters()]
    return torch.stack(losses), weights, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument(
        "--mode", default=None, help="compile mode (CPU: default; CUDA: reduce-overhead)"
    )
    p.add_argument("--k", type=int, default=2, help="students in the group")
    p.add_argument("--n", type=int, default=256, help="random training images")
    p.add_argument("--epochs", type=int, default=2)
    a = p.parse_args(argv)
    mode = a.mode or ("reduce-overhead" if a.device.startswith("cuda") else "default")
    kw = dict(device=a.device, mode=mode, k=a.k, n=a.n, epochs=a.epochs)
    eager_loss, eager_w, eager_s = train(False, **kw)
    comp_loss, comp_w, comp_s = train(True, **kw)
    weight_rel = max(
        float((c - e).abs().max() / e.abs().max().clamp(min=1e-30))
        for c, e in zip(comp_w, eager_w, strict=True)
    )
    loss_abs = float((comp_loss - eager_loss).abs().max())
    print(
        f"device {a.device}, mode {mode}, K={a.k}: eager {eager_s:.1f}s, compiled {comp_s:.1f}s "
        f"(compile included); max relative weight difference {weight_rel:.2e}, "
        f"max loss difference {loss_abs:.2e}"
    )
    ok = weight_rel < 1e-3 and loss_abs < 1e-2
    print("same numbers (float32 tolerance)" if ok else "DIFFERENT numbers")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
