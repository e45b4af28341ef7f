"""From checkpoints to an audit: ``python -m producers.predict`` for a teacher and a student.

The whole audit of a distilled model someone else trained is three commands::

    python -m producers.predict --model ... --data TEST --out audit/teacher/seed0.parquet --role teacher
    python -m producers.predict --model ... --data TEST --out audit/student/seed0.parquet --role distilled
    kdaudit compare audit/teacher audit/student --method samples

This example plays it twice, with models it creates itself (random weights, so nothing is
downloaded; the numbers mean nothing, the workflow is the point):

- **images**: a timm ``test_resnet`` "teacher" and a timm ``test_efficientnet`` "student",
  saved as ``.safetensors`` state dicts, predicted on a generated class-per-folder image
  directory (4 classes) whose group attribute ``background`` comes from a sidecar CSV;
- **text**: a tiny BERT "teacher" and a tiny DistilBERT "student", saved with
  ``save_pretrained`` together with a WordPiece tokenizer, predicted on a CSV table with a text
  column, a label column and two group columns (``dialect``, ``gender``).

Each pair is then compared with ``kdaudit compare --method samples`` (one checkpoint per side:
tests over the test samples). With a kdaudit that does not have ``--method`` yet, the example
makes a second checkpoint per side (seed 1) and compares the two-seed run sets instead.

Run::

    python examples/predict_and_audit.py [--out DIR]

Needs the ``producers`` extra (torch, timm, transformers). Outputs go under ``--out`` (default:
``$KDAUDIT_EXAMPLE_OUT`` or a new temporary directory). About a minute on two CPU cores.
"""

from __future__ import annotations

import argparse
import csv
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CLASSES = ("circle", "cross", "square", "stripes")
WORDS = "the a movie film was is not very good great fine bad awful boring fun plot".split()


def make_images(root: Path, per_class: int = 8, seed: int = 0) -> Path:
    """A class-per-folder directory of small drawn images and ``groups.csv`` (``background``)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    rows = []
    for c in CLASSES:
        (root / "images" / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            dark = bool(rng.integers(0, 2))
            img = Image.new("RGB", (48, 40), (30, 30, 40) if dark else (200, 200, 190))
            d = ImageDraw.Draw(img)
            x, y, s = int(rng.integers(4, 20)), int(rng.integers(4, 14)), int(rng.integers(12, 20))
            ink = tuple(int(v) for v in rng.integers(60, 256, 3))
            if c == "circle":
                d.ellipse((x, y, x + s, y + s), fill=ink)
            elif c == "square":
                d.rectangle((x, y, x + s, y + s), fill=ink)
            elif c == "cross":
                d.line((x, y, x + s, y + s), fill=ink, width=3)
                d.line((x, y + s, x + s, y), fill=ink, width=3)
            else:
                for k in range(0, 48, 6):
                    d.line((k, 0, k, 40), fill=ink, width=2)
            img.save(root / "images" / c / f"{i:02d}.png")
            rows.append((f"{c}/{i:02d}.png", "dark" if dark else "light"))
    with open(root / "groups.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["path", "background"])
        w.writerows(rows)
    return root / "images"


def make_texts(path: Path, n: int = 48, seed: int = 0) -> Path:
    """A CSV test table: ``text``, ``label`` (positive/negative), ``dialect``, ``gender``."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", "label", "dialect", "gender"])
        for i in range(n):
            text = " ".join(rng.choice(WORDS, size=int(rng.integers(3, 12))))
            label = "positive" if rng.random() < 0.5 else "negative"
            w.writerow(
                [f"post{i:03d}", text, label, rng.choice(["aae", "sae"]), rng.choice(["f", "m"])]
            )
    return path


def save_timm(arch: str, path: Path, seed: int) -> Path:
    """A randomly initialised timm model for the 4 classes, saved as a state dict."""
    import timm
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    model = timm.create_model(arch, pretrained=False, num_classes=len(CLASSES))
    save_file(model.state_dict(), path)
    return path


def save_text_model(kind: str, path: Path, seed: int) -> Path:
    """A tiny BERT or DistilBERT classifier with class names and a WordPiece tokenizer."""
    import torch
    import transformers

    path.mkdir(parents=True, exist_ok=True)
    vocab = path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    names = {"id2label": {0: "negative", 1: "positive"}, "label2id": {"negative": 0, "positive": 1}}
    # a wide initialisation, so that the untrained models' predictions vary from post to post
    size = {
        "vocab_size": len(WORDS) + 5,
        "max_position_embeddings": 64,
        "num_labels": 2,
        "initializer_range": 1.0,
    }
    if kind == "bert":
        cfg = transformers.BertConfig(
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            **size,
            **names,
        )
        cls = transformers.BertForSequenceClassification
    else:
        cfg = transformers.DistilBertConfig(
            dim=16, n_layers=1, n_heads=2, hidden_dim=32, **size, **names
        )
        cls = transformers.DistilBertForSequenceClassification
    transformers.utils.logging.disable_progress_bar()
    torch.manual_seed(seed)
    cls(cfg).save_pretrained(path)
    transformers.BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True).save_pretrained(path)
    return path


def run(cmd: list[str]) -> None:
    """Run a command as a user would, showing it; stop on failure."""
    print("$", " ".join(shlex.quote(c) for c in cmd), flush=True)
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"command failed:\n{proc.stderr}")
    if proc.stdout.strip():
        print(proc.stdout.rstrip(), flush=True)


def predict(args: list[str]) -> None:
    """``python -m producers.predict ARGS``, run in this process (torch is imported once)."""
    from producers.predict import app

    print("$ python -m producers.predict", " ".join(shlex.quote(a) for a in args), flush=True)
    code = app(args, standalone_mode=False, prog_name="python -m producers.predict")
    if code:
        sys.exit(f"producers.predict failed (exit {code})")


KDAUDIT = [sys.executable, "-c", "from kdbias_audit.cli import main; main()"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    out = args.out or Path(
        os.environ.get("KDAUDIT_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="kdaudit-")
    )
    out.mkdir(parents=True, exist_ok=True)
    print(f"writing to {out}")
    seeds = (0,)  # one checkpoint per side, as third-party models come

    # --- images: timm state dicts on a class-per-folder directory with a group sidecar ---
    images = make_images(out / "data")
    audit = out / "images_audit"
    for seed in seeds:
        teacher = save_timm("test_resnet", out / f"teacher_seed{seed}.safetensors", seed)
        student = save_timm(
            "test_efficientnet", out / f"student_seed{seed}.safetensors", 100 + seed
        )
        common = [
            "--data",
            str(images),
            "--groups",
            str(out / "data" / "groups.csv"),
            "--image-size",
            "64",
            "--seed",
            str(seed),
            "--quiet",
            "--overwrite",
        ]
        predict(
            [
                "--model",
                "timm:test_resnet",
                "--weights",
                str(teacher),
                *common,
                "--role",
                "teacher",
                "--out",
                str(audit / "teacher" / f"seed{seed}.parquet"),
            ]
        )
        predict(
            [
                "--model",
                "timm:test_efficientnet",
                "--weights",
                str(student),
                *common,
                "--role",
                "distilled",
                "--temperature",
                "4",
                "--teacher-model",
                "timm:test_resnet",
                "--out",
                str(audit / "student" / f"seed{seed}.parquet"),
            ]
        )

    # --- text: Hugging Face directories on a CSV table with group columns ---
    table = make_texts(out / "data" / "test.csv")
    taudit = out / "text_audit"
    for seed in seeds:
        bert = save_text_model("bert", out / f"bert_seed{seed}", seed)
        distil = save_text_model("distilbert", out / f"distilbert_seed{seed}", 100 + seed)
        common = [
            "--data",
            str(table),
            "--text-column",
            "text",
            "--label-column",
            "label",
            "--id-column",
            "id",
            "--group-column",
            "dialect",
            "--group-column",
            "gender",
            "--seed",
            str(seed),
            "--quiet",
            "--overwrite",
        ]
        predict(
            [
                "--model",
                f"hf:{bert}",
                *common,
                "--role",
                "teacher",
                "--out",
                str(taudit / "teacher" / f"seed{seed}.parquet"),
            ]
        )
        predict(
            [
                "--model",
                f"hf:{distil}",
                *common,
                "--role",
                "distilled",
                "--temperature",
                "4",
                "--out",
                str(taudit / "student" / f"seed{seed}.parquet"),
            ]
        )

    # --- the audit: the same kdaudit commands as for any prediction files ---
    method = ["--method", "samples"]  # the single-checkpoint comparison
    for a in (audit, taudit):
        run([*KDAUDIT, "validate", str(a / "teacher"), str(a / "student")])
        run(
            [
                *KDAUDIT,
                "compare",
                str(a / "teacher"),
                str(a / "student"),
                *method,
                "--format",
                "json",
                "-o",
                str(a / "comparison.json"),
            ]
        )
        run(
            [
                *KDAUDIT,
                "compare",
                str(a / "teacher"),
                str(a / "student"),
                *method,
                "--format",
                "markdown",
            ]
        )
    print(f"done: {audit / 'comparison.json'} and {taudit / 'comparison.json'}")


if __name__ == "__main__":
    main()
