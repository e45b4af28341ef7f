"""Export speed of ``python -m producers.predict`` against the loop a user would write.

On one generated image folder (JPEGs of ``--photo-size``, 10 class folders) and one timm model
(random weights saved to a ``.safetensors`` file), measures images/s of

(a) ``export``: `producers.predict.predict`, end to end (listing the folder, loading and
    hashing the weights, DataLoader workers decoding and transforming, batches of
    ``--batch-size`` under ``inference_mode``, bf16 autocast and channels_last on CUDA, writing
    the Parquet file atomically);
(b) ``plain``: the usual hand-written loop: for each file, ``PIL.Image.open(...).convert("RGB")``,
    ``torchvision.transforms`` (Resize, CenterCrop, ToTensor, Normalize, with the model's
    own size, crop fraction, mean and std), the model in fp32 at batch 1 under ``no_grad``,
    in the main process; the model is already built (its loading is not timed).

Prints the ratio a/b (target >= 5x, on CPU with workers and on a GPU with bf16) and the share
of images on which (a) and (b) predict the same class (a check that they compute the same
thing: 1.0 in fp32; bf16 may flip a few near-ties). ``--json`` writes everything.

    python benchmarks/predict.py                                    # CPU, ~1-2 min on 2 cores
    python benchmarks/predict.py --device cuda --json predict_gpu.json   # GPU, < 60 s
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_folder(root: Path, n: int, size: tuple[int, int], seed: int = 0) -> list[Path]:
    """``n`` JPEGs (smooth random colour fields plus noise, so they compress like photos)."""
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image

    w, h = size
    for c in range(10):
        (root / f"class{c}").mkdir(parents=True, exist_ok=True)

    rng0 = np.random.default_rng(seed)
    noise = [rng0.integers(-12, 13, (h, w, 3), dtype=np.int16) for _ in range(8)]

    def one(i: int) -> Path:
        rng = np.random.default_rng([seed, i])
        coarse = rng.integers(0, 256, (h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8)
        img = Image.fromarray(coarse).resize((w, h), Image.Resampling.BILINEAR)
        arr = np.asarray(img, dtype=np.int16) + noise[i % len(noise)]
        p = root / f"class{i % 10}" / f"{i:06d}.jpg"
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(p, quality=90)
        return p

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return sorted(pool.map(one, range(n)))


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain_loop(model, paths: list[Path], device, cfg: dict) -> tuple[float, np.ndarray]:
    """The hand-written loop; returns (seconds, predicted class per file in ``paths`` order)."""
    import torch
    import torchvision.transforms as T
    from PIL import Image

    size = cfg["input_size"][-1]
    tf = T.Compose(
        [
            T.Resize(int(size / cfg["crop_pct"]), interpolation=T.InterpolationMode.BILINEAR),
            T.CenterCrop(size),
            T.ToTensor(),
            T.Normalize(cfg["mean"], cfg["std"]),
        ]
    )
    model = model.to(device).eval()
    preds = np.empty(len(paths), dtype=np.int64)
    with torch.no_grad():  # warm-up (cuDNN autotuning, allocator) outside the timing
        for p in paths[:3]:
            model(tf(Image.open(p).convert("RGB")).unsqueeze(0).to(device))
    sync(device)
    t0 = time.perf_counter()
    with torch.no_grad():
        for i, p in enumerate(paths):
            x = tf(Image.open(p).convert("RGB")).unsqueeze(0).to(device)
            preds[i] = int(model(x).argmax(1).item())
    sync(device)
    return time.perf_counter() - t0, preds


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--model",
        default=None,
        help="timm architecture (default: resnet18 on CPU, resnet50 on CUDA)",
    )
    ap.add_argument("--n", type=int, default=None, help="images (default 400 on CPU, 5000 on CUDA)")
    ap.add_argument("--photo-size", default="400x300", help="JPEG size WxH (ImageNet-like)")
    ap.add_argument("--batch-size", type=int, default=None, help="export batch (64 CPU, 256 CUDA)")
    ap.add_argument(
        "--workers",
        type=int,
        default=None,
        help="export DataLoader workers (default: cores, at most 16)",
    )
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--threads", type=int, default=None, help="torch threads (both sides)")
    ap.add_argument(
        "--plain-n",
        type=int,
        default=None,
        help="images for the plain loop (default: all on CPU, 1000 on CUDA)",
    )
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    import timm
    import torch
    from safetensors.torch import save_file

    from producers.predict import predict

    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        sys.exit("--device cuda: torch sees no CUDA device")
    if args.threads:
        torch.set_num_threads(args.threads)
    arch = args.model or ("resnet50" if cuda else "resnet18")
    n = args.n or (5000 if cuda else 400)
    batch = args.batch_size or (256 if cuda else 64)
    workers = args.workers if args.workers is not None else min(16, os.cpu_count() or 1)
    w, h = (int(v) for v in args.photo_size.lower().split("x"))
    device = torch.device(args.device)

    with tempfile.TemporaryDirectory(prefix="kdaudit-bench-predict-") as tmp:
        root = Path(tmp) / "images"
        t0 = time.perf_counter()
        paths = make_folder(root, n, (w, h))
        gen_s = time.perf_counter() - t0
        torch.manual_seed(0)
        model = timm.create_model(arch, pretrained=False, num_classes=10).eval()
        save_file(model.state_dict(), Path(tmp) / "w.safetensors")
        cfg = timm.data.resolve_data_config(model=model)

        plain_n = args.plain_n or (1000 if cuda else n)  # a rate: a share of the files is enough
        plain_paths = (
            paths[:plain_n:1] if plain_n >= n else paths[:: max(1, n // plain_n)][:plain_n]
        )
        plain_s, plain_pred = plain_loop(model, plain_paths, device, cfg)
        plain_ips = len(plain_paths) / plain_s
        del model
        if cuda:
            torch.cuda.empty_cache()

        out = Path(tmp) / "out" / "seed0.parquet"
        t0 = time.perf_counter()
        predict(
            f"timm:{arch}",
            str(root),
            out,
            weights=Path(tmp) / "w.safetensors",
            device=args.device,
            batch_size=batch,
            workers=workers,
        )
        export_s = time.perf_counter() - t0
        export_ips = n / export_s

        import pyarrow.parquet as pq

        t = pq.read_table(out, columns=["sample_id", "logits"])
        logits = np.asarray(t.column("logits").combine_chunks().flatten()).reshape(t.num_rows, -1)
        by_id = dict(zip(t.column("sample_id").to_pylist(), logits.argmax(1), strict=True))
        export_pred = np.array([by_id[p.relative_to(root).as_posix()] for p in plain_paths])
        agree = float(np.mean(export_pred == plain_pred))

    card = (
        torch.cuda.get_device_name(device) if cuda else platform.processor() or platform.machine()
    )
    result = {
        "device": args.device,
        "card": card,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "model": arch,
        "images": n,
        "plain_images": len(plain_paths),
        "photo_size": [w, h],
        "input_size": list(cfg["input_size"]),
        "export": {
            "seconds": export_s,
            "images_per_s": export_ips,
            "batch_size": batch,
            "workers": workers,
            "precision": "bf16 autocast" if cuda else "fp32",
        },
        "plain": {
            "seconds": plain_s,
            "images_per_s": plain_ips,
            "batch_size": 1,
            "precision": "fp32",
        },
        "ratio_export_over_plain": export_ips / plain_ips,
        "same_prediction_share": agree,
        "generate_seconds": gen_s,
        "torch": torch.__version__,
        "timm": timm.__version__,
    }
    print(
        f"{arch} on {n} JPEGs {w}x{h} -> {cfg['input_size'][-1]} px, {args.device} ({card}):\n"
        f"  export (end to end, batch {batch}, {workers} workers): {export_ips:8.1f} images/s\n"
        f"  plain loop (PIL + torchvision, fp32, batch 1):     {plain_ips:8.1f} images/s\n"
        f"  ratio export/plain: {export_ips / plain_ips:.2f}x (target >= 5x); "
        f"same predicted class on {100 * agree:.1f}% of images"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
