#!/usr/bin/env bash
# GPU check of issue 13 (seed- and temperature-batched training), one short session.
#
#   PYTHONPATH=. OUT=/path/to/out bash benchmarks/gpu_session_13.sh
#
# from the repository root on a CUDA machine (torch preinstalled, no network). About 2-3
# minutes on an H100. Writes 4 files under $OUT:
#   env.txt           GPU, driver, torch
#   train_speed.json  benchmarks/train_speed.py --quick: (c) 8 processes (ResNet-20 and
#                     ResNet-56 -> ResNet-20 KD), (d) batched K = 8, 16, 32 and the KD group of
#                     13 temperatures, ratios, and the projected CIFAR-10 paper sweep
#   train_speed.log   its printed table
#   sweep.log         a small Trifeature sweep through python -m producers.sweep --batch-runs 16
#                     on CUDA (teachers, NDS and DS groups), then kdaudit validate of its files
set -u -o pipefail
export PYTHONUNBUFFERED=1
export PYTHONPATH="${PYTHONPATH:-.}"
OUT="${OUT:-gpu_session_13_out}"
PY="${PYTHON:-python3}"
mkdir -p "$OUT"
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
} > "$OUT/env.txt" 2>&1

timeout 240 "$PY" benchmarks/train_speed.py --device cuda --quick \
    --estimate-sweep cifar10 --json "$OUT/train_speed.json" 2>&1 | tee "$OUT/train_speed.log"

SWEEP="${TMPDIR:-/tmp}/gpu_session_13_trifeature"
rm -rf "$SWEEP"
{
    timeout 150 "$PY" -m producers.sweep --setting trifeature --out "$SWEEP" --seeds 0-1 \
        --temperatures 1,4,20 --epochs 3 --image-size 32 --train-size 4000 --test-size 1000 \
        --batch-runs 16 --device cuda --quiet
    echo "exit $?"
    "$PY" -c "import sys; from kdbias_audit.cli import app; app(['validate', sys.argv[1]])" "$SWEEP"
    echo "exit $?"
    tail -n 2 "$SWEEP"/.producers/logs/*.log
} > "$OUT/sweep.log" 2>&1
tail -n 20 "$OUT/sweep.log"
