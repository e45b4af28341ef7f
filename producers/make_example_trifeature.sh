#!/usr/bin/env bash
# The Trifeature example sweep of the study (issue 8): ResNet-20 teacher, LeNet-5 students,
# T in 1-10,20,30,40, seeds 0-4 (5 teachers + 5 NDS + 65 DS = 75 runs).
#
#   bash producers/make_example_trifeature.sh gpu [OUT]   # one GPU, batched runs (--batch-runs 16)
#   bash producers/make_example_trifeature.sh cpu [OUT]   # 2 CPU cores, estimated 20-30 minutes
# (run inside the environment with the producers extra, or set PYTHON=/path/to/python)
#
# Both use 32x32 images (the paper: 224) with the x0.1 drops at 30/60/90% of the steps, and a
# student learning rate of 0.01 instead of the paper's 0.1 (the ResNet-20 teachers keep 0.1):
# LeNet-5 has no batch norm and barely learns at 0.1 in short runs. Measured on CPU with the
# GPU sizing's data (10,000 images, 15 epochs, batch 64): NDS test accuracy 38.5% at lr 0.1,
# 82.6% at 0.03, 87.4% at 0.01; DS (T=4, a 98.6% teacher) 66.1% at 0.03, 84.8% at 0.01.
# GPU: 10,000 training / 2,000 test images (each shape x colour x texture twice), 15 epochs,
#      batch 64 (the paper's).
# CPU: 3,000 / 1,000 images, 10 epochs, batch 32 (more steps for LeNet in a small budget).
# Re-running the same command resumes: finished runs are skipped. Extra sweep options may
# follow OUT (e.g. --compile, --logits-dtype float16).
set -euo pipefail
mode="${1:-gpu}"
case "$mode" in
  gpu) out="${2:-runs/trifeature}"
       exec "${PYTHON:-python}" -m producers.sweep --setting trifeature --out "$out" --seeds 0-4 \
         --temperatures 1-10,20,30,40 --epochs 15 --image-size 32 --train-size 10000 \
         --test-size 2000 --student-lr 0.01 --batch-runs 16 --device cuda "${@:3}" ;;
  cpu) out="${2:-runs/trifeature_cpu}"
       exec "${PYTHON:-python}" -m producers.sweep --setting trifeature --out "$out" --seeds 0-4 \
         --temperatures 1-10,20,30,40 --epochs 10 --image-size 32 --train-size 3000 \
         --test-size 1000 --batch-size 32 --student-lr 0.01 --concurrent 2 --device cpu "${@:3}" ;;
  *) echo "usage: $0 gpu|cpu [OUT]" >&2; exit 2 ;;
esac
