"""Training throughput of the producers' fast path against a standard torchvision pipeline.

Measures training images/s on CIFAR-shaped random data (uint8, 32x32x3, 10 classes) for a
ResNet-20 and for ResNet-56 -> ResNet-20 distillation (teacher forward + student step):

(a) ``fast``: the producers' path (`producers.train.Trainer` + `producers.gpu.DeviceData`):
    data resident on the device as uint8, batched crop+flip on the device, bf16 autocast,
    channels_last, fused SGD, and on CUDA ``torch.compile(mode="reduce-overhead")`` (CUDA
    graphs) unless ``--no-compile``; on CUDA ``a_fast_eager`` is the same without compile;
(b) ``dataloader``: a standard torchvision ``DataLoader`` (PIL RandomCrop(32, padding=4) +
    RandomHorizontalFlip + ToTensor + Normalize, ``--workers`` processes, pinned memory, fp32,
    plain SGD);
(c) ``concurrent``: K processes each running (a) on the same device at once (what
    ``python -m producers.sweep --concurrent K`` does); aggregate images/s over the window in
    which all K run.

All in one invocation on one device; prints the ratios a/b and c/b (targets on a GPU at batch
128: a >= 2.5x b, c >= 4x b) and writes everything to ``--json``.

    python benchmarks/train_speed.py                          # CPU, small numbers (~1-2 min)
    python benchmarks/train_speed.py --device cuda --quick --json out.json   # GPU, < 3 min
    python benchmarks/train_speed.py --device cuda --steps 500 --concurrent 4,8   # fuller
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _random_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, size=n)


def bench_fast(
    device_name: str,
    *,
    kd: bool,
    n: int,
    batch: int,
    steps: int,
    warmup: int,
    compile: bool,
    barrier=None,
) -> dict:
    """(a): images/s of the producers' Trainer on device-resident data."""
    import torch

    from producers.gpu import DeviceData, configure_device, resolve_device
    from producers.models import build_model
    from producers.train import Trainer

    device = resolve_device(device_name)
    configure_device(device)
    torch.manual_seed(0)
    images, labels = _random_data(n)
    data = DeviceData(images, labels, mean=MEAN, std=STD, device=device)
    teacher = build_model("resnet56", num_classes=10) if kd else None
    tr = Trainer(
        build_model("resnet20", num_classes=10),
        data,
        device=device,
        total_steps=10**9,
        batch_size=batch,
        padding=4,
        hflip=True,
        seed=0,
        teacher=teacher,
        temperature=4.0 if kd else None,
        alpha=0.8 if kd else None,
        compile=compile and device.type == "cuda",
    )
    tr.model.train()

    def batches():
        while True:
            yield from data.train_batches(batch, padding=4, hflip=True, generator=tr.generator)

    it = batches()
    t_c = time.perf_counter()
    for _ in range(warmup):
        tr.train_step(*next(it))
    _sync(device)
    warm_s = time.perf_counter() - t_c
    if barrier is not None:
        barrier.wait(timeout=900)
    t0 = time.perf_counter()
    for _ in range(steps):
        tr.train_step(*next(it))
    _sync(device)
    t1 = time.perf_counter()
    return {
        "images_per_s": steps * batch / (t1 - t0),
        "seconds": t1 - t0,
        "steps": steps,
        "warmup_s": warm_s,
        "start": t0,
        "end": t1,
    }


class _PILDataset:
    """CIFAR-like dataset of PIL images with the standard torchvision transforms."""

    def __init__(self, images, labels):
        import torchvision.transforms as T

        self.images, self.labels = images, labels
        self.tf = T.Compose(
            [
                T.RandomCrop(32, padding=4),
                T.RandomHorizontalFlip(),
                T.ToTensor(),
                T.Normalize(MEAN, STD),
            ]
        )

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        from PIL import Image

        return self.tf(Image.fromarray(self.images[i])), int(self.labels[i])


def bench_dataloader(
    device_name: str, *, kd: bool, n: int, batch: int, steps: int, warmup: int, workers: int
) -> dict:
    """(b): a standard DataLoader pipeline, fp32, plain SGD."""
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader

    from producers.gpu import resolve_device
    from producers.kd import kd_loss
    from producers.models import build_model

    device = resolve_device(device_name)
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    images, labels = _random_data(n)
    loader = DataLoader(
        _PILDataset(images, labels),
        batch_size=batch,
        shuffle=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        drop_last=True,
        persistent_workers=workers > 0,
    )
    model = build_model("resnet20", num_classes=10).to(device).train()
    teacher = build_model("resnet56", num_classes=10).to(device).eval() if kd else None
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)

    def step(x, y):
        x = x.to(device, non_blocking=True)
        y = y.to(device, non_blocking=True)
        out = model(x)
        if teacher is not None:
            with torch.no_grad():
                t = teacher(x)
            loss = kd_loss(out, t, y, temperature=4.0, alpha=0.8)
        else:
            loss = F.cross_entropy(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def batches():
        while True:
            yield from loader

    it = batches()
    for _ in range(warmup):
        step(*next(it))
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step(*next(it))
    _sync(device)
    t1 = time.perf_counter()
    return {
        "images_per_s": steps * batch / (t1 - t0),
        "seconds": t1 - t0,
        "steps": steps,
        "workers": workers,
    }


def _child(args_json: str, barrier, queue) -> None:
    kw = json.loads(args_json)
    if kw.pop("threads", None):
        import torch

        torch.set_num_threads(kw.pop("nthreads"))
    kw.pop("nthreads", None)
    try:
        queue.put(bench_fast(barrier=barrier, **kw))
    except BaseException as exc:  # report, and release the others
        barrier.abort()
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def bench_concurrent(k: int, **kw) -> dict:
    """(c): K processes running (a) at once; aggregate images/s over the common window."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(k)
    queue = ctx.Queue()
    kw = dict(kw)
    kw["threads"] = kw.get("device_name") == "cpu"
    kw["nthreads"] = max(1, (os.cpu_count() or 1) // k)
    procs = [ctx.Process(target=_child, args=(json.dumps(kw), barrier, queue)) for _ in range(k)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=1200) for _ in procs]
    for p in procs:
        p.join()
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise RuntimeError(errors[0])
    start = min(r["start"] for r in results)
    end = max(r["end"] for r in results)
    images = sum(r["steps"] for r in results) * kw["batch"]
    return {
        "images_per_s": images / (end - start),
        "seconds": end - start,
        "processes": k,
        "per_process_images_per_s": [round(r["images_per_s"], 1) for r in results],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, help="timed steps per measurement (CPU 8, CUDA 300)")
    p.add_argument(
        "--warmup", type=int, help="untimed steps first (CPU 2, CUDA 30; includes compile)"
    )
    p.add_argument("--n-train", type=int, help="samples held (CPU 2048, CUDA 50000)")
    p.add_argument("--workers", type=int, help="DataLoader workers for (b) (CPU 0, CUDA 8)")
    p.add_argument(
        "--concurrent",
        default=None,
        help="K for (c), comma-separated (CPU 2; CUDA 4,8, --quick 8); 0 skips (c)",
    )
    p.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="CUDA graphs via torch.compile(mode='reduce-overhead') in (a)/(c) on CUDA",
    )
    p.add_argument(
        "--no-kd", action="store_true", help="skip the ResNet-56 -> ResNet-20 measurements"
    )
    p.add_argument(
        "--threads", type=int, help="torch CPU threads in this process (a shared CPU: try 1)"
    )
    p.add_argument(
        "--quick", action="store_true", help="GPU: the < 3 minute version (200 steps, K=8)"
    )
    p.add_argument("--json", type=Path, help="write the results here")
    a = p.parse_args(argv)

    import torch

    from producers.gpu import resolve_device

    device = resolve_device(a.device)
    cuda = device.type == "cuda"
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.steps:
        steps = a.steps
    else:
        steps = (200 if a.quick else 300) if cuda else 8
    warmup = a.warmup or (30 if cuda else 2)
    n = a.n_train or (50_000 if cuda else 2048)
    workers = a.workers if a.workers is not None else (min(8, os.cpu_count() or 1) if cuda else 0)
    default_k = ("8" if a.quick else "4,8") if cuda else "2"
    ks = [int(k) for k in (a.concurrent or default_k).split(",") if int(k) > 0]
    compile = a.compile and cuda
    common = dict(n=n, batch=a.batch_size, steps=steps, warmup=warmup)
    name = (
        torch.cuda.get_device_name(device)
        if cuda
        else f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    )
    print(
        f"device: {name}; torch {torch.__version__}; {torch.get_num_threads()} CPU threads; "
        f"batch {a.batch_size}; {steps} timed steps; "
        f"compile={'reduce-overhead' if compile else 'off'}",
        flush=True,
    )

    results: dict[str, dict] = {}
    t_start = time.perf_counter()

    def record(key, fn, **kw):
        t = time.perf_counter()
        try:
            r = fn(**kw)
        except Exception as exc:  # keep the other measurements
            r = {"error": f"{type(exc).__name__}: {exc}"}
        results[key] = r
        shown = (
            f"{r['images_per_s']:10.0f} img/s" if "images_per_s" in r else f"FAILED {r['error']}"
        )
        print(f"  {key:28s} {shown}   ({time.perf_counter() - t:.0f}s)", flush=True)

    kinds = [("r20", False)] + ([] if a.no_kd else [("kd56to20", True)])
    for tag, kd in kinds:
        record(
            f"a_fast_{tag}", bench_fast, device_name=str(device), kd=kd, compile=compile, **common
        )
        if compile:  # the same path without CUDA graphs, for comparison (no compile time)
            record(
                f"a_fast_eager_{tag}",
                bench_fast,
                device_name=str(device),
                kd=kd,
                compile=False,
                **common,
            )
        record(
            f"b_dataloader_{tag}",
            bench_dataloader,
            device_name=str(device),
            kd=kd,
            workers=workers,
            **common,
        )
    for k in ks:
        record(
            f"c_concurrent{k}_r20",
            bench_concurrent,
            k=k,
            device_name=str(device),
            kd=False,
            compile=compile,
            **common,
        )

    def ratio(x, y):
        rx, ry = results.get(x, {}), results.get(y, {})
        if "images_per_s" in rx and "images_per_s" in ry:
            return rx["images_per_s"] / ry["images_per_s"]
        return None

    ratios = {"a/b r20": ratio("a_fast_r20", "b_dataloader_r20")}
    if not a.no_kd:
        ratios["a/b kd56to20"] = ratio("a_fast_kd56to20", "b_dataloader_kd56to20")
    for k in ks:
        ratios[f"c{k}/b r20"] = ratio(f"c_concurrent{k}_r20", "b_dataloader_r20")
    print("ratios:")
    for key, v in ratios.items():
        target = 2.5 if key.startswith("a/") else 4.0
        verdict = (
            ""
            if v is None
            else (
                f"(GPU target >= {target}x: {'met' if v >= target else 'NOT met'})" if cuda else ""
            )
        )
        print(f"  {key:16s} {'n/a' if v is None else f'{v:.2f}x'} {verdict}")
    total = time.perf_counter() - t_start
    print(f"total {total:.0f}s")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(
            json.dumps(
                {
                    "device": name,
                    "torch": torch.__version__,
                    "batch_size": a.batch_size,
                    "steps": steps,
                    "warmup": warmup,
                    "n_train": n,
                    "workers": workers,
                    "compile": compile,
                    "results": results,
                    "ratios": ratios,
                    "total_seconds": total,
                },
                indent=2,
            )
        )
    return 0 if all("error" not in r for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
