#!/usr/bin/env bash
# The Trifeature example sweep (issues 8, 14): ResNet-20 teacher, LeNet-5 NDS and DS students,
# T in 1-10,20,30,40, seeds 0-4 (5 teachers + 5 NDS + 65 DS = 75 runs), each run writing one
# prediction file of 50,000 balanced test images. Runs are written with float16 logits (what
# every trainer supports) and reduced to the `pred` column by `python -m producers.predfiles`
# once the sweep stops (about 65 kB a file, 5 MB for the sweep).
#
#   bash producers/make_example_trifeature.sh gpu [ROOT] [more sweep options]
#   bash producers/make_example_trifeature.sh cpu [ROOT] [more sweep options]   # pipeline check
#   bash producers/make_example_trifeature.sh device-call [OUTDIR]              # one GPU call
#   bash producers/make_example_trifeature.sh cpu-students [ROOT]               # shipped sweep
# (run from the repository root, in the environment with the producers extra, or set
#  PYTHON=/path/to/python)
#
# gpu: 32 px, 20,000 training / 50,000 test images, 30 epochs, batch 64, the paper's SGD
#      (lr 0.1 for every model, x0.1 at 30/60/90 %) with the students' gradient norm clipped
#      at 1.0 and their learning rate warmed up linearly over the first 10 % of their steps
#      (the trifeature setting's student_grad_clip and student_warmup; docs/producers.md;
#      teachers use the paper's recipe unchanged). Trains with the batched trainer
#      (--batch-runs 16) when this checkout's producers.sweep has it and the batched trainer
#      honours grad_clip and warmup, else 8 concurrent processes (--concurrent 8).
# cpu: the same pipeline at toy size (2 seeds, T = 1,4,10,40, 1,000 training / 2,000 test
#      images, 2 epochs): about 3-6 minutes on 2 shared cores; its models are near chance.
# cpu-students: the shipped examples/data/trifeature as it is now: the five H200 teachers of
#      producers/resume/trifeature_teachers_h200.tgz (unpacked into ROOT, default
#      runs/trifeature, unless ROOT already has teachers) and the 70 students at the gpu
#      sizing (30 epochs; EPOCHS=10 gave the sweep shipped before) on the CPU, NDS as one group
#      of 5 and the DS of each seed as one group of 13 (--batch-runs 13, sharing the teacher's
#      forward pass): about 2 hours on 2 cores (10 epochs: about 50 minutes).
# device-call: the gpu sweep into runs/trifeature under a wall-time budget (BUDGET seconds,
#      default 420), then everything needed to check and resume it under OUTDIR (default
#      $OUT): sweep.log, summary.txt, nvidia-smi.txt and trifeature_sweep.tgz (the sweep
#      without its regenerable dataset cache, teacher checkpoints included). Runs cut off by
#      the budget leave nothing that looks finished; to resume in a later session, unpack the
#      archive into runs/ (tar xzf trifeature_sweep.tgz -C runs), carry runs/trifeature and
#      run device-call again: finished runs are skipped.
# Re-running the same gpu/cpu command resumes too. Sizes can be overridden with EPOCHS,
# TRAIN_SIZE, TEST_SIZE, IMAGE_SIZE, SEEDS, TEMPERATURES, and the parallelism with BATCH_RUNS
# or CONCURRENT; device-call also reads ROOT (default runs/trifeature) and DEVICE (cuda), so
# that it can be rehearsed on CPU at toy size.
set -euo pipefail
py="${PYTHON:-python}"
mode="${1:-gpu}"

parallel_opts() {  # batched if available and it honours grad_clip and warmup, else processes
  if [[ -n "${CONCURRENT:-}" ]]; then echo "--concurrent $CONCURRENT"; return; fi
  # (the help is captured first: under pipefail, `--help | grep -q` can fail on SIGPIPE)
  local help; help=$($py -m producers.sweep --help 2>/dev/null || true)
  if [[ "$help" == *"--batch-runs"* ]] \
     && [[ -f producers/batched.py ]] && grep -q "grad_clip" producers/batched.py \
     && grep -q "warmup" producers/batched.py; then
    echo "--batch-runs ${BATCH_RUNS:-16}"
  else
    echo "--concurrent ${1}"
  fi
}

gpu_cmd() {  # the full sweep into $1, extra options after
  local root="$1"; shift
  # shellcheck disable=SC2046
  echo $py -m producers.sweep --setting trifeature --out "$root" --seeds "${SEEDS:-0-4}" \
    --temperatures "${TEMPERATURES:-1-10,20,30,40}" --epochs "${EPOCHS:-30}" \
    --image-size "${IMAGE_SIZE:-32}" --train-size "${TRAIN_SIZE:-20000}" \
    --test-size "${TEST_SIZE:-50000}" --logits-dtype float16 --device "${DEVICE:-cuda}" --quiet \
    $(parallel_opts 8) "$@"
}

case "$mode" in
  gpu)
    root="${2:-runs/trifeature}"
    cmd=$(gpu_cmd "$root" "${@:3}")
    echo "$cmd" >&2
    rc=0; $cmd || rc=$?
    if [[ -d "$root" ]]; then $py -m producers.predfiles "$root"; fi
    exit $rc ;;
  cpu)
    root="${2:-runs/trifeature_cpu}"
    rc=0
    $py -m producers.sweep --setting trifeature --out "$root" --seeds "${SEEDS:-0-1}" \
      --temperatures "${TEMPERATURES:-1,4,10,40}" --epochs "${EPOCHS:-2}" \
      --image-size "${IMAGE_SIZE:-32}" --train-size "${TRAIN_SIZE:-1000}" \
      --test-size "${TEST_SIZE:-2000}" --logits-dtype float16 --device cpu --quiet \
      --concurrent "${CONCURRENT:-2}" "${@:3}" || rc=$?
    if [[ -d "$root" ]]; then $py -m producers.predfiles "$root"; fi
    exit $rc ;;
  cpu-students)
    root="${2:-runs/trifeature}"
    if [[ ! -d "$root/teacher" ]]; then
      tmp=$(mktemp -d)
      tar xzf producers/resume/trifeature_teachers_h200.tgz -C "$tmp"
      mkdir -p "$root"
      cp -r "$tmp/trifeature/." "$root/"
      rm -rf "$tmp"
    fi
    rc=0
    $py -m producers.sweep --setting trifeature --out "$root" --seeds "${SEEDS:-0-4}" \
      --temperatures "${TEMPERATURES:-1-10,20,30,40}" --epochs "${EPOCHS:-30}" \
      --teacher-epochs 30 --image-size 32 --train-size 20000 --test-size 50000 \
      --logits-dtype float16 --device cpu --quiet --batch-runs "${BATCH_RUNS:-13}" \
      "${@:3}" || rc=$?
    if [[ -d "$root" ]]; then $py -m producers.predfiles "$root"; fi
    exit $rc ;;
  device-call)
    outdir="${2:-${OUT:?set OUT or pass OUTDIR}}"
    budget="${BUDGET:-420}"
    root="${ROOT:-runs/trifeature}"
    mkdir -p "$outdir" "$root"
    export PYTHONUNBUFFERED=1
    (nvidia-smi || true) > "$outdir/nvidia-smi.txt" 2>&1
    cmd=$(gpu_cmd "$root")
    echo "$cmd" > "$outdir/sweep.log"
    t0=$(date +%s)
    setsid $cmd >> "$outdir/sweep.log" 2>&1 &
    pid=$!
    status="finished"
    while kill -0 "$pid" 2>/dev/null; do
      if (( $(date +%s) - t0 > budget )); then
        status="stopped at the ${budget}s budget (resume with the same call)"
        kill -TERM -- "-$pid" 2>/dev/null || true
        sleep 10
        kill -KILL -- "-$pid" 2>/dev/null || true
        break
      fi
      sleep 2
    done
    rc=0; wait "$pid" 2>/dev/null || rc=$?
    elapsed=$(( $(date +%s) - t0 ))
    $py -m producers.predfiles "$root" >> "$outdir/sweep.log" 2>&1 || true
    n_done=$(find "$root" -name 'seed*.parquet' -not -path '*/.producers/*' | wc -l)
    {
      echo "command: $cmd"
      echo "status: $status (exit $rc), ${elapsed}s wall"
      echo "prediction files: $n_done (75 in the full sweep)"
      du -sh --exclude=.producers "$root" | sed 's/^/size of the prediction files: /'
      shopt -s nullglob; for d in "$root"/*/; do
        echo "  $(basename "$d"): $(find "$d" -maxdepth 1 -name 'seed*.parquet' | wc -l) files"
      done
    } > "$outdir/summary.txt"
    tar czf "$outdir/trifeature_sweep.tgz" --exclude=.producers/data \
      -C "$(dirname "$root")" "$(basename "$root")"
    ls -l "$outdir" >> "$outdir/summary.txt"
    cat "$outdir/summary.txt" ;;
  *) echo "usage: $0 gpu|cpu|cpu-students|device-call [ROOT|OUTDIR] [sweep options]" >&2; exit 2 ;;
esac
