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
from pathlib import Path
from typing import Annotated

import typer

from kdbias_audit.errors import KDAuditError

from .plan import (
    WORK_DIR,
    SweepPlan,
    SweepRun,
    SweepSummary,
    checkpoint_path,
    default_batch_runs,
    default_compile,
    group_name,
    parse_float_list,
    parse_int_list,
    parse_shard,
    plan_groups,
    plan_sweep,
    run_state,
    temperature_label,
)
from .settings import get_setting

__all__ = [  # the planning names are `producers.plan`'s, re-exported here
    "WORK_DIR",
    "SweepPlan",
    "SweepRun",
    "SweepSummary",
    "app",
    "checkpoint_path",
    "cli",
    "default_batch_runs",
    "default_compile",
    "group_name",
    "parse_float_list",
    "parse_int_list",
    "parse_shard",
    "plan_groups",
    "plan_sweep",
    "run_state",
    "run_sweep",
    "temperature_label",
]

# --- execution -------------------------------------------------------------------------------


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

    def run_finished(self, name: str, runs: int = 1) -> None:
        if self.enabled:
            task = self.tasks.pop(name, None)
            if task is not None:
                self.progress.remove_task(task)
            self.progress.advance(self.overall, runs)

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
    batch_runs: int = 1,
    show_progress: bool = True,
    teacher_wait: float = 6 * 3600,
    poll_seconds: float = 5.0,
    dry_run: bool = False,
) -> SweepSummary:
    """Execute ``plan``: skip finished runs, train the rest (teachers first), report.

    ``batch_runs`` K > 1 trains compatible runs K at a time as one wide network (see
    `plan_groups`); a partly finished group trains only its missing runs (finished runs are
    skipped before groups are formed). ``concurrent`` K > 1 trains K runs at once in separate
    processes instead. A failing run is logged and reported; the runs that depend on it
    (distilled students of a failed teacher) are reported as failed too; the others go on.
    """
    if concurrent > 1 and batch_runs > 1:
        raise KDAuditError("--concurrent and --batch-runs are alternatives; choose one")
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
        groups = plan_groups(todo, batch_runs) if batch_runs > 1 else [(r,) for r in todo]
        if dry_run:
            for group in groups:
                if len(group) > 1:
                    print(f"would train together: {group_name(group)}")
                for run in group:
                    print(
                        f"would train {run.name} ({run.spec.role} {run.spec.arch}"
                        + (f", T={run.spec.temperature:g}" if run.spec.temperature else "")
                        + ")"
                    )
            return SweepSummary(plan.root, (), tuple(skipped), ())
        if todo and data is None:
            data = _prepare_data(plan, todo)
        if concurrent <= 1:
            _run_groups(groups, data, display, trained, failed, teacher_wait, poll_seconds)
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


def _run_groups(groups, data, display, trained, failed, teacher_wait, poll_seconds) -> None:
    """Train groups in order in this process: one run with `train_run`, more with `train_group`."""
    from .train import train_run

    failed_teachers: set[int] = set()
    for group in groups:
        ready: list[SweepRun] = []
        for run in group:
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
            ready.append(run)
        if not ready:
            continue
        name = group_name(ready)
        display.run_started(name)
        progress = lambda d, t, n=name: display.run_progress(n, d, t)  # noqa: E731
        if len(ready) == 1:
            run = ready[0]
            try:
                res = train_run(run.spec, run.out, data=data, log_path=run.log, progress=progress)
            except (KDAuditError, OSError, RuntimeError, ValueError) as exc:
                _record_failure(run, exc, failed, failed_teachers, display)
            else:
                trained.append(run.name)
                display.print(f"{run.name}: {_describe(res.to_dict())}")
        else:
            _train_batched_group(ready, data, display, trained, failed, failed_teachers, progress)
        display.run_finished(name, runs=len(ready))


def _train_batched_group(group, data, display, trained, failed, failed_teachers, progress) -> None:
    from .batched import train_group

    try:
        outcomes = train_group(
            [r.spec for r in group],
            [r.out for r in group],
            data=data,
            log_paths=[r.log for r in group],
            progress=progress,
        )
    except (KDAuditError, OSError, RuntimeError, ValueError) as exc:
        for run in group:
            _record_failure(run, exc, failed, failed_teachers, display)
        return
    for run, outcome in zip(group, outcomes, strict=True):
        if outcome.error is not None:
            _record_failure(run, outcome.error, failed, failed_teachers, display)
        else:
            trained.append(run.name)
            display.print(f"{run.name}: {_describe(outcome.result.to_dict())}")


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


def make_app(*, streamed: bool = False) -> typer.Typer:
    """The sweep command. ``streamed=True`` is ``python -m producers.sweep_large``'s flavour:
    image settings default to the DDP runner and ``--epochs`` to the setting's."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @app.command()
    def main(
        setting: Annotated[
            str, typer.Option(help="A registered setting: trifeature, cifar10, cifar100, svhn, ...")
        ],
        out: Annotated[Path, typer.Option(help="Sweep root directory.")],
        epochs: Annotated[
            int | None,
            typer.Option(help="Epochs per run (default: the setting's; the study: 100)."),
        ] = None,
        seeds: Annotated[str, typer.Option(help="Seeds, e.g. 0-4 or 0,1,2.")] = "0-4",
        temperatures: Annotated[
            str, typer.Option(help="Temperatures, e.g. 1-10,20,30,40.")
        ] = "1-10,20,30,40",
        alpha: Annotated[float, typer.Option(help="Weight of the soft-target term.")] = 0.8,
        teacher_epochs: Annotated[
            int | None, typer.Option(help="Teacher epochs (default: --epochs).")
        ] = None,
        lr: Annotated[
            float | None,
            typer.Option(
                help="Initial learning rate (default: the setting's; the study: 0.1, "
                "HateXplain: 2e-5)."
            ),
        ] = None,
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
        student_warmup: Annotated[
            float | None,
            typer.Option(
                help="Students' linear LR warm-up, a fraction of their steps (default: the "
                "setting's, 0.1 for trifeature; 0 turns it off)."
            ),
        ] = None,
        image_size: Annotated[
            int | None, typer.Option(help="Image size (generated datasets).")
        ] = None,
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
        shard: Annotated[
            str | None, typer.Option(help="i/n: this task's share of the runs.")
        ] = None,
        concurrent: Annotated[
            int, typer.Option(help="Runs trained at once (separate processes).")
        ] = 1,
        batch_runs: Annotated[
            int | None,
            typer.Option(
                help="Runs trained together as one wide network (default: 16 on CUDA, 1 on CPU)."
            ),
        ] = None,
        device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
        compile: Annotated[
            bool | None,
            typer.Option(
                "--compile/--no-compile",
                help="torch.compile, CUDA graphs on CUDA (default: on for CUDA, off on CPU).",
            ),
        ] = None,
        compile_mode: Annotated[str, typer.Option(help="torch.compile mode.")] = "reduce-overhead",
        logits_dtype: Annotated[
            str, typer.Option(help="float32 or float16 logits in the files, or none (pred only).")
        ] = "float32",
        teacher_wait: Annotated[
            float, typer.Option(help="Seconds to wait for a teacher of another shard.")
        ] = 6 * 3600,
        models_root: Annotated[
            Path | None, typer.Option(help="Local transformers model directories (text settings).")
        ] = None,
        runner: Annotated[
            str | None,
            typer.Option(
                help="memory (in-memory trainer), ddp (streamed, torchrun) or text "
                "(default: the setting's)."
            ),
        ] = None,
        max_steps: Annotated[
            int | None,
            typer.Option(help="ddp/text runners: stop each run after N steps (smoke tests)."),
        ] = None,
        num_workers: Annotated[
            int,
            typer.Option(help="DataLoader workers per process (file-streamed settings: ImageNet)."),
        ] = 8,
        quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="List the runs that would be trained.")
        ] = False,
    ) -> None:
        """Train teacher, NDS and DS(T) over seeds into OUT/{teacher,nds,ds_T<T>}/seed<k>.parquet."""
        try:
            the_setting = get_setting(setting)
            plan = plan_sweep(
                setting=setting,
                out=out,
                seeds=parse_int_list(seeds, "seeds"),
                temperatures=parse_float_list(temperatures),
                epochs=epochs or the_setting.epochs,
                alpha=alpha,
                batch_size=batch_size,
                teacher_arch=teacher_arch,
                student_arch=student_arch,
                teacher_epochs=teacher_epochs,
                lr=lr,
                student_lr=student_lr,
                student_grad_clip="setting" if student_grad_clip is None else student_grad_clip,
                student_warmup="setting" if student_warmup is None else student_warmup,
                image_size=image_size,
                train_size=train_size,
                test_size=test_size,
                data_root=str(data_root) if data_root else None,
                data_seed=data_seed,
                allow_pickle=allow_pickle,
                hflip=hflip,
                device=device,
                compile=default_compile(device) if compile is None else compile,
                compile_mode=compile_mode,
                logits_dtype=logits_dtype,
                models_root=str(models_root) if models_root else None,
                num_workers=num_workers,
                max_steps=max_steps,
            )
            if concurrent < 1:
                raise KDAuditError("--concurrent must be >= 1")
            if batch_runs is not None and batch_runs < 1:
                raise KDAuditError("--batch-runs must be >= 1")
            if batch_runs is None:
                batch_runs = 1 if concurrent > 1 else default_batch_runs(device)
            i, n = parse_shard(shard)
            plan = plan.shard(i, n)
            chosen = runner or the_setting.runner
            if streamed and runner is None and chosen == "memory":
                chosen = "ddp"
            if chosen not in ("memory", "ddp", "text"):
                raise KDAuditError(f"--runner must be memory, ddp or text, got {chosen!r}")
            if chosen != "memory" and the_setting.runner == "text" and chosen != "text":
                raise KDAuditError(f"{setting} is a text setting: --runner text")
            if chosen == "memory" and the_setting.runner != "memory":
                raise KDAuditError(f"{setting} cannot run in memory: --runner {the_setting.runner}")
            if chosen in ("ddp", "text") and not dry_run:
                # streamed (DataLoader, torchrun/DDP) or text (transformers): same plan,
                # their own executor (producers/streamed.py)
                from .streamed import run_large_sweep

                if concurrent != 1:
                    raise KDAuditError(
                        f"--concurrent is for in-memory settings; {setting} runs one run at a time "
                        "(use torchrun for several GPUs)"
                    )
                summary = run_large_sweep(plan, teacher_wait=teacher_wait)
            else:
                summary = run_sweep(
                    plan,
                    concurrent=concurrent,
                    batch_runs=batch_runs,
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

    return app


app = make_app()


def cli(argv: list[str] | None = None) -> None:
    app(argv if argv is not None else sys.argv[1:], prog_name="python -m producers.sweep")


if __name__ == "__main__":
    cli()
