"""A resumable sweep: teacher, non-distilled student and one distilled student per temperature.

``python -m producers.sweep --setting trifeature --out runs/trifeature --seeds 0-4
--temperatures 1-10,20,30,40 --epochs 100`` trains, for every seed ``k``:

- ``ROOT/teacher/seed<k>.parquet`` -- the teacher (its weights also go to
  ``ROOT/.producers/checkpoints/teacher_seed<k>.pt``);
- ``ROOT/nds/seed<k>.parquet`` -- the student trained alone (role ``baseline``);
- ``ROOT/ds_T<T>/seed<k>.parquet`` -- the student distilled at temperature ``T`` from the
  teacher **of the same seed**.

Order: teachers first, then students (a distilled run starts once its teacher is finished).
Resumable: a run whose prediction file exists, validates and carries the metadata this sweep
would write is skipped (a file made with a different recipe is an error, never silently mixed
in); a run killed midway leaves nothing that looks finished (prediction files and checkpoints
are written atomically, teacher checkpoint first). ``--shard i/n`` keeps runs ``j`` with
``j % n == i`` of the ordered list; a distilled run whose teacher belongs to another shard waits
for that teacher's files to appear (``--teacher-wait`` seconds). ``--concurrent K`` trains up
to K runs at once in separate processes on the same device (several small runs fill a GPU
far better than one). Logs: ``ROOT/.producers/logs/<runset>_seed<k>.log``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from kdbias_audit.errors import KDAuditError

from .settings import get_setting
from .train import RunSpec

__all__ = [
    "SweepPlan",
    "SweepRun",
    "SweepSummary",
    "parse_int_list",
    "parse_float_list",
    "plan_sweep",
    "run_sweep",
]

WORK_DIR = ".producers"


# --- parsing ---------------------------------------------------------------------------------


def _parse_items(text: str, what: str) -> list[str]:
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise KDAuditError(f"--{what}: empty list")
    return items


def parse_int_list(text: str, what: str = "seeds") -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,2,5-6"`` -> [0, 2, 5, 6] (order kept, duplicates dropped)."""
    out: list[int] = []
    for item in _parse_items(text, what):
        try:
            if "-" in item:
                lo, hi = item.split("-", 1)
                a, b = int(lo), int(hi)
                if b < a:
                    raise ValueError
                out.extend(range(a, b + 1))
            else:
                out.append(int(item))
        except ValueError:
            raise KDAuditError(f"--{what}: cannot read {item!r}; use e.g. 0-4 or 0,2,5") from None
    return list(dict.fromkeys(out))


def parse_float_list(text: str, what: str = "temperatures") -> list[float]:
    """``"1-10,20,30,40"`` -> 1..10 (integer steps), 20, 30, 40; ``"0.5,2.5"`` as given."""
    out: list[float] = []
    for item in _parse_items(text, what):
        try:
            if "-" in item:
                lo, hi = item.split("-", 1)
                a, b = float(lo), float(hi)
                if b < a or a != int(a) or b != int(b):
                    raise ValueError
                out.extend(float(v) for v in range(int(a), int(b) + 1))
            else:
                out.append(float(item))
        except ValueError:
            raise KDAuditError(
                f"--{what}: cannot read {item!r}; use numbers and integer ranges, e.g. 1-10,20"
            ) from None
    if any(t <= 0 for t in out):
        raise KDAuditError(f"--{what}: temperatures must be > 0")
    return list(dict.fromkeys(out))


def parse_shard(text: str | None) -> tuple[int, int]:
    if not text:
        return 0, 1
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise KDAuditError(f"--shard: expected i/n (e.g. 0/4), got {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise KDAuditError(f"--shard: need 0 <= i < n, got {text!r}")
    return i, n


def temperature_label(t: float) -> str:
    """Directory label of a temperature: 4.0 -> ``"4"``, 2.5 -> ``"2.5"``."""
    return f"{t:g}"


# --- plan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepRun:
    """One run of the plan: its spec, its output file, its log, and its teacher's files."""

    spec: RunSpec
    runset: str
    out: Path
    log: Path
    teacher_out: Path | None = None

    @property
    def name(self) -> str:
        return f"{self.runset}/seed{self.spec.seed}"


@dataclass(frozen=True)
class SweepPlan:
    root: Path
    runs: tuple[SweepRun, ...]
    data_cache: Path | None

    def shard(self, i: int, n: int) -> SweepPlan:
        return SweepPlan(
            self.root, tuple(r for j, r in enumerate(self.runs) if j % n == i), self.data_cache
        )


def checkpoint_path(root: Path, seed: int) -> Path:
    return root / WORK_DIR / "checkpoints" / f"teacher_seed{seed}.pt"


def plan_sweep(
    *,
    setting: str,
    out: str | os.PathLike[str],
    seeds: Sequence[int],
    temperatures: Sequence[float],
    epochs: int,
    alpha: float = 0.8,
    batch_size: int | None = None,
    teacher_arch: str | None = None,
    student_arch: str | None = None,
    teacher_epochs: int | None = None,
    lr: float = 0.1,
    student_lr: float | None = None,
    student_grad_clip: float | None | str = "setting",
    include_nds: bool = True,
    **spec_options,
) -> SweepPlan:
    """The ordered runs of a sweep (teachers, then NDS, then DS by temperature and seed).

    ``lr`` is the teachers' initial learning rate and the students' unless ``student_lr`` is
    given (the study uses 0.1 for every model). ``student_grad_clip`` is the students' maximum
    gradient norm: ``"setting"`` (default) takes the setting's (1.0 for the LeNet-5 settings,
    none elsewhere), ``None`` or 0 turns clipping off. ``spec_options`` go to every `RunSpec`
    (``image_size``, ``train_size``, ``test_size``, ``data_root``, ``device``, ``compile``,
    ``logits_dtype``, ...).
    """
    s_lr = lr if student_lr is None else student_lr
    s = get_setting(setting)
    s_clip = s.student_grad_clip if student_grad_clip == "setting" else student_grad_clip
    s_clip = float(s_clip) if s_clip else None
    root = Path(out)
    bs = batch_size or s.batch_size
    t_arch = teacher_arch or s.teacher_arch
    s_arch = student_arch or s.student_arch
    cache = None
    if s.extra.get("generated"):
        key = "_".join(
            f"{k}{spec_options.get(k)}"
            for k in ("image_size", "train_size", "test_size", "data_seed")
        )
        cache = root / WORK_DIR / "data" / f"{s.name}_{key}.npz"
    spec_options = dict(spec_options)
    if cache is not None:
        spec_options["data_cache"] = str(cache)
    logs = root / WORK_DIR / "logs"
    runs: list[SweepRun] = []
    for seed in seeds:
        runs.append(
            SweepRun(
                RunSpec(
                    setting=setting,
                    role="teacher",
                    seed=seed,
                    arch=t_arch,
                    epochs=teacher_epochs or epochs,
                    batch_size=bs,
                    lr=lr,
                    save_checkpoint=str(checkpoint_path(root, seed)),
                    **spec_options,
                ),
                "teacher",
                root / "teacher" / f"seed{seed}.parquet",
                logs / f"teacher_seed{seed}.log",
            )
        )
    if include_nds:
        for seed in seeds:
            runs.append(
                SweepRun(
                    RunSpec(
                        setting=setting,
                        role="baseline",
                        seed=seed,
                        arch=s_arch,
                        epochs=epochs,
                        batch_size=bs,
                        lr=s_lr,
                        grad_clip=s_clip,
                        **spec_options,
                    ),
                    "nds",
                    root / "nds" / f"seed{seed}.parquet",
                    logs / f"nds_seed{seed}.log",
                )
            )
    for t in temperatures:
        label = f"ds_T{temperature_label(t)}"
        for seed in seeds:
            runs.append(
                SweepRun(
                    RunSpec(
                        setting=setting,
                        role="distilled",
                        seed=seed,
                        arch=s_arch,
                        epochs=epochs,
                        batch_size=bs,
                        lr=s_lr,
                        grad_clip=s_clip,
                        temperature=float(t),
                        alpha=alpha,
                        teacher_arch=t_arch,
                        teacher_checkpoint=str(checkpoint_path(root, seed)),
                        **spec_options,
                    ),
                    label,
                    root / label / f"seed{seed}.parquet",
                    logs / f"{label}_seed{seed}.log",
                    teacher_out=root / "teacher" / f"seed{seed}.parquet",
                )
            )
    return SweepPlan(root, tuple(runs), cache)


# --- state of a run on disk ------------------------------------------------------------------

_CHECKED_KEYS = (
    "role",
    "model",
    "dataset",
    "seed",
    "temperature",
    "alpha",
    "teacher_model",
    "epochs",
    "batch_size",
    "lr",
    "grad_clip",
    "data_seed",
    "image_size",
    "train_size",
    "test_size",
)


def run_state(run: SweepRun, expected: dict | None = None) -> str:
    """``"done"``, ``"missing"`` or ``"invalid"`` (a file that does not validate).

    A teacher is done only when its checkpoint exists too. When ``expected`` metadata is given
    and the file disagrees on a recipe key, raises `KDAuditError` naming the key.
    """
    from kdbias_audit.io import read_predictions

    if not run.out.is_file():
        return "missing"
    if run.spec.save_checkpoint and not Path(run.spec.save_checkpoint).is_file():
        return "missing"
    try:
        meta = read_predictions(run.out).metadata
    except KDAuditError:
        return "invalid"
    if expected is not None:
        for key in _CHECKED_KEYS:
            if key in expected and meta.get(key) != expected[key]:
                raise KDAuditError(
                    f"{run.out}: exists but was made with {key}={meta.get(key)!r} (this sweep: "
                    f"{expected[key]!r}); use another --out or remove the file"
                )
    return "done"


# --- execution -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep invocation did: run names trained, skipped and failed (with the reason)."""

    root: Path
    trained: tuple[str, ...]
    skipped: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict:
        return {
            "root": str(self.root),
            "trained": list(self.trained),
            "skipped": list(self.skipped),
            "failed": [{"run": n, "error": e} for n, e in self.failed],
        }


_QUEUE = None  # progress queue of a worker process


def _init_worker(queue, threads: int | None) -> None:
    global _QUEUE
    _QUEUE = queue
    if threads:
        import torch

        torch.set_num_threads(threads)


def _worker(spec_json: str, out: str, log: str, name: str) -> dict:
    from .train import RunSpec, train_run

    spec = RunSpec.from_json(spec_json)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if _QUEUE is not None and (now - last[0] > 0.25 or done == total):
            last[0] = now
            _QUEUE.put((name, done, total))

    return train_run(spec, out, log_path=log, progress=progress).to_dict()


class _Display:
    """rich progress: one bar for the sweep, one per active run."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.enabled = enabled
        self.tasks: dict[str, int] = {}
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self.overall = self.progress.add_task("sweep", total=total)
            self.progress.start()

    def print(self, msg: str) -> None:
        if self.enabled:
            self.progress.console.print(msg, highlight=False, markup=False)

    def run_started(self, name: str) -> None:
        if self.enabled:
            self.tasks[name] = self.progress.add_task(f"  {name}", total=None)

    def run_progress(self, name: str, done: int, total: int) -> None:
        if self.enabled and name in self.tasks:
            self.progress.update(self.tasks[name], completed=done, total=total)

    def run_finished(self, name: str) -> None:
        if self.enabled:
            task = self.tasks.pop(name, None)
            if task is not None:
                self.progress.remove_task(task)
            self.progress.advance(self.overall)

    def close(self) -> None:
        if self.enabled:
            self.progress.stop()


def _prepare_data(plan: SweepPlan, runs: Sequence[SweepRun]):
    """Load (or generate and cache) the dataset once for the whole invocation."""
    from .train import load_data

    return load_data(runs[0].spec)


def run_sweep(
    plan: SweepPlan,
    *,
    concurrent: int = 1,
    show_progress: bool = True,
    teacher_wait: float = 6 * 3600,
    poll_seconds: float = 5.0,
    dry_run: bool = False,
) -> SweepSummary:
    """Execute ``plan``: skip finished runs, train the rest (teachers first), report.

    A failing run is logged and reported; the runs that depend on it (distilled students of a
    failed teacher) are reported as failed too; the others go on.
    """
    display = _Display(len(plan.runs), show_progress and not dry_run)
    skipped: list[str] = []
    trained: list[str] = []
    failed: list[tuple[str, str]] = []
    todo: list[SweepRun] = []
    data = None
    try:
        for run in plan.runs:
            state = run_state(run)
            if state == "done":
                if data is None:
                    data = _prepare_data(plan, plan.runs)
                state = run_state(run, run.spec.expected_metadata(data))
            if state == "done":
                skipped.append(run.name)
                display.run_finished(run.name)
            else:
                if state == "invalid":
                    display.print(f"{run.out}: does not validate; training it again")
                todo.append(run)
        if dry_run:
            for run in todo:
                print(
                    f"would train {run.name} ({run.spec.role} {run.spec.arch}"
                    + (f", T={run.spec.temperature:g}" if run.spec.temperature else "")
                    + ")"
                )
            return SweepSummary(plan.root, (), tuple(skipped), ())
        if todo and data is None:
            data = _prepare_data(plan, todo)
        if concurrent <= 1:
            _run_inline(todo, data, display, trained, failed, plan, teacher_wait, poll_seconds)
        else:
            _run_pool(todo, concurrent, display, trained, failed, plan, teacher_wait, poll_seconds)
    finally:
        display.close()
    return SweepSummary(plan.root, tuple(trained), tuple(skipped), tuple(failed))


def _teacher_ready(run: SweepRun) -> bool:
    return (
        run.teacher_out is not None
        and run.teacher_out.is_file()
        and Path(run.spec.teacher_checkpoint).is_file()
    )


def _describe(result: dict) -> str:
    return f"test acc {result['test_accuracy']:.4f}, {result['seconds']:.1f}s, {result['images_per_second']:.0f} img/s"


def _run_inline(todo, data, display, trained, failed, plan, teacher_wait, poll_seconds) -> None:
    from .train import train_run

    failed_teachers: set[int] = set()
    for run in todo:
        if run.spec.role == "distilled":
            if run.spec.seed in failed_teachers:
                failed.append((run.name, "its teacher failed"))
                display.run_finished(run.name)
                continue
            if not _wait_for_teacher(run, display, teacher_wait, poll_seconds):
                failed.append(
                    (run.name, f"teacher {run.teacher_out} not ready after {teacher_wait:.0f}s")
                )
                display.run_finished(run.name)
                continue
        display.run_started(run.name)
        try:
            res = train_run(
                run.spec,
                run.out,
                data=data,
                log_path=run.log,
                progress=lambda d, t, n=run.name: display.run_progress(n, d, t),
            )
        except (KDAuditError, OSError, RuntimeError, ValueError) as exc:
            _record_failure(run, exc, failed, failed_teachers, display)
        else:
            trained.append(run.name)
            display.print(f"{run.name}: {_describe(res.to_dict())}")
        display.run_finished(run.name)


def _record_failure(run, exc, failed, failed_teachers, display) -> None:
    msg = " ".join(str(exc).split()) or type(exc).__name__
    failed.append((run.name, msg))
    if run.spec.role == "teacher":
        failed_teachers.add(run.spec.seed)
    try:
        run.log.parent.mkdir(parents=True, exist_ok=True)
        with open(run.log, "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} FAILED: {type(exc).__name__}: {msg}\n")
    except OSError:
        pass
    display.print(f"{run.name}: FAILED ({msg}); log {run.log}")


def _wait_for_teacher(run, display, teacher_wait, poll_seconds) -> bool:
    start = time.monotonic()
    said = False
    while not _teacher_ready(run):
        if time.monotonic() - start > teacher_wait:
            return False
        if not said:
            display.print(f"{run.name}: waiting for {run.teacher_out} (another shard trains it)")
            said = True
        time.sleep(poll_seconds)
    return True


def _run_pool(todo, concurrent, display, trained, failed, plan, teacher_wait, poll_seconds) -> None:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    # one share of the CPU cores per process (on CUDA the host work is small; on CPU it is all)
    threads = max(1, (os.cpu_count() or 1) // concurrent)
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            try:
                name, done, total = queue.get(timeout=0.2)
            except Exception:  # queue.Empty, or the queue closed
                continue
            display.run_progress(name, done, total)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    own_teachers = {r.spec.seed: r for r in todo if r.spec.role == "teacher"}
    failed_teachers: set[int] = set()
    pending = list(todo)
    running: dict = {}
    waiting_since: float | None = None
    try:
        with ProcessPoolExecutor(
            max_workers=concurrent,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(queue, threads),
        ) as pool:
            while pending or running:
                # drop students whose teacher failed
                for run in [
                    r
                    for r in pending
                    if r.spec.role == "distilled" and r.spec.seed in failed_teachers
                ]:
                    pending.remove(run)
                    failed.append((run.name, "its teacher failed"))
                    display.run_finished(run.name)
                while len(running) < concurrent:
                    ready = next(
                        (
                            r
                            for r in pending
                            if r.spec.role != "distilled"
                            or (
                                r.spec.seed
                                not in {
                                    x.spec.seed
                                    for x in own_teachers.values()
                                    if x in pending or x in running.values()
                                }
                                and _teacher_ready(r)
                            )
                        ),
                        None,
                    )
                    if ready is None:
                        break
                    pending.remove(ready)
                    fut = pool.submit(
                        _worker, ready.spec.to_json(), str(ready.out), str(ready.log), ready.name
                    )
                    running[fut] = ready
                    display.run_started(ready.name)
                if running:
                    waiting_since = None
                    done, _ = wait(list(running), timeout=1.0, return_when=FIRST_COMPLETED)
                    for fut in done:
                        run = running.pop(fut)
                        try:
                            res = fut.result()
                        except Exception as exc:  # the worker's exception, re-raised here
                            _record_failure(run, exc, failed, failed_teachers, display)
                        else:
                            trained.append(run.name)
                            display.print(f"{run.name}: {_describe(res)}")
                        display.run_finished(run.name)
                elif pending:
                    # only distilled runs whose teachers another shard is training
                    if waiting_since is None:
                        waiting_since = time.monotonic()
                        display.print(
                            f"waiting for teachers trained by other shards ({len(pending)} runs)"
                        )
                    if time.monotonic() - waiting_since > teacher_wait:
                        for run in pending:
                            failed.append(
                                (
                                    run.name,
                                    f"teacher {run.teacher_out} not ready after {teacher_wait:.0f}s",
                                )
                            )
                            display.run_finished(run.name)
                        pending.clear()
                    time.sleep(poll_seconds)
    finally:
        stop.set()
        reader.join(timeout=2)
        queue.close()


# --- command line ----------------------------------------------------------------------------

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(
    setting: Annotated[
        str, typer.Option(help="A registered setting: trifeature, cifar10, cifar100, svhn, ...")
    ],
    out: Annotated[Path, typer.Option(help="Sweep root directory.")],
    epochs: Annotated[int, typer.Option(help="Epochs per run (the study: 100).")],
    seeds: Annotated[str, typer.Option(help="Seeds, e.g. 0-4 or 0,1,2.")] = "0-4",
    temperatures: Annotated[
        str, typer.Option(help="Temperatures, e.g. 1-10,20,30,40.")
    ] = "1-10,20,30,40",
    alpha: Annotated[float, typer.Option(help="Weight of the soft-target term.")] = 0.8,
    teacher_epochs: Annotated[
        int | None, typer.Option(help="Teacher epochs (default: --epochs).")
    ] = None,
    lr: Annotated[float, typer.Option(help="Initial learning rate (the study: 0.1).")] = 0.1,
    student_lr: Annotated[
        float | None, typer.Option(help="Students' initial learning rate (default: --lr).")
    ] = None,
    student_grad_clip: Annotated[
        float | None,
        typer.Option(
            help="Students' max gradient norm (default: the setting's, 1.0 for LeNet-5 "
            "settings; 0 turns it off)."
        ),
    ] = None,
    image_size: Annotated[int | None, typer.Option(help="Image size (generated datasets).")] = None,
    train_size: Annotated[int | None, typer.Option(help="Training samples (first N).")] = None,
    test_size: Annotated[int | None, typer.Option(help="Test samples (first N).")] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Batch size (default: the setting's).")
    ] = None,
    teacher_arch: Annotated[
        str | None, typer.Option(help="Override the setting's teacher.")
    ] = None,
    student_arch: Annotated[
        str | None, typer.Option(help="Override the setting's student.")
    ] = None,
    data_root: Annotated[
        Path | None, typer.Option(help="Directory with the dataset files.")
    ] = None,
    data_seed: Annotated[
        int, typer.Option(help="Seed of generated datasets (fixed across a sweep).")
    ] = 0,
    allow_pickle: Annotated[
        bool, typer.Option("--allow-pickle", help="Read the pickled python version of CIFAR.")
    ] = False,
    hflip: Annotated[
        bool | None,
        typer.Option("--hflip/--no-hflip", help="Random flips (default: the setting's)."),
    ] = None,
    shard: Annotated[str | None, typer.Option(help="i/n: this task's share of the runs.")] = None,
    concurrent: Annotated[int, typer.Option(help="Runs trained at once (separate processes).")] = 1,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    compile: Annotated[
        bool, typer.Option("--compile/--no-compile", help="torch.compile (CUDA graphs on CUDA).")
    ] = False,
    compile_mode: Annotated[str, typer.Option(help="torch.compile mode.")] = "reduce-overhead",
    logits_dtype: Annotated[
        str, typer.Option(help="float32 or float16 logits in the files.")
    ] = "float32",
    teacher_wait: Annotated[
        float, typer.Option(help="Seconds to wait for a teacher of another shard.")
    ] = 6 * 3600,
    models_root: Annotated[
        Path | None, typer.Option(help="Local transformers model directories (text settings).")
    ] = None,
    num_workers: Annotated[
        int, typer.Option(help="DataLoader workers per process (file-streamed settings: ImageNet).")
    ] = 8,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the runs that would be trained.")
    ] = False,
) -> None:
    """Train teacher, NDS and DS(T) over seeds into OUT/{teacher,nds,ds_T<T>}/seed<k>.parquet."""
    try:
        plan = plan_sweep(
            setting=setting,
            out=out,
            seeds=parse_int_list(seeds, "seeds"),
            temperatures=parse_float_list(temperatures),
            epochs=epochs,
            alpha=alpha,
            batch_size=batch_size,
            teacher_arch=teacher_arch,
            student_arch=student_arch,
            teacher_epochs=teacher_epochs,
            lr=lr,
            student_lr=student_lr,
            student_grad_clip="setting" if student_grad_clip is None else student_grad_clip,
            image_size=image_size,
            train_size=train_size,
            test_size=test_size,
            data_root=str(data_root) if data_root else None,
            data_seed=data_seed,
            allow_pickle=allow_pickle,
            hflip=hflip,
            device=device,
            compile=compile,
            compile_mode=compile_mode,
            logits_dtype=logits_dtype,
        )
        if concurrent < 1:
            raise KDAuditError("--concurrent must be >= 1")
        i, n = parse_shard(shard)
        plan = plan.shard(i, n)
        runner = get_setting(setting).extra.get("runner")
        if runner in ("ddp", "text") and not dry_run:
            # streamed (DataLoader, torchrun/DDP) or text (transformers) settings: same plan,
            # their own executor (see producers/sweep_large.py)
            from .sweep_large import run_large_sweep

            if concurrent != 1:
                raise KDAuditError(
                    f"--concurrent is for in-memory settings; {setting} runs one run at a time "
                    "(use torchrun for several GPUs)"
                )
            summary = run_large_sweep(
                plan,
                teacher_wait=teacher_wait,
                num_workers=num_workers,
                models_root=str(models_root) if models_root else None,
            )
        else:
            summary = run_sweep(
                plan,
                concurrent=concurrent,
                show_progress=not quiet,
                teacher_wait=teacher_wait,
                dry_run=dry_run,
            )
    except (KDAuditError, OSError, ValueError, RuntimeError) as exc:
        typer.echo(f"error: {' '.join(str(exc).split())}", err=True)
        raise typer.Exit(1) from None
    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 reports
        raise typer.Exit(1 if summary.failed else 0)
    typer.echo(
        f"{out}: {len(summary.trained)} trained, {len(summary.skipped)} skipped, "
        f"{len(summary.failed)} failed"
    )
    if summary.failed:
        for name, err in summary.failed:
            typer.echo(f"error: {name}: {err}", err=True)
        raise typer.Exit(1)


def cli(argv: list[str] | None = None) -> None:
    app(argv if argv is not None else sys.argv[1:], prog_name="python -m producers.sweep")


if __name__ == "__main__":
    cli()
