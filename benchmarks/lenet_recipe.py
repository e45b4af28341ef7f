"""The LeNet-5 student recipe experiment of docs/producers.md ("Warm-up for LeNet-5 students").

Trains Trifeature LeNet-5 students (NDS with ``--nds-seeds``, else DS of one seed at
``--temps``) with the batched trainer on CPU, distilled from a sweep's ResNet-20 teacher
checkpoint, and prints (and appends to ``--results``) the per-epoch train accuracy and the
final test accuracy of each run. The teacher's logits of every augmented batch depend only on
the seed and the data, so they are cached (``--teacher-cache``) and replayed for the next
recipe variant: only the first variant of a seed pays for the teacher.

    python benchmarks/lenet_recipe.py --checkpoints runs/trifeature/.producers/checkpoints \\
        --seed 1 --temps 1,4,7,10,40 --warmup 0.1
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from producers.batched import BatchedTrainer, widen
from producers.data.trifeature import load_trifeature
from producers.gpu import DeviceData
from producers.models import build_model, load_checkpoint


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoints", type=Path, help="Directory with teacher_seed<k>.pt.")
    p.add_argument("--train-size", type=int, default=8000)
    p.add_argument("--test-size", type=int, default=5000)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--clip", type=float, default=1.0, help="0: no clipping")
    p.add_argument("--warmup", type=float, default=0.0, help="fraction of the steps")
    p.add_argument("--temps", default="1,4,7,10,40")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--nds-seeds", default="", help="e.g. 0,1,2,3,4: NDS runs instead of DS")
    p.add_argument("--teacher-cache", type=Path, default=Path("out/lenet_recipe"))
    p.add_argument("--results", type=Path, default=Path("out/lenet_recipe/results.jsonl"))
    a = p.parse_args()
    torch.set_num_threads(1)
    cpu = torch.device("cpu")
    d = load_trifeature(image_size=32, train_size=a.train_size, test_size=a.test_size, seed=0)
    mean, std = d.channel_stats()
    train = DeviceData(d.train.images, d.train.labels, mean=mean, std=std, device=cpu)
    test = DeviceData(d.test.images, d.test.labels, mean=mean, std=std, device=cpu)
    nds = [int(s) for s in a.nds_seeds.split(",")] if a.nds_seeds else []
    temps = [0.0] * len(nds) if nds else [float(t) for t in a.temps.split(",")]
    seeds = nds or [a.seed] * len(temps)
    singles = []
    for s in seeds:  # each run's initial weights as the sweep makes them
        torch.manual_seed(s)
        np.random.seed(s)
        singles.append(build_model("lenet5", num_classes=10, image_size=32))
    kw = dict(
        device=cpu,
        total_steps=train.steps_per_epoch(64) * a.epochs,
        batch_size=64,
        padding=4,
        hflip=True,
        lr=a.lr,
        grad_clip=a.clip or None,
        warmup=a.warmup,
        amp=False,
    )
    model = widen("lenet5", singles, num_classes=10)
    if nds:
        trainer = BatchedTrainer(model, train, seeds=seeds, **kw)
    else:
        teacher = build_model("resnet20", num_classes=10, image_size=32)
        load_checkpoint(teacher, a.checkpoints / f"teacher_seed{a.seed}.pt")
        teacher = widen("resnet20", [teacher], num_classes=10)
        trainer = BatchedTrainer(
            model, train, seeds=seeds, temperatures=temps, alpha=0.8, teacher=teacher, **kw
        )
        cache = a.teacher_cache / f"teacher_seed{a.seed}_n{a.train_size}.pt"
        recorded = torch.load(cache) if cache.is_file() else []
        n_cached = len(recorded)
        live, calls = trainer._tfwd, [0]

        def replay(*args):
            i = calls[0]
            calls[0] += 1
            if i < len(recorded):
                return recorded[i]
            out = live(*args)
            recorded.append(out.detach().clone())
            return out

        trainer._tfwd = replay
    hist, t0 = [], time.time()
    for _ in range(a.epochs):
        _, acc, _ = trainer.run_epoch()
        hist.append([round(float(v), 3) for v in acc])
    logits = trainer.predict(test)
    if not nds and len(recorded) > n_cached:
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save(recorded, cache)
    res = dict(vars(a), seeds=seeds, temps=temps, seconds=round(time.time() - t0))
    res = {k: str(v) if isinstance(v, Path) else v for k, v in res.items()}
    res["test"] = [round(float((lg.argmax(1) == d.test.labels).mean()), 4) for lg in logits]
    res["train_hist"] = hist
    print(json.dumps(res))
    a.results.parent.mkdir(parents=True, exist_ok=True)
    with open(a.results, "a") as f:
        f.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    main()
