#!/usr/bin/env bash
# GPU checks of issue 13 (seed- and temperature-batched training), one short call per phase.
#
#   PYTHONPATH=. OUT=/path/to/out PHASE=compiled bash benchmarks/gpu_session_13.sh
#
# from the repository root on a CUDA machine (torch preinstalled, no network). Every phase
# writes env.txt (GPU, driver, torch) and its own files under $OUT; each fits one device call
# of <= 600 s (the timeouts below leave room for start-up and the copy back).
#
# PHASE=eager (what stop 10 ran, about 2-3 minutes on an H200):
#   train_speed.json/.log  benchmarks/train_speed.py --quick: (c) 8 processes (ResNet-20 and
#                          ResNet-56 -> ResNet-20 KD), (d) batched K = 8, 16, 32 and the KD
#                          group of 13 temperatures, eager; the projected CIFAR-10 sweep at
#                          --batch-runs 16
#   sweep.log              a small Trifeature sweep through python -m producers.sweep
#                          --batch-runs 16 on CUDA, then kdaudit validate of its files
# PHASE=compiled (the next step: the eager groups missed 180k img/s, the KD target and the
#                 45-minute projection; about 6-8 minutes, most of it compiling):
#   compile_check.log      benchmarks/batched_compile_check.py on CUDA, mode reduce-overhead:
#                          the compiled KD group must give the eager numbers
#   train_speed.json/.log  (c) 8 processes and (d) K = 16, 32, the KD group of 13 (one seed) and
#                          of 65 (5 seeds, 5 teacher streams, as --batch-runs 65 plans the
#                          distilled students), each eager and compiled (CUDA graphs)
#   profiles/              torch.profiler tables of the KD groups (where the 27 ms of an eager
#                          13-student step go: the teacher forward or the students)
# PHASE=final (one call of <= 560 s, for a session with one 15-minute GPU budget): what the
#   targets need, compiled only: (c) 8 processes, (d) K = 16, 32 and the KD groups of 13 and 65,
#   then the projected CIFAR-10 paper sweep at --batch-runs 16 and 65, which reuses the groups
#   measured in (d) and compiles only the teacher and NDS groups (train_speed.json/.log, the
#   JSON rewritten after every measurement so a cut-off call keeps what it measured), then the
#   compiled-equals-eager check in float64 and under bf16 autocast (compile_check.log).
#   Measured 2026-11-27 on an H200: 276 s in all (benchmarks/results/*compiled_h200*)
# PHASE=estimate (about 5-8 minutes): the projected CIFAR-10 paper sweep compiled, at
#   --batch-runs 16 and 65 (estimate_16.log, estimate_65.log, estimate_*.json)
set -u -o pipefail
export PYTHONUNBUFFERED=1
export PYTHONPATH="${PYTHONPATH:-.}"
OUT="${OUT:-gpu_session_13_out}"
PY="${PYTHON:-python3}"
PHASE="${PHASE:-eager}"
mkdir -p "$OUT"
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
    echo "phase $PHASE"
} > "$OUT/env.txt" 2>&1

case "$PHASE" in
eager)
    timeout 240 "$PY" benchmarks/train_speed.py --device cuda --quick \
        --estimate-sweep cifar10 --json "$OUT/train_speed.json" 2>&1 | tee "$OUT/train_speed.log"

    SWEEP="${TMPDIR:-/tmp}/gpu_session_13_trifeature"
    rm -rf "$SWEEP"
    {
        timeout 150 "$PY" -m producers.sweep --setting trifeature --out "$SWEEP" --seeds 0-1 \
            --temperatures 1,4,20 --epochs 3 --image-size 32 --train-size 4000 --test-size 1000 \
            --batch-runs 16 --device cuda --quiet
        echo "exit $?"
        "$PY" -c "import sys; from kdbias_audit.cli import app; app(['validate', sys.argv[1]])" \
            "$SWEEP"
        echo "exit $?"
        tail -n 2 "$SWEEP"/.producers/logs/*.log
    } > "$OUT/sweep.log" 2>&1
    tail -n 20 "$OUT/sweep.log"
    ;;
compiled)
    timeout 150 "$PY" benchmarks/batched_compile_check.py --device cuda --k 13 --n 2048 \
        > "$OUT/compile_check.log" 2>&1
    echo "compile check exit $?" >> "$OUT/compile_check.log"
    tail -n 3 "$OUT/compile_check.log"
    timeout 400 "$PY" benchmarks/train_speed.py --device cuda --quick --cases c,d \
        --batched 16,32 --kd-group-seeds 1,5 --batched-compile --profile-dir "$OUT/profiles" \
        --json "$OUT/train_speed.json" 2>&1 | tee "$OUT/train_speed.log"
    ;;
final)
    timeout 450 "$PY" benchmarks/train_speed.py --device cuda --quick --cases c,d \
        --batched 16,32 --kd-group-seeds 1,5 --batched-compile --no-batched-eager \
        --profile-dir "$OUT/profiles" --estimate-sweep cifar10 --batch-runs 16,65 \
        --json "$OUT/train_speed.json" 2>&1 | tee "$OUT/train_speed.log"
    for dtype in float64 float32; do
        timeout 60 "$PY" benchmarks/batched_compile_check.py --device cuda --k 13 --n 2048 \
            --dtype "$dtype" >> "$OUT/compile_check.log" 2>&1
        echo "compile check ($dtype) exit $?" >> "$OUT/compile_check.log"
    done
    grep -E "^device|numbers|exit" "$OUT/compile_check.log"
    ;;
estimate)
    for k in 16 65; do
        timeout 250 "$PY" benchmarks/train_speed.py --device cuda --quick --cases d --batched 0 \
            --kd-group 0 --batched-compile --estimate-sweep cifar10 --batch-runs "$k" \
            --json "$OUT/estimate_$k.json" 2>&1 | tee "$OUT/estimate_$k.log"
    done
    ;;
*)
    echo "PHASE must be eager, compiled, final or estimate" >&2
    exit 2
    ;;
esac
