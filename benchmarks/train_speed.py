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


def _random_data(n: int, seed: int = 0, size: int = 32, classes: int = 10):
    rng = np.random.default_rng(seed)
    return (
        rng.integers(0, 256, size=(n, size, size, 3), dtype=np.uint8),
        rng.integers(0, classes, size=n),
    )


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
    arch: str = "resnet20",
    teacher_arch: str = "resnet56",
    image_size: int = 32,
    num_classes: int = 10,
) -> dict:
    """(a): images/s of the producers' Trainer on device-resident data."""
    import torch

    from producers.gpu import DeviceData, configure_device, resolve_device
    from producers.models import build_model
    from producers.train import Trainer

    device = resolve_device(device_name)
    configure_device(device)
    torch.manual_seed(0)
    images, labels = _random_data(n, size=image_size, classes=num_classes)
    data = DeviceData(images, labels, mean=MEAN, std=STD, device=device)
    teacher = build_model(teacher_arch, num_classes=num_classes) if kd else None
    padding = max(1, round(4 * image_size / 32))
    tr = Trainer(
        build_model(arch, num_classes=num_classes, image_size=image_size),
        data,
        device=device,
        total_steps=10**9,
        batch_size=batch,
        padding=padding,
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
            yield from data.train_batches(
                batch, padding=padding, hflip=True, generator=tr.generator
            )

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
        "step_s": (t1 - t0) / steps,
        "steps": steps,
        "warmup_s": warm_s,
        "start": t0,
        "end": t1,
    }


# (d) measurements of this process by what their step time depends on (architectures, runs,
# data streams, compile, batch, image size, classes; not the seeds' or temperatures' values):
# the sweep projection reuses a group already measured instead of compiling it again
_MEASURED: dict[tuple, dict] = {}


def bench_batched(
    device_name: str,
    *,
    seeds: list[int],
    temperatures: list[float] | None,
    n: int,
    batch: int,
    steps: int,
    warmup: int,
    compile: bool = False,
    arch: str = "resnet20",
    teacher_arch: str = "resnet56",
    image_size: int = 32,
    num_classes: int = 10,
    profile: Path | None = None,
) -> dict:
    """(d): K runs as one wide network (`producers.batched.BatchedTrainer`); aggregate images/s.

    ``seeds`` gives the K runs' seeds (equal seeds share batches); ``temperatures`` makes them
    distilled students of one ResNet-56 teacher per distinct seed (the KD group). ``profile``
    writes a `torch.profiler` table of 10 more steps (ops by self device time) to that file.
    """
    key = (
        device_name,
        arch,
        teacher_arch if temperatures is not None else None,
        len(seeds),
        len(set(seeds)),
        compile,
        batch,
        image_size,
        num_classes,
    )
    if profile is None and key in _MEASURED and _MEASURED[key]["steps"] >= steps:
        return {**_MEASURED[key], "reused": True}
    import torch

    from producers.batched import BatchedTrainer, widen
    from producers.gpu import DeviceData, configure_device, resolve_device
    from producers.models import build_model

    device = resolve_device(device_name)
    configure_device(device)
    images, labels = _random_data(n, size=image_size, classes=num_classes)
    data = DeviceData(images, labels, mean=MEAN, std=STD, device=device)
    singles = []
    for s in seeds:
        torch.manual_seed(s)
        singles.append(build_model(arch, num_classes=num_classes, image_size=image_size))
    model = widen(arch, singles, num_classes=num_classes)
    teacher = None
    if temperatures is not None:
        teachers = [
            build_model(teacher_arch, num_classes=num_classes) for _ in dict.fromkeys(seeds)
        ]
        teacher = widen(teacher_arch, teachers, num_classes=num_classes)
    padding = max(1, round(4 * image_size / 32))
    tr = BatchedTrainer(
        model,
        data,
        device=device,
        total_steps=10**9,
        batch_size=batch,
        padding=padding,
        hflip=True,
        seeds=seeds,
        teacher=teacher,
        temperatures=temperatures,
        alpha=0.8 if temperatures is not None else None,
        compile=compile and device.type == "cuda",
    )
    tr.model.train()

    def batches():
        while True:
            yield from tr.epoch_batches()

    it = batches()
    t_c = time.perf_counter()
    for _ in range(warmup):
        tr.train_step(*next(it))
    _sync(device)
    warm_s = time.perf_counter() - t_c
    t0 = time.perf_counter()
    for _ in range(steps):
        tr.train_step(*next(it))
    _sync(device)
    t1 = time.perf_counter()
    k = len(seeds)
    out = {
        "images_per_s": steps * batch * k / (t1 - t0),
        "seconds": t1 - t0,
        "step_s": (t1 - t0) / steps,
        "steps": steps,
        "runs": k,
        "warmup_s": warm_s,
    }
    if device.type == "cuda":
        out["max_memory_gb"] = torch.cuda.max_memory_allocated(device) / 2**30
        torch.cuda.reset_peak_memory_stats(device)
    if profile is not None:
        from torch.profiler import ProfilerActivity
        from torch.profiler import profile as torch_profile

        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
        with torch_profile(activities=acts) as prof:
            for _ in range(10):
                tr.train_step(*next(it))
            _sync(device)
        sort = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
        profile.parent.mkdir(parents=True, exist_ok=True)
        profile.write_text(prof.key_averages().table(sort_by=sort, row_limit=30))
        out["profile"] = str(profile)
    _MEASURED[key] = out
    return out


# --- projection of a whole paper sweep --------------------------------------------------------

PAPER_SEEDS = list(range(5))
PAPER_TEMPERATURES = [float(t) for t in [*range(1, 11), 20, 30, 40]]


def estimate_sweep(
    setting_name: str,
    *,
    device_name: str,
    batch_runs: int,
    steps: int,
    warmup: int,
    n: int,
    image_size: int | None = None,
    train_size: int | None = None,
    epochs: int | None = None,
    compile: bool = False,
) -> dict:
    """Projected wall time of ``setting``'s paper sweep (5 seeds x (teacher + NDS + 13 DS)).

    Plans the groups exactly as ``python -m producers.sweep --batch-runs K`` would, measures
    one training step of each distinct kind of group (role, runs, distinct seeds) on random
    data of the setting's shape, and multiplies by the steps of a run (epochs x full batches).
    Evaluation and data loading are not included (small next to training). ``compile``
    measures the batched groups with ``torch.compile(mode="reduce-overhead")`` (CUDA graphs),
    as ``python -m producers.sweep --batch-runs K --compile`` trains them.
    """
    from producers.settings import get_setting
    from producers.sweep import plan_groups, plan_sweep

    setting = get_setting(setting_name)
    size = image_size or setting.image_size
    n_train = train_size or setting.train_size
    if not n_train:
        raise SystemExit(f"--estimate-sweep {setting_name}: give --estimate-train-size")
    epochs = epochs or setting.epochs
    plan = plan_sweep(
        setting=setting_name,
        out="/nonexistent-estimate",
        seeds=PAPER_SEEDS,
        temperatures=PAPER_TEMPERATURES,
        epochs=epochs,
    )
    groups = plan_groups(plan.runs, batch_runs)
    per_run_steps = epochs * max(1, n_train // setting.batch_size)
    kinds: dict[tuple, list] = {}
    for g in groups:
        spec = g[0].spec
        key = (spec.role, len(g), len({r.spec.seed for r in g}))
        kinds.setdefault(key, []).append(g)
    rows = []
    total_s = 0.0
    for (role, k, streams), gs in kinds.items():
        spec = gs[0][0].spec
        common = dict(
            n=min(n, n_train),
            batch=setting.batch_size,
            steps=steps,
            warmup=warmup,
            arch=spec.arch,
            teacher_arch=spec.teacher_arch or setting.teacher_arch,
            image_size=size,
            num_classes=setting.num_classes,
        )
        kd = role == "distilled"
        if k > 1:
            seeds = sorted(r.spec.seed for r in gs[0])
            r = bench_batched(
                device_name,
                seeds=seeds,
                temperatures=[r.spec.temperature for r in gs[0]] if kd else None,
                compile=compile,
                **common,
            )
        else:
            r = bench_fast(device_name, kd=kd, compile=compile, **common)
        seconds = r["step_s"] * per_run_steps * len(gs)
        total_s += seconds
        rows.append(
            {
                "role": role,
                "groups": len(gs),
                "runs_per_group": k,
                "teacher_streams": streams if kd else 0,
                "step_s": r["step_s"],
                "images_per_s": r["images_per_s"],
                "minutes": seconds / 60,
                "reused": bool(r.get("reused")),
            }
        )
        print(
            f"  {role:9s} {len(gs):2d} group(s) of {k:2d}: {r['step_s'] * 1e3:8.2f} ms/step "
            f"{r['images_per_s']:10.0f} img/s -> {seconds / 60:7.1f} min"
            f"{'  (step time measured above)' if r.get('reused') else ''}",
            flush=True,
        )
    print(
        f"projected {setting_name} paper sweep ({len(plan.runs)} runs, {epochs} epochs, "
        f"{n_train} training images, {size} px, batch {setting.batch_size}, "
        f"--batch-runs {batch_runs}{' --compile' if compile else ''}): {total_s / 60:.1f} min",
        flush=True,
    )
    return {
        "setting": setting_name,
        "batch_runs": batch_runs,
        "compile": compile,
        "epochs": epochs,
        "train_size": n_train,
        "image_size": size,
        "steps_per_run": per_run_steps,
        "groups": rows,
        "minutes": total_s / 60,
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


def _seeds_tag(n_seeds: int) -> str:
    """The part of a KD group's key that names its seeds ("" for one seed)."""
    return "" if n_seeds == 1 else f"x{n_seeds}seeds"


def _ints(text: str | None, default: str) -> list[int]:
    return [int(k) for k in (text or default).split(",") if int(k) > 0]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument(
        "--steps", type=int, help="timed steps per measurement (CPU 8, CUDA 300, --quick 100)"
    )
    p.add_argument(
        "--warmup", type=int, help="untimed steps first (CPU 2, CUDA 30; includes compile)"
    )
    p.add_argument("--n-train", type=int, help="samples held (CPU 2048, CUDA 50000)")
    p.add_argument("--workers", type=int, help="DataLoader workers for (b) (CPU 0, CUDA 8)")
    p.add_argument(
        "--cases",
        default=None,
        help="which of a,b,c,d to run (default all; --quick: c,d)",
    )
    p.add_argument(
        "--concurrent",
        default=None,
        help="K for (c), comma-separated (CPU 2; CUDA 4,8, --quick 8); 0 skips (c)",
    )
    p.add_argument(
        "--batched",
        default=None,
        help="K for (d), comma-separated (CPU 4; CUDA 8,16,32); 0 skips (d)",
    )
    p.add_argument(
        "--kd-group",
        type=int,
        default=13,
        help="temperatures of the (d) KD group (one seed, ResNet-56 -> ResNet-20); 0 skips",
    )
    p.add_argument(
        "--kd-group-seeds",
        default="1",
        help="seeds per (d) KD group, comma-separated: 5 measures the 65-run group of a whole "
        "sweep's distilled students (5 teacher streams, as --batch-runs 65 plans them)",
    )
    p.add_argument(
        "--profile-dir",
        type=Path,
        help="write a torch.profiler table of each (d) KD group (10 steps) into this folder",
    )
    p.add_argument(
        "--batched-compile",
        action="store_true",
        help="also measure (d) with torch.compile(mode='reduce-overhead') (CUDA graphs; keys "
        "ending in _compiled), and project --estimate-sweep compiled",
    )
    p.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="CUDA graphs via torch.compile(mode='reduce-overhead') in (a)/(c) on CUDA "
        "(default: on, off with --quick); (d) is eager unless --batched-compile",
    )
    p.add_argument(
        "--no-kd", action="store_true", help="skip the ResNet-56 -> ResNet-20 measurements"
    )
    p.add_argument(
        "--threads", type=int, help="torch CPU threads in this process (a shared CPU: try 1)"
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="GPU: the < 150 s version (cases c and d, eager, 100 steps)",
    )
    p.add_argument(
        "--estimate-sweep",
        metavar="SETTING",
        help="project the wall time of SETTING's full paper sweep (100 epochs) from measured "
        "steps; comma-separated for several",
    )
    p.add_argument(
        "--batch-runs",
        default="16",
        help="K of the projected sweep's groups (as python -m producers.sweep --batch-runs K); "
        "comma-separated for one projection each",
    )
    p.add_argument(
        "--no-batched-eager",
        action="store_true",
        help="with --batched-compile, measure (d) compiled only (saves a GPU call's time)",
    )
    p.add_argument(
        "--estimate-image-size", type=int, help="image size of the projection (default: setting's)"
    )
    p.add_argument(
        "--estimate-train-size", type=int, help="training images (default: the setting's)"
    )
    p.add_argument("--estimate-epochs", type=int, help="epochs (default: the setting's, 100)")
    p.add_argument(
        "--estimate-steps", type=int, help="timed steps per kind of group (default: steps / 3)"
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
        steps = (100 if a.quick else 300) if cuda else 8
    warmup = a.warmup or ((20 if a.quick else 30) if cuda else 2)
    n = a.n_train or (50_000 if cuda else 2048)
    workers = a.workers if a.workers is not None else (min(8, os.cpu_count() or 1) if cuda else 0)
    cases = set((a.cases or ("c,d" if a.quick else "a,b,c,d")).split(","))
    default_k = "8" if a.quick else ("4,8" if cuda else "2")
    ks = _ints(a.concurrent, default_k) if "c" in cases else []
    kb = _ints(a.batched, "8,16,32" if cuda else "4") if "d" in cases else []
    compile = (not a.quick if a.compile is None else a.compile) and cuda
    d_compiled = a.batched_compile and cuda
    d_variants = ([] if d_compiled and a.no_batched_eager else [("", False)]) + (
        [("_compiled", True)] if d_compiled else []
    )
    kd_seed_counts = _ints(a.kd_group_seeds, "1")
    common = dict(n=n, batch=a.batch_size, steps=steps, warmup=warmup)
    name = (
        torch.cuda.get_device_name(device)
        if cuda
        else f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    )
    print(
        f"device: {name}; torch {torch.__version__}; {torch.get_num_threads()} CPU threads; "
        f"batch {a.batch_size}; {steps} timed steps; "
        f"compile in (a)/(c)={'reduce-overhead' if compile else 'off'}; "
        f"(d) eager{' and compiled' if d_compiled else ''}",
        flush=True,
    )

    results: dict[str, dict] = {}
    targets: dict[str, float] = {}
    ratios: dict[str, float | None] = {}
    t_start = time.perf_counter()

    def dump(estimate=None) -> None:
        """Write what is measured so far (a GPU call cut off by its time limit keeps it)."""
        if not a.json:
            return
        total = time.perf_counter() - t_start
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
                    "batched_compile": d_compiled,
                    "cases": sorted(cases),
                    "results": results,
                    "ratios": ratios,
                    "estimate": estimate,
                    "total_seconds": total,
                },
                indent=2,
            )
        )

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
        dump()

    kinds = [("r20", False)] + ([] if a.no_kd else [("kd56to20", True)])
    dev = str(device)
    for tag, kd in kinds:
        if "a" in cases:
            record(f"a_fast_{tag}", bench_fast, device_name=dev, kd=kd, compile=compile, **common)
            if compile:  # the same path without CUDA graphs, for comparison (no compile time)
                record(
                    f"a_fast_eager_{tag}",
                    bench_fast,
                    device_name=dev,
                    kd=kd,
                    compile=False,
                    **common,
                )
        if "b" in cases:
            record(
                f"b_dataloader_{tag}",
                bench_dataloader,
                device_name=dev,
                kd=kd,
                workers=workers,
                **common,
            )
    for k in ks:
        for tag, kd in kinds:
            if kd and k != max(ks):
                continue
            record(
                f"c_concurrent{k}_{tag}",
                bench_concurrent,
                k=k,
                device_name=dev,
                kd=kd,
                compile=compile,
                **common,
            )
    for suffix, d_compile in d_variants:
        for k in kb:
            record(
                f"d_batched{k}_r20{suffix}",
                bench_batched,
                device_name=dev,
                seeds=list(range(k)),
                temperatures=None,
                compile=d_compile,
                **common,
            )
        if kb and not a.no_kd and a.kd_group > 0:
            temps = (PAPER_TEMPERATURES + [float(t) for t in range(41, 41 + a.kd_group)])[
                : a.kd_group
            ]
            for n_seeds in kd_seed_counts:
                tag_s = _seeds_tag(n_seeds)
                record(
                    f"d_kdgroup{a.kd_group}{tag_s}_kd56to20{suffix}",
                    bench_batched,
                    device_name=dev,
                    seeds=[s for s in range(n_seeds) for _ in temps],
                    temperatures=temps * n_seeds,
                    compile=d_compile,
                    profile=(
                        a.profile_dir / f"kdgroup{a.kd_group}{tag_s}{suffix}.txt"
                        if a.profile_dir
                        else None
                    ),
                    **common,
                )

    def ratio(x, y):
        rx, ry = results.get(x, {}), results.get(y, {})
        if "images_per_s" in rx and "images_per_s" in ry:
            return rx["images_per_s"] / ry["images_per_s"]
        return None

    if "a" in cases and "b" in cases:
        for tag, _ in kinds:
            ratios[f"a/b {tag}"] = ratio(f"a_fast_{tag}", f"b_dataloader_{tag}")
            targets[f"a/b {tag}"] = 2.5
    if "b" in cases:
        for k in ks:
            ratios[f"c{k}/b r20"] = ratio(f"c_concurrent{k}_r20", "b_dataloader_r20")
            targets[f"c{k}/b r20"] = 4.0
    if ks:
        kc = max(ks)
        for suffix, _ in d_variants:
            for k in kb:
                key = f"d{k}{suffix}/c{kc} r20"
                ratios[key] = ratio(f"d_batched{k}_r20{suffix}", f"c_concurrent{kc}_r20")
                targets[key] = 2.4
            if not a.no_kd and a.kd_group > 0 and kb:
                for n_seeds in kd_seed_counts:
                    tag_s = _seeds_tag(n_seeds)
                    key = f"dkd{a.kd_group}{tag_s}{suffix}/c{kc} kd56to20"
                    ratios[key] = ratio(
                        f"d_kdgroup{a.kd_group}{tag_s}_kd56to20{suffix}",
                        f"c_concurrent{kc}_kd56to20",
                    )
                    targets[key] = 3.0
    if "a" in cases:  # batched K against K unbatched runs one after another (same eager path)
        single = "a_fast_eager_r20" if compile else "a_fast_r20"
        for k in kb:
            ratios[f"d{k}/{k} sequential r20"] = ratio(f"d_batched{k}_r20", single)
            targets[f"d{k}/{k} sequential r20"] = 1.0
    print("ratios:")
    for key, v in ratios.items():
        target = targets[key]
        on_cpu_too = "sequential" in key
        verdict = (
            f"(target >= {target}x: {'met' if v >= target else 'NOT met'})"
            if v is not None and (cuda or on_cpu_too)
            else ""
        )
        print(f"  {key:24s} {'n/a' if v is None else f'{v:.2f}x'} {verdict}")
    for suffix, _ in d_variants:
        for k in kb:
            r = results.get(f"d_batched{k}_r20{suffix}", {})
            if cuda and "images_per_s" in r:
                ok = "met" if r["images_per_s"] >= 180_000 else "NOT met"
                print(
                    f"  d{k}{suffix} r20 aggregate {r['images_per_s']:.0f} img/s "
                    f"(target >= 180,000: {ok})"
                )
    estimate: dict[str, dict] | None = None
    batch_runs = _ints(a.batch_runs, "16")
    if a.estimate_sweep:
        estimate = {}
        for setting_name, k in [(s, k) for s in a.estimate_sweep.split(",") for k in batch_runs]:
            key = setting_name if len(batch_runs) == 1 else f"{setting_name}_k{k}"
            print(
                f"estimate: {setting_name} paper sweep, --batch-runs {k}"
                f"{' --compile' if d_compiled else ''}",
                flush=True,
            )
            try:
                estimate[key] = estimate_sweep(
                    setting_name,
                    device_name=dev,
                    batch_runs=k,
                    steps=a.estimate_steps or max(10, steps // 3),
                    warmup=warmup,
                    n=n,
                    image_size=a.estimate_image_size,
                    train_size=a.estimate_train_size,
                    epochs=a.estimate_epochs,
                    compile=d_compiled,
                )
            except Exception as exc:
                estimate[key] = {"error": f"{type(exc).__name__}: {exc}"}
                print(f"  estimate FAILED {estimate[key]['error']}", flush=True)
            dump(estimate)
    print(f"total {time.perf_counter() - t_start:.0f}s")
    dump(estimate)
    failed = any("error" in r for r in [*results.values(), *(estimate or {}).values()])
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
