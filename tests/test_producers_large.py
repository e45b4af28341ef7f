"""Producers for the large settings: CelebA, Tiny ImageNet, ImageNet, HateXplain, DDP export.

Every dataset is a tiny fake copy of its on-disk format written inside the test; nothing is
downloaded. Torch-based tests skip when the producers extra is not installed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

CELEBA_ATTRS = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose "
    "Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee "
    "Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard "
    "Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair "
    "Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()


def _jpeg(path: Path, size: tuple[int, int], value: int, mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    color = value if mode == "L" else (value, 255 - value, (3 * value) % 256)
    Image.new(mode, size, color).save(path, format="JPEG")


# --------------------------------------------------------------------------------------------
# CelebA


def make_celeba(root: Path, n: int = 40, seed: int = 0, images: bool = True) -> dict:
    """A fake CelebA copy; returns the ground truth per file name."""
    rng = np.random.default_rng(seed)
    values = np.where(rng.random((n, 40)) < 0.5, 1, -1)
    smiling = CELEBA_ATTRS.index("Smiling")
    values[:, smiling] = np.where(np.arange(n) % 4 == 0, 1, -1)  # 1 in 4 smiling: imbalanced
    names = [f"{i + 1:06d}.jpg" for i in range(n)]
    part = np.array([0] * (n - 12) + [1] * 6 + [2] * 6)
    root.mkdir(parents=True, exist_ok=True)
    lines = [str(n), " ".join(CELEBA_ATTRS)]
    lines += [
        name + " " + " ".join(f"{v:2d}" for v in row)
        for name, row in zip(names, values, strict=False)
    ]
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    (root / "list_eval_partition.txt").write_text(
        "".join(f"{f} {p}\n" for f, p in zip(names, part, strict=False))
    )
    (root / "img_align_celeba").mkdir(exist_ok=True)
    if images:
        for i, f in enumerate(names):
            _jpeg(root / "img_align_celeba" / f, (18, 22), (7 * i) % 256)
    return {"names": names, "values": values, "part": part}


def test_celeba_labels_groups_splits(tmp_path):
    from producers.data.celeba import load_celeba

    truth = make_celeba(tmp_path, images=False)
    col = {a: i for i, a in enumerate(CELEBA_ATTRS)}
    for split, code in (("valid", 1), ("test", 2)):
        s = load_celeba(tmp_path, split=split, label="Eyeglasses")
        rows = np.flatnonzero(truth["part"] == code)
        assert list(s.sample_ids) == [truth["names"][i] for i in rows]
        np.testing.assert_array_equal(
            s.labels, (truth["values"][rows, col["Eyeglasses"]] == 1).astype(int)
        )
        np.testing.assert_array_equal(
            s.groups["young"],
            np.where(truth["values"][rows, col["Young"]] == 1, "Young", "Not Young"),
        )
        np.testing.assert_array_equal(
            s.groups["male"], np.where(truth["values"][rows, col["Male"]] == 1, "Male", "Not Male")
        )
        assert s.class_names == ("No Eyeglasses", "Eyeglasses") and s.positive_class == 1


def test_celeba_undersampling_balances_train_and_is_seeded(tmp_path):
    from producers.data.celeba import load_celeba

    truth = make_celeba(tmp_path, images=False)
    train_rows = np.flatnonzero(truth["part"] == 0)
    y_all = (truth["values"][train_rows, CELEBA_ATTRS.index("Smiling")] == 1).astype(int)
    n_min = min(Counter(y_all).values())
    assert Counter(y_all)[1] == n_min < Counter(y_all)[0]  # the fake train split is imbalanced

    full = load_celeba(tmp_path, split="train", balance=False)
    assert len(full) == train_rows.size
    a = load_celeba(tmp_path, split="train", balance_seed=1)
    b = load_celeba(tmp_path, split="train", balance_seed=1)
    assert Counter(a.labels.tolist()) == {0: n_min, 1: n_min}
    assert list(a.sample_ids) == list(b.sample_ids)  # same seed, same subset
    smiling_files = {truth["names"][i] for i in train_rows[y_all == 1]}
    assert smiling_files <= set(a.sample_ids)  # every minority sample kept
    assert set(a.sample_ids) <= {truth["names"][i] for i in train_rows}
    others = {
        tuple(load_celeba(tmp_path, split="train", balance_seed=s).sample_ids) for s in range(8)
    }
    assert len(others) > 1  # the seed matters


def test_celeba_table_like_paper_table4(tmp_path):
    from producers.data.celeba import label_group_table, load_celeba

    make_celeba(tmp_path, images=False)
    s = load_celeba(tmp_path, split="train")
    table = label_group_table(s)
    for attr, levels in (("young", ("Young", "Not Young")), ("male", ("Male", "Not Male"))):
        for name, c in (("Smiling", 1), ("Not Smiling", 0)):
            for level in levels:  # brute-force count
                expected = sum(
                    1
                    for y, g in zip(s.labels, s.groups[attr], strict=False)
                    if y == c and g == level
                )
                assert table.counts.loc[name, (attr, level)] == expected
    assert list(table.counts.index) == ["Smiling", "Not Smiling"]
    np.testing.assert_allclose(table.label_share.to_numpy(), [0.5, 0.5])
    n_young = int(np.sum(s.groups["young"] == "Young"))
    assert table.group_share[("young", "Young")] == pytest.approx(n_young / len(s))
    frame = table.to_frame()
    assert list(frame.columns) == ["Young", "Not Young", "Male", "Not Male", "Distribution"]
    assert frame.loc["Smiling", "Distribution"] == "50.00%"
    assert frame.loc["Distribution", "Young"] == f"{100 * n_young / len(s):.2f}%"


def test_celeba_missing_and_malformed_files(tmp_path):
    from producers.data import DataNotFoundError
    from producers.data.celeba import load_celeba

    with pytest.raises(
        DataNotFoundError, match=r"list_attr_celeba\.txt.*put list_attr_celeba\.txt"
    ) as exc:
        load_celeba(tmp_path, split="test")
    assert "\n" not in str(exc.value) and str(tmp_path) in str(exc.value)
    make_celeba(tmp_path, images=False)
    (tmp_path / "list_eval_partition.txt").unlink()
    with pytest.raises(DataNotFoundError, match="list_eval_partition.txt"):
        load_celeba(tmp_path, split="test")
    make_celeba(tmp_path, images=False)
    text = (tmp_path / "list_attr_celeba.txt").read_text().splitlines()
    (tmp_path / "list_attr_celeba.txt").write_text("\n".join(["41"] + text[1:]) + "\n")
    with pytest.raises(DataNotFoundError, match="says 41 images but 40 rows"):
        load_celeba(tmp_path, split="test")


def test_celeba_images_decode_to_rgb_arrays(tmp_path):
    from producers.data.celeba import load_celeba

    make_celeba(tmp_path)
    s = load_celeba(tmp_path, split="test")
    mem = s.to_memory(16)
    assert mem.images.shape == (len(s), 16, 16, 3) and mem.images.dtype == np.uint8
    np.testing.assert_array_equal(mem.labels, s.labels)
    assert list(mem.sample_id) == list(s.sample_ids)
    img, label = s.dataset_view()[0]
    assert img.mode == "RGB" and img.size == (18, 22) and label == s.labels[0]


# --------------------------------------------------------------------------------------------
# Tiny ImageNet and ImageNet


def make_tinyimagenet(root: Path) -> dict:
    wnids = ["n02", "n01", "n03"]  # file order, not sorted, defines the class index
    (root / "wnids.txt").parent.mkdir(parents=True, exist_ok=True)
    (root / "wnids.txt").write_text("\n".join(wnids) + "\n")
    (root / "words.txt").write_text(
        "n00\tentity\nn01\tgoldfish, Carassius auratus\nn02\tcrane\nn03\tcrane, derrick\n"
    )
    for k, w in enumerate(wnids):
        for j in range(2):
            _jpeg(
                root / "train" / w / "images" / f"{w}_{j}.JPEG",
                (8, 8),
                40 * k + j,
                mode="L" if j else "RGB",
            )
        (root / "train" / w / f"{w}_boxes.txt").write_text("ignored\n")
    val = [
        ("val_0.JPEG", "n03"),
        ("val_1.JPEG", "n02"),
        ("val_2.JPEG", "n01"),
        ("val_3.JPEG", "n03"),
    ]
    (root / "val").mkdir()
    (root / "val" / "val_annotations.txt").write_text(
        "".join(f"{f}\t{w}\t0\t0\t7\t7\n" for f, w in val)
    )
    for i, (f, _) in enumerate(val):
        _jpeg(root / "val" / "images" / f, (8, 8), 60 * i, mode="L" if i == 1 else "RGB")
    return {"wnids": wnids, "val": val}


def test_tinyimagenet_classes_labels_and_splits(tmp_path):
    from producers.data.tinyimagenet import load_tinyimagenet

    truth = make_tinyimagenet(tmp_path)
    test = load_tinyimagenet(tmp_path, split="val")
    assert test.class_names == (
        "crane (n02)",
        "goldfish",
        "crane (n03)",
    )  # from words.txt, made unique
    assert list(test.sample_ids) == [f for f, _ in truth["val"]]
    np.testing.assert_array_equal(test.labels, [truth["wnids"].index(w) for _, w in truth["val"]])
    assert list(load_tinyimagenet(tmp_path, split="test").sample_ids) == list(test.sample_ids)
    train = load_tinyimagenet(tmp_path, split="train")
    assert len(train) == 6 and Counter(train.labels.tolist()) == {0: 2, 1: 2, 2: 2}
    assert all(
        p.startswith(truth["wnids"][y]) for p, y in zip(train.paths, train.labels, strict=False)
    )
    img, y = test.dataset_view()[1]  # a greyscale JPEG comes back as RGB
    assert img.mode == "RGB" and y == 0
    assert test.to_memory(8).images.shape == (4, 8, 8, 3)


def test_tinyimagenet_missing_files(tmp_path):
    from producers.data import DataNotFoundError
    from producers.data.tinyimagenet import load_tinyimagenet

    with pytest.raises(
        DataNotFoundError, match=r"missing file .*wnids\.txt; unpack tiny-imagenet-200\.zip"
    ):
        load_tinyimagenet(tmp_path, split="val")
    make_tinyimagenet(tmp_path)
    (tmp_path / "val" / "val_annotations.txt").unlink()
    with pytest.raises(DataNotFoundError, match=r"val_annotations\.txt"):
        load_tinyimagenet(tmp_path, split="val")


def make_imagenet(root: Path, n_val: tuple[int, ...] = (3, 2, 2), n_train: int = 4) -> None:
    for k, w in enumerate(["n01440764", "n01443537", "n01484850"]):
        for j in range(n_train):
            _jpeg(root / "train" / w / f"{w}_{j}.JPEG", (10, 12), 30 * k + j)
        for j in range(n_val[k]):
            _jpeg(
                root / "val" / w / f"ILSVRC2012_val_{k}{j:04d}.JPEG",
                (12, 10),
                30 * k + j,
                mode="L" if j == 0 else "RGB",
            )
    (root / "train" / "n01440764" / "notes.txt").write_text("not an image")


def test_imagenet_class_folders(tmp_path):
    from producers.data import DataNotFoundError
    from producers.data.imagenet import load_imagenet

    make_imagenet(tmp_path)
    (tmp_path / "LOC_synset_mapping.txt").write_text(
        "n01440764 tench, Tinca tinca\nn01443537 goldfish, Carassius auratus\n"
    )
    val = load_imagenet(tmp_path, split="val")
    assert val.class_names == ("tench", "goldfish", "n01484850")
    assert Counter(val.labels.tolist()) == {0: 3, 1: 2, 2: 2}
    assert val.sample_ids[0] == "n01440764/ILSVRC2012_val_00000.JPEG"
    assert all(
        s.split("/")[0] == ["n01440764", "n01443537", "n01484850"][y]
        for s, y in zip(val.sample_ids, val.labels, strict=False)
    )
    assert len(load_imagenet(tmp_path, split="train")) == 12  # notes.txt is not an image
    assert val.dataset_view()[0][0].mode == "RGB"
    (tmp_path / "val" / "n09999999").mkdir()
    with pytest.raises(DataNotFoundError, match="n09999999 is not among the train/ classes"):
        load_imagenet(tmp_path, split="val")
    with pytest.raises(DataNotFoundError, match=r"missing folder .*train"):
        load_imagenet(tmp_path / "nowhere", split="val")


# --------------------------------------------------------------------------------------------
# HateXplain


def _post(pid, labels, targets, tokens=("some", "words")):
    return {
        "post_id": pid,
        "post_tokens": list(tokens),
        "annotators": [
            {"label": lab, "annotator_id": i, "target": tg}
            for i, (lab, tg) in enumerate(zip(labels, targets, strict=False))
        ],
        "rationales": [],
    }


def make_hatexplain(root: Path) -> None:
    posts = {
        # majority hatespeech -> toxic; African named by two annotators -> race; Women by one only
        "p1_gab": _post(
            "p1_gab",
            ["hatespeech", "hatespeech", "normal"],
            [["African", "Women"], ["African"], ["None"]],
            ("you", "people"),
        ),
        # no majority (all three differ) -> dropped
        "p2_twitter": _post(
            "p2_twitter", ["hatespeech", "offensive", "normal"], [["Arab"], ["Arab"], ["None"]]
        ),
        # majority normal -> 0; Women twice -> gender; Asian counted once per annotator (listed twice)
        "p3_gab": _post(
            "p3_gab",
            ["normal", "offensive", "normal"],
            [["Women", "Asian", "Asian"], ["Women"], ["None"]],
            ("hello", "world", "!"),
        ),
        # majority offensive -> toxic; Hispanic and Men twice -> race and gender
        "p4_twitter": _post(
            "p4_twitter",
            ["offensive", "offensive", "hatespeech"],
            [["Hispanic", "Men"], ["Men", "Hispanic"], []],
        ),
    }
    root.mkdir(parents=True, exist_ok=True)
    (root / "dataset.json").write_text(json.dumps(posts))
    (root / "post_id_divisions.json").write_text(
        json.dumps(
            {
                "train": ["p4_twitter", "p1_gab", "p3_gab"],
                "val": ["p2_twitter"],
                "test": ["p1_gab", "p2_twitter", "p3_gab"],
            }
        )
    )


def test_hatexplain_majority_targets_groups(tmp_path):
    from producers.data.hatexplain import load_hatexplain

    make_hatexplain(tmp_path)
    test = load_hatexplain(tmp_path, split="test")
    assert list(test.sample_ids) == ["p1_gab", "p3_gab"] and test.n_dropped == 1
    assert test.texts == ("you people", "hello world !")
    np.testing.assert_array_equal(test.labels, [1, 0])
    assert list(test.groups["race"]) == ["race", "no race"]
    assert list(test.groups["gender"]) == ["no gender", "gender"]
    assert test.targets == (("African",), ("Women",))
    train = load_hatexplain(tmp_path, split="train")
    assert list(train.sample_ids) == ["p4_twitter", "p1_gab", "p3_gab"]
    np.testing.assert_array_equal(train.labels, [1, 1, 0])
    assert list(train.groups["race"]) == ["race", "race", "no race"]
    assert list(train.groups["gender"]) == ["gender", "no gender", "gender"]
    val = load_hatexplain(tmp_path, split="val")
    assert len(val) == 0 and val.n_dropped == 1
    from producers.data.hatexplain import communities_in

    assert communities_in(tmp_path) == Counter(
        {"African": 1, "Arab": 1, "Women": 1, "Hispanic": 1, "Men": 1}
    )


def test_hatexplain_errors(tmp_path):
    from producers.data import DataNotFoundError
    from producers.data.hatexplain import load_hatexplain

    with pytest.raises(DataNotFoundError, match=r"dataset\.json; put dataset\.json"):
        load_hatexplain(tmp_path, split="test")
    make_hatexplain(tmp_path)
    (tmp_path / "post_id_divisions.json").write_text(
        json.dumps({"train": [], "val": [], "test": ["p9"]})
    )
    with pytest.raises(DataNotFoundError, match="post p9 is not in dataset.json"):
        load_hatexplain(tmp_path, split="test")


# --------------------------------------------------------------------------------------------
# BERT -> DistilBERT


VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "you",
    "people",
    "hello",
    "world",
    "!",
    "some",
    "words",
]


def make_tiny_text_models(root: Path) -> tuple[Path, Path]:
    """Randomly initialised tiny BERT and DistilBERT saved with save_pretrained, with a WordPiece vocab."""
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    vocab = root / "vocab.txt"
    root.mkdir(parents=True, exist_ok=True)
    vocab.write_text("\n".join(VOCAB) + "\n")
    tok = transformers.BertTokenizer(vocab_file=str(vocab), do_lower_case=True)
    dirs = []
    for name, cfg in (
        (
            "tiny-bert",
            transformers.BertConfig(
                vocab_size=len(VOCAB),
                hidden_size=16,
                num_hidden_layers=1,
                num_attention_heads=2,
                intermediate_size=32,
                max_position_embeddings=32,
                num_labels=2,
            ),
        ),
        (
            "tiny-distilbert",
            transformers.DistilBertConfig(
                vocab_size=len(VOCAB),
                dim=16,
                n_layers=1,
                n_heads=2,
                hidden_dim=32,
                max_position_embeddings=32,
                num_labels=2,
            ),
        ),
    ):
        import torch

        torch.manual_seed(0)
        model = transformers.AutoModelForSequenceClassification.from_config(cfg)
        model.save_pretrained(root / name)
        tok.save_pretrained(root / name)
        dirs.append(root / name)
    return dirs[0], dirs[1]


def test_text_model_dir_errors(tmp_path):
    pytest.importorskip("torch")
    from producers.data import DataNotFoundError
    from producers.text import check_model_dir

    with pytest.raises(DataNotFoundError, match="does not exist; put config.json"):
        check_model_dir(tmp_path / "bert")
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text("{}")
    with pytest.raises(
        DataNotFoundError,
        match=r"lacks model\.safetensors or pytorch_model\.bin, vocab\.txt or tokenizer\.json",
    ):
        check_model_dir(tmp_path / "bert")


def test_bert_to_distilbert_kd_step_and_export(tmp_path):
    torch = pytest.importorskip("torch")
    from kdbias_audit.io import load_runset
    from producers.data.hatexplain import load_hatexplain
    from producers.kd import kd_loss
    from producers.runspec import RunSpec
    from producers.text import (
        encode,
        export_text_predictions,
        kd_step,
        load_classifier,
        load_tokenizer,
        predict_text,
        train_text,
    )

    bert_dir, distil_dir = make_tiny_text_models(tmp_path / "models")
    make_hatexplain(tmp_path / "hx")
    train = load_hatexplain(tmp_path / "hx", split="train")

    teacher = load_classifier(bert_dir).eval()
    student = load_classifier(distil_dir)
    tok = load_tokenizer(distil_dir)
    enc = encode(tok, train.texts)
    assert enc["input_ids"][0, 0] == VOCAB.index("[CLS]")
    y = torch.as_tensor(train.labels)
    # one KD step: the loss is Hinton's loss of the pre-step logits; only the student moves
    with torch.no_grad():
        s0 = student(**enc).logits
        t0 = teacher(**enc).logits
    expected = float(kd_loss(s0, t0, y, temperature=4.0, alpha=0.8))
    t_params = [p.detach().clone() for p in teacher.parameters()]
    s_params = [p.detach().clone() for p in student.parameters()]
    opt = torch.optim.SGD(student.parameters(), lr=0.1)
    student.eval()  # no dropout, so the step's loss equals the reference
    loss = kd_step(student, opt, enc, y, teacher=teacher, temperature=4.0, alpha=0.8)
    assert loss == pytest.approx(expected, rel=1e-5)
    assert all(torch.equal(a, b) for a, b in zip(t_params, teacher.parameters(), strict=False))
    assert any(not torch.equal(a, b) for a, b in zip(s_params, student.parameters(), strict=False))

    test = load_hatexplain(tmp_path / "hx", split="test")
    logits = predict_text(student, encode(tok, test.texts), batch_size=1)
    out = export_text_predictions(
        tmp_path / "runs" / "ds" / "seed3.parquet",
        test,
        logits,
        seed=3,
        metadata={"role": "distilled", "temperature": 4.0, "model": "tiny-distilbert"},
    )
    rs = load_runset(out.parent)
    assert rs.seeds == [3] and rs.temperature == 4.0 and rs.positive_class == 1
    assert sorted(rs.sample_id.tolist()) == ["p1_gab", "p3_gab"]
    assert set(rs.group_attributes) == {"race", "gender"}
    np.testing.assert_array_equal(
        rs.preds[0], np.argmax(logits, axis=1)[np.argsort(test.sample_ids)]
    )

    # the whole run, teacher then distilled student, through train_text
    common = dict(
        setting="hatexplain", seed=0, epochs=1, batch_size=2, data_root=str(tmp_path / "hx")
    )
    teacher_spec = RunSpec(
        role="teacher",
        arch=str(bert_dir),
        save_checkpoint=str(tmp_path / "ckpt/teacher0"),
        device="cpu",
        **common,
    )
    # one spec for every runner: the text run takes the setting's AdamW recipe, not SGD's 0.1
    assert (teacher_spec.optimizer, teacher_spec.lr, teacher_spec.weight_decay) == (
        "adamw",
        2e-5,
        0.01,
    )
    teacher_out = train_text(
        teacher_spec, tmp_path / "runs/teacher/seed0.parquet", log=lambda m: None
    )
    ds_out = train_text(
        RunSpec(
            role="distilled",
            arch=str(distil_dir),
            teacher_checkpoint=str(tmp_path / "ckpt/teacher0"),
            temperature=2.0,
            alpha=0.8,
            device="cpu",
            **common,
        ),
        tmp_path / "runs/ds_T2/seed0.parquet",
        log=lambda m: None,
    )
    t_rs, d_rs = load_runset(teacher_out), load_runset(ds_out)
    assert (
        t_rs.role == "teacher"
        and d_rs.role == "distilled"
        and d_rs.metadata["teacher_model"] == "bert"
    )
    assert d_rs.class_names == ["normal", "toxic"]


# --------------------------------------------------------------------------------------------
# DDP: gathering predictions, torchrun on CPU with gloo


def test_gather_predictions_removes_padding_duplicates_single_process():
    torch = pytest.importorskip("torch")
    from kdbias_audit.errors import KDAuditError
    from producers.ddp import DistContext, gather_predictions

    # what two ranks of a DistributedSampler see for N=5: [0, 2, 4] and [1, 3, 0] (0 repeated)
    idx = torch.tensor([0, 2, 4, 1, 3, 0])
    z = torch.arange(12, dtype=torch.float32).reshape(6, 2)
    out = gather_predictions(idx, z, DistContext(), num_samples=5)
    np.testing.assert_array_equal(out, z.numpy()[[0, 3, 1, 4, 2]])
    with pytest.raises(KDAuditError, match="cover 4 distinct samples, expected 5"):
        gather_predictions(torch.tensor([0, 1, 2, 3]), z[:4], DistContext(), num_samples=5)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_torchrun_two_processes_export_each_test_sample_once(tmp_path):
    torch = pytest.importorskip("torch")
    import pyarrow.parquet as pq

    from kdbias_audit.io import read_predictions
    from producers.data.imagenet import load_imagenet
    from producers.models import build_model, load_checkpoint
    from producers.settings_large import image_transform

    make_imagenet(tmp_path / "imagenet", n_val=(3, 2, 2))  # 7 test images: 2 ranks pad to 8
    out = tmp_path / "runs" / "teacher" / "seed0.parquet"
    ckpt = tmp_path / "ckpt.pt"
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "GLOO_SOCKET_IFNAME": "lo",
        "PYTHONPATH": str(REPO),
    }
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes=1",
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        f"--master_port={_free_port()}",
        "-m",
        "producers.ddp",
        "--setting",
        "imagenet",
        "--data-root",
        str(tmp_path / "imagenet"),
        "--arch",
        "resnet8",
        "--image-size",
        "16",
        "--batch-size",
        "4",
        "--epochs",
        "1",
        "--max-steps",
        "2",
        "--num-workers",
        "0",
        "--eval-batch-size",
        "3",
        "--device",
        "cpu",
        "--seed",
        "0",
        "--optimizer",
        "sgd",
        "--out",
        str(out),
        "--save-checkpoint",
        str(ckpt),
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert sorted(p.name for p in out.parent.iterdir()) == ["seed0.parquet"]

    run = read_predictions(out)
    val = load_imagenet(tmp_path / "imagenet", split="val")
    assert sorted(run.sample_id.tolist()) == sorted(val.sample_ids.tolist())  # each exactly once
    by_id = dict(zip(val.sample_ids.tolist(), val.labels.tolist(), strict=False))
    assert [by_id[s] for s in run.sample_id.tolist()] == run.label.tolist()
    assert run.metadata["world_size"] == 2 and run.metadata["dataset"] == "imagenet"

    # the gathered predictions belong to the right samples: same as one process predicting them
    model = load_checkpoint(build_model("resnet8", num_classes=3), ckpt).eval()
    tf = image_transform(16, train=False, style="imagenet")
    data = val.dataset_view(tf)
    with torch.no_grad():
        ref = model(torch.stack([data[i][0] for i in range(len(val))])).numpy()
    table = pq.read_table(out)
    file_ids = table.column("sample_id").to_pylist()
    file_logits = np.array(table.column("logits").to_pylist(), dtype=np.float64)
    order = [val.sample_ids.tolist().index(s) for s in file_ids]
    np.testing.assert_allclose(file_logits, ref[order], rtol=1e-4, atol=1e-4)
    assert not np.allclose(file_logits, file_logits[0])  # distinct rows: a mix-up would show


# --------------------------------------------------------------------------------------------
# the settings through the sweeps


def test_large_settings_registered_with_paper_batch_sizes():
    pytest.importorskip("torch")
    import producers.settings_large  # noqa: F401
    from producers.settings import get_setting

    expected = {
        "celeba": (256, "resnet50", "resnet18"),
        "celeba_eyeglasses": (256, "resnet50", "resnet18"),
        "tinyimagenet": (512, "resnet50", "resnet18"),
        "imagenet": (512, "resnet50", "resnet18"),
        "imagenet_vit": (512, "vit_base_patch16_224", "tiny_vit_5m_224"),
        "hatexplain": (32, "bert-base-uncased", "distilbert-base-uncased"),
    }
    for name, (bs, teacher, student) in expected.items():
        s = get_setting(name)
        assert (s.batch_size, s.teacher_arch, s.student_arch) == (bs, teacher, student)
    assert get_setting("celeba").group_attributes == ("young", "male")
    assert get_setting("hatexplain").group_attributes == ("race", "gender")
    timm = pytest.importorskip("timm")
    assert all(
        timm.is_model(n)
        for n in ("resnet50", "resnet18", "vit_base_patch16_224", "tiny_vit_5m_224")
    )


def test_celeba_runs_through_the_core_sweep(tmp_path):
    pytest.importorskip("torch")
    import producers.settings_large  # noqa: F401
    from kdbias_audit.io import load_runset
    from producers.sweep import plan_sweep, run_sweep

    make_celeba(tmp_path / "celeba")
    kwargs = dict(
        setting="celeba",
        out=tmp_path / "runs",
        seeds=[0],
        temperatures=[2.0],
        epochs=1,
        batch_size=8,
        teacher_arch="resnet8",
        student_arch="lenet5",
        image_size=16,
        data_root=str(tmp_path / "celeba"),
        device="cpu",
    )
    summary = run_sweep(plan_sweep(**kwargs), show_progress=False)
    assert not summary.failed and len(summary.trained) == 3
    ds = load_runset(tmp_path / "runs" / "ds_T2")
    assert ds.dataset == "celeba" and set(ds.group_attributes) == {"young", "male"}
    assert ds.class_names == ["Not Smiling", "Smiling"] and ds.n_samples == 6
    assert set(ds.group_levels("young")) <= {"Young", "Not Young"}
    again = run_sweep(plan_sweep(**kwargs), show_progress=False)
    assert len(again.skipped) == 3 and not again.trained

    from producers.settings import DataOptions, get_setting

    def train_ids(seed):
        opts = DataOptions(root=tmp_path / "celeba", image_size=8, data_seed=seed)
        return tuple(get_setting("celeba").load(opts).train.sample_id)

    assert train_ids(0) == train_ids(0)
    assert len({train_ids(s) for s in range(6)}) > 1  # --data-seed reaches the undersampling


def hatexplain_sweep_args(tmp_path, *, temperature: str) -> list[str]:
    """A fake HateXplain copy and tiny local BERT/DistilBERT dirs; the sweep's arguments for them."""
    make_tiny_text_models(tmp_path / "models")
    (tmp_path / "models" / "tiny-bert").rename(tmp_path / "models" / "bert-base-uncased")
    (tmp_path / "models" / "tiny-distilbert").rename(
        tmp_path / "models" / "distilbert-base-uncased"
    )
    make_hatexplain(tmp_path / "hx")
    return [
        "--setting",
        "hatexplain",
        "--out",
        str(tmp_path / "runs"),
        "--seeds",
        "0",
        "--temperatures",
        temperature,
        "--epochs",
        "1",
        "--batch-size",
        "2",
        "--data-root",
        str(tmp_path / "hx"),
        "--models-root",
        str(tmp_path / "models"),
        "--device",
        "cpu",
    ]


def test_hatexplain_runs_through_the_large_sweep(tmp_path):
    pytest.importorskip("torch")
    from kdbias_audit.io import load_runset
    from producers.sweep_large import app

    typer_testing = pytest.importorskip("typer.testing")
    args = hatexplain_sweep_args(tmp_path, temperature="3")
    runner = typer_testing.CliRunner()
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "3 trained, 0 skipped, 0 failed" in res.output
    ds = load_runset(tmp_path / "runs" / "ds_T3")
    assert (
        ds.model == "distilbert-base-uncased"
        and ds.metadata["teacher_model"] == "bert-base-uncased"
    )
    assert load_runset(tmp_path / "runs" / "teacher").model == "bert-base-uncased"
    assert (
        tmp_path / "runs" / ".producers" / "checkpoints" / "teacher_seed0" / "config.json"
    ).is_file()
    res = runner.invoke(app, args)
    assert res.exit_code == 0 and "0 trained, 3 skipped" in res.output
    res = runner.invoke(
        app, [*args[:-4], "--models-root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r2")]
    )
    assert res.exit_code == 1
    assert (
        f"error: teacher/seed0: model directory {tmp_path / 'nowhere' / 'bert-base-uncased'} does not exist"
        in res.output
    )
    assert "error: ds_T3/seed0: its teacher failed" in res.output


def test_imagenet_runs_through_the_large_sweep_single_process(tmp_path):
    pytest.importorskip("torch")
    from kdbias_audit.io import load_runsets
    from producers.sweep_large import app

    typer_testing = pytest.importorskip("typer.testing")
    make_imagenet(tmp_path / "imagenet")
    args = [
        "--setting",
        "imagenet",
        "--out",
        str(tmp_path / "runs"),
        "--seeds",
        "1",
        "--temperatures",
        "4",
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--teacher-arch",
        "resnet8",
        "--student-arch",
        "lenet5",
        "--image-size",
        "16",
        "--data-root",
        str(tmp_path / "imagenet"),
        "--num-workers",
        "0",
        "--device",
        "cpu",
    ]
    res = typer_testing.CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    teacher, nds, ds = load_runsets([tmp_path / "runs" / d for d in ("teacher", "nds", "ds_T4")])
    assert (teacher.role, nds.role, ds.role) == ("teacher", "baseline", "distilled")
    assert ds.temperature == 4.0 and ds.metadata["teacher_model"] == "resnet8" and ds.seeds == [1]
    assert teacher.n_samples == 7


def test_label_group_table_reproduces_paper_table4_counts():
    from producers.data._local import FileSplit
    from producers.data.celeba import label_group_table

    # the paper's Table 4 margins per label; any joint young x male layout with these margins
    paper = {1: (61793, 16287, 37780, 40300), 0: (59765, 18315, 27259, 50821)}
    labels, young, male = [], [], []
    for c, (y, ny, m, nm) in paper.items():
        n = y + ny
        assert m + nm == n
        labels += [c] * n
        young += ["Young"] * y + ["Not Young"] * ny
        male += ["Male"] * m + ["Not Male"] * nm
    n = len(labels)
    split = FileSplit(
        "celeba",
        "train",
        Path("."),
        ("x",) * n,
        np.array(labels),
        np.arange(n).astype(str),
        ("Not Smiling", "Smiling"),
        {"young": np.array(young), "male": np.array(male)},
        1,
    )
    frame = label_group_table(split).to_frame()
    assert frame.loc["Smiling", ["Young", "Not Young", "Male", "Not Male"]].tolist() == list(
        paper[1]
    )
    assert frame.loc["Not Smiling", ["Young", "Not Young", "Male", "Not Male"]].tolist() == list(
        paper[0]
    )
    assert (
        frame.loc["Smiling", "Distribution"] == frame.loc["Not Smiling", "Distribution"] == "50.00%"
    )
    # 121558 / 156160 = 77.84% (the paper prints 77.85% / 22.15%, rounded to sum to 100)
    assert frame.loc["Distribution", ["Young", "Not Young", "Male", "Not Male"]].tolist() == [
        f"{100 * 121558 / 156160:.2f}%",
        f"{100 * 34602 / 156160:.2f}%",
        "41.65%",
        "58.35%",
    ]


def test_celeba_partition_csv_header_is_read(tmp_path):
    from producers.data.celeba import read_partition

    (tmp_path / "list_eval_partition.txt").write_text(
        "image_id,partition\n000001.jpg,0\n000002.jpg,2\n"
    )
    assert read_partition(tmp_path) == {"000001.jpg": 0, "000002.jpg": 2}


def test_text_and_ddp_settings_run_through_the_core_sweep_command(tmp_path):
    """`python -m producers.sweep` hands text/DDP settings to their executor: one command for all."""
    pytest.importorskip("torch")
    from kdbias_audit.io import load_runset
    from producers.sweep import app

    typer_testing = pytest.importorskip("typer.testing")
    args = [*hatexplain_sweep_args(tmp_path, temperature="2"), "--quiet"]
    runner = typer_testing.CliRunner()
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "3 trained, 0 skipped, 0 failed" in res.output
    assert load_runset(tmp_path / "runs" / "ds_T2").metadata["teacher_model"] == "bert-base-uncased"
    res = runner.invoke(app, [*args, "--concurrent", "2"])
    assert res.exit_code == 1 and "--concurrent is for in-memory settings" in res.output
