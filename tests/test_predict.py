"""``python -m producers.predict``: every model family on tiny local models, label spaces,
group joins, determinism and one-line errors (CPU, offline)."""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
timm = pytest.importorskip("timm")
transformers = pytest.importorskip("transformers")

import pyarrow as pa  # noqa: E402
import pyarrow.csv  # noqa: E402,F401
import pyarrow.parquet as pq  # noqa: E402
from PIL import Image  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from kdbias_audit import KDAuditError, read_predictions  # noqa: E402
from producers.predict import app, map_classes, predict  # noqa: E402

CLASSES = ("cat", "dog", "fox")
WORDS = ["good", "bad", "great", "awful", "movie", "film", "the", "a", "was", "is", "not"]
runner = CliRunner()


# --- fixtures: tiny data and models, made here -----------------------------------------------


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """A 3-class image folder (4 images per class, odd sizes) plus a group sidecar."""
    root = tmp_path_factory.mktemp("data") / "imgs"
    rng = np.random.default_rng(0)
    rows = []
    for c in CLASSES:
        (root / c).mkdir(parents=True)
        for i in range(4):
            arr = rng.integers(0, 256, (18 + i, 22, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / c / f"{i}.png")
            rows.append({"path": f"{c}/{i}.png", "light": ["yes", "no"][i % 2], "site": i})
    sidecar = root.parent / "groups.csv"
    pa.csv.write_csv(pa.Table.from_pylist(rows[::-1]), sidecar)  # any row order
    return root, sidecar


@pytest.fixture(scope="module")
def timm_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("timm")
    torch.manual_seed(0)
    m = timm.create_model("test_resnet", pretrained=False, num_classes=3).eval()
    save_file(m.state_dict(), d / "w.safetensors")
    return m, d / "w.safetensors"


def _read(path):
    """The file's columns as Python/NumPy objects, after the package's reader validated it."""
    checked = read_predictions(path)
    t = pq.read_table(path)
    n = t.num_rows
    logits = np.asarray(t.column("logits").combine_chunks().flatten()).reshape(n, -1)
    groups = {c[6:]: t.column(c).to_pylist() for c in t.column_names if c.startswith("group.")}
    return SimpleNamespace(
        sample_id=t.column("sample_id").to_pylist(),
        label=t.column("label").to_pylist(),
        logits=logits,
        preds=logits.argmax(1),
        groups=groups,
        metadata=checked.metadata,
        num_classes=checked.num_classes,
    )


def _manual_image_logits(model, transform, root, rel_paths):
    with torch.inference_mode():
        x = torch.stack([transform(Image.open(root / p).convert("RGB")) for p in rel_paths])
        return model(x).numpy()


def _write_bert(path, *, distil=False, id2label=None, seed=0):
    vocab = path / "vocab.txt"
    path.mkdir(parents=True, exist_ok=True)
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    tok = transformers.BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True)
    kw = {"id2label": id2label, "label2id": {v: k for k, v in id2label.items()}} if id2label else {}
    if distil:
        cfg = transformers.DistilBertConfig(
            vocab_size=len(WORDS) + 5,
            dim=16,
            n_layers=1,
            n_heads=2,
            hidden_dim=32,
            max_position_embeddings=64,
            num_labels=2,
            **kw,
        )
        cls = transformers.DistilBertForSequenceClassification
    else:
        cfg = transformers.BertConfig(
            vocab_size=len(WORDS) + 5,
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=32,
            max_position_embeddings=64,
            num_labels=2,
            **kw,
        )
        cls = transformers.BertForSequenceClassification
    torch.manual_seed(seed)
    model = cls(cfg).eval()
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return model, tok


@pytest.fixture(scope="module")
def text_table(tmp_path_factory):
    d = tmp_path_factory.mktemp("text")
    rng = np.random.default_rng(1)
    texts = [" ".join(rng.choice(WORDS, size=rng.integers(2, 9))) for _ in range(20)]
    table = pa.table(
        {
            "text": texts,
            "label": ["pos" if i % 3 else "neg" for i in range(20)],
            "race": rng.choice(["a", "b", "c"], 20).tolist(),
            "gender": rng.integers(0, 2, 20).astype(bool).tolist(),
        }
    )
    csv = d / "test.csv"
    pa.csv.write_csv(table, csv)
    return csv, table


# --- each model family -----------------------------------------------------------------------


def test_timm_state_dict_folder_with_groups(images, timm_model, tmp_path):
    root, sidecar = images
    model, wfile = timm_model
    out = predict(
        "timm:test_resnet",
        str(root),
        tmp_path / "t" / "seed0.parquet",
        weights=wfile,
        groups_file=sidecar,
        role="teacher",
        image_size=32,
        workers=0,
        batch_size=5,
    )
    run = _read(out)
    rel = [f"{c}/{i}.png" for c in CLASSES for i in range(4)]
    assert list(run.sample_id) == rel
    assert list(run.label) == [0] * 4 + [1] * 4 + [2] * 4
    # groups joined by path, whatever the sidecar's row order
    assert list(run.groups["light"]) == ["yes", "no"] * 6
    assert list(run.groups["site"]) == [0, 1, 2, 3] * 3
    # the logits are the model's on timm's own preprocessing, in the dataset's class order
    cfg = timm.data.resolve_data_config({"input_size": (3, 32, 32)}, model=model)
    expect = _manual_image_logits(model, timm.data.create_transform(**cfg), root, rel)
    np.testing.assert_allclose(run.logits, expect, rtol=1e-4, atol=1e-5)
    meta = run.metadata
    assert meta["role"] == "teacher" and meta["class_names"] == list(CLASSES)
    assert meta["label_mapping"] == "sorted-order"  # a bare state dict carries no names
    assert meta["weights_sha256"][str(wfile)] == hashlib.sha256(wfile.read_bytes()).hexdigest()
    assert meta["preprocessing"]["input_size"] == [3, 32, 32]
    assert meta["versions"]["torch"] == torch.__version__.split("+")[0]
    assert meta["dataset_size"] == 12 and meta["seed"] == 0


def test_timm_model_directory_maps_class_names(images, timm_model, tmp_path):
    root, _ = images
    model, _ = timm_model
    d = tmp_path / "timm_dir"
    # timm's own Hugging Face export; the model's outputs are in another order than the
    # folders (fox, cat, dog) and its preprocessing is its own
    pcfg = {"input_size": (3, 24, 24), "mean": (0.4,) * 3, "std": (0.2, 0.3, 0.2)}
    pcfg.update(crop_pct=1.0, interpolation="bicubic")
    timm.models.save_for_hf(
        model,
        d,
        model_config={"label_names": ["fox", "cat", "dog"], "pretrained_cfg": pcfg},
        safe_serialization=True,
    )
    out = predict("timm:", str(root), tmp_path / "o.parquet", weights=d, workers=0)
    run = _read(out)
    assert run.metadata["model"] == "timm:test_resnet"  # the architecture from config.json
    assert run.metadata["label_mapping"] == "by-name"
    assert run.metadata["model_output_index"] == [1, 2, 0]
    assert run.metadata["preprocessing"]["mean"] == [0.4, 0.4, 0.4]  # the dir's own config
    assert set(run.metadata["weights_sha256"]) == {str(d / "model.safetensors")}
    transform = timm.data.create_transform(**pcfg)
    full = _manual_image_logits(model, transform, root, list(run.sample_id))
    np.testing.assert_allclose(run.logits, full[:, [1, 2, 0]], rtol=1e-4, atol=1e-5)

    # a truncated directory: one line naming the folder, nothing written
    (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:300])
    line = _cli_error(
        ["--model", "timm:test_resnet", "--weights", str(d), "--data", str(root)],
        tmp_path / "x.parquet",
    )
    assert str(d) in line and "cannot load the timm model" in line


def test_torchvision_state_dict(images, tmp_path):
    import torchvision

    root, _ = images
    torch.manual_seed(0)
    model = torchvision.models.get_model("shufflenet_v2_x0_5", weights=None, num_classes=3).eval()
    torch.save(model.state_dict(), tmp_path / "s.pth")
    out = predict(
        "torchvision:shufflenet_v2_x0_5",
        str(root),
        tmp_path / "o.parquet",
        weights=tmp_path / "s.pth",
        image_size=32,
        workers=0,
    )
    run = _read(out)
    enum = torchvision.models.get_model_weights("shufflenet_v2_x0_5")
    transform = enum.DEFAULT.transforms(crop_size=32, resize_size=37)
    expect = _manual_image_logits(model, transform, root, list(run.sample_id))
    np.testing.assert_allclose(run.logits, expect, rtol=1e-4, atol=1e-5)
    assert (
        "ShuffleNet_V2_X0_5_Weights.DEFAULT.transforms()"
        in run.metadata["preprocessing"]["library"]
    )


def test_hf_text_by_name_with_group_columns(text_table, tmp_path):
    csv, table = text_table
    model, tok = _write_bert(tmp_path / "bert", id2label={0: "pos", 1: "neg"})  # not sorted
    out = predict(
        f"hf:{tmp_path / 'bert'}",
        str(csv),
        tmp_path / "o.parquet",
        text_column="text",
        group_columns=["race", "gender"],
        role="teacher",
        batch_size=7,
    )
    run = _read(out)
    assert (
        run.metadata["class_names"] == ["neg", "pos"] and run.metadata["label_mapping"] == "by-name"
    )
    assert list(run.sample_id) == list(range(20))  # row numbers
    assert list(run.groups["race"]) == table.column("race").to_pylist()
    assert list(run.groups["gender"]) == table.column("gender").to_pylist()
    labels = table.column("label").to_pylist()
    assert list(run.label) == [int(x == "pos") for x in labels]
    with torch.inference_mode():
        enc = tok(table.column("text").to_pylist(), padding=True, return_tensors="pt")
        full = model(**enc).logits.numpy()
    np.testing.assert_allclose(run.logits, full[:, [1, 0]], rtol=1e-4, atol=1e-5)
    assert set(run.metadata["weights_sha256"]) == {"model.safetensors"}


def test_hf_distilbert_without_names_uses_sorted_order(tmp_path, capsys):
    _write_bert(tmp_path / "db", distil=True)  # id2label LABEL_0, LABEL_1: no names
    data = tmp_path / "t.jsonl"
    rows = [
        {"id": f"p{i}", "text": "the film was good" if i % 2 else "bad", "label": i % 2}
        for i in range(6)
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = predict(
        f"hf:{tmp_path / 'db'}",
        str(data),
        tmp_path / "o.parquet",
        text_column="text",
        id_column="id",
        progress=True,
        logits_dtype="float16",
    )
    assert "texts/s" in capsys.readouterr().err  # the rich progress bar's speed column
    run = _read(out)
    assert run.metadata["label_mapping"] == "sorted-order" and run.metadata["class_names"] == [
        "0",
        "1",
    ]
    assert list(run.sample_id) == [f"p{i}" for i in range(6)]
    assert run.metadata["model"] == "hf:distilbert"
    assert pq.read_schema(out).field("logits").type.value_type == pa.float16()


def test_hf_image_classifier_from_table(images, tmp_path):
    root, _ = images
    cfg = transformers.ViTConfig(
        image_size=16,
        patch_size=8,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=3,
        id2label=dict(enumerate(CLASSES)),
        label2id={c: i for i, c in enumerate(CLASSES)},
    )
    torch.manual_seed(0)
    model = transformers.ViTForImageClassification(cfg).eval()
    proc = transformers.ViTImageProcessor(size={"height": 16, "width": 16})
    model.save_pretrained(tmp_path / "vit")
    proc.save_pretrained(tmp_path / "vit")
    rel = [f"imgs/{c}/{i}.png" for c in CLASSES for i in range(4)]
    table = tmp_path / "t.parquet"
    pq.write_table(pa.table({"file": rel, "y": [p.split("/")[1] for p in rel]}), table)
    (tmp_path / "imgs").symlink_to(root)
    out = predict(
        f"hf:{tmp_path / 'vit'}",
        str(table),
        tmp_path / "o.parquet",
        path_column="file",
        label_column="y",
        workers=0,
    )
    run = _read(out)
    with torch.inference_mode():
        x = proc(images=[Image.open(tmp_path / p).convert("RGB") for p in rel], return_tensors="pt")
        expect = model(**x).logits.numpy()
    np.testing.assert_allclose(run.logits, expect, rtol=1e-4, atol=1e-5)
    assert run.metadata["label_mapping"] == "by-name"


def test_producers_checkpoint_on_a_setting(tmp_path):
    from producers.gpu import DeviceData
    from producers.models import build_model
    from producers.settings import DataOptions, get_setting

    torch.manual_seed(0)
    model = build_model("resnet20", num_classes=10).eval()
    torch.save(model.state_dict(), tmp_path / "teacher_seed0.pt")
    out = predict(
        "producers:resnet20",
        "setting:digits",
        tmp_path / "o.parquet",
        weights=tmp_path / "teacher_seed0.pt",
        test_size=40,
        train_size=300,
        workers=0,
    )
    run = _read(out)
    data = get_setting("digits").load(DataOptions(test_size=40, train_size=300))
    mean, std = data.channel_stats()
    dd = DeviceData(
        data.test.images, data.test.labels, mean=mean, std=std, device=torch.device("cpu")
    )
    with torch.inference_mode():
        expect = torch.cat([model(x) for x, _ in dd.eval_batches(16)]).numpy()
    np.testing.assert_allclose(run.logits, expect, rtol=1e-4, atol=1e-4)
    assert list(run.sample_id) == list(data.test.sample_id)
    assert run.metadata["label_mapping"] == "setting" and run.metadata["dataset"] == "digits"


# --- label spaces ----------------------------------------------------------------------------


def test_class_map_by_file_json_and_csv(images, timm_model, tmp_path):
    root, _ = images
    _, wfile = timm_model
    (tmp_path / "map.json").write_text(json.dumps({"cat": 2, "dog": 0, "fox": 1}))
    # a CSV naming the model's classes, which come from --model-classes (one per line)
    (tmp_path / "map.csv").write_text("dataset,model\ncat,z\ndog,x\nfox,y\n")
    (tmp_path / "model_classes.txt").write_text("x\ny\nz\n")

    def run(name, **kw):
        out = tmp_path / f"{name}.parquet"
        return _read(
            predict(
                "timm:test_resnet", str(root), out, weights=wfile, image_size=32, workers=0, **kw
            )
        )

    a = run("plain")
    b = run("json", class_map=tmp_path / "map.json")
    c = run(
        "csv", class_map=tmp_path / "map.csv", model_classes=str(tmp_path / "model_classes.txt")
    )
    assert a.metadata["label_mapping"] == "sorted-order"
    assert b.metadata["label_mapping"] == c.metadata["label_mapping"] == "class-map"
    np.testing.assert_array_equal(b.logits, a.logits[:, [2, 0, 1]])
    np.testing.assert_array_equal(c.logits, a.logits[:, [2, 0, 1]])
    assert c.metadata["model_output_index"] == [2, 0, 1]


def test_imagenet_model_restricted_to_ten_dataset_classes(tmp_path):
    info = timm.data.ImageNetInfo()
    wnids = [info.label_names()[i] for i in (0, 1, 7, 100, 207, 281, 404, 500, 817, 999)]
    root = tmp_path / "imagenette"
    rng = np.random.default_rng(2)
    for w in wnids:
        (root / w).mkdir(parents=True)
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(root / w / "a.jpg")
    torch.manual_seed(0)
    model = timm.create_model("test_resnet", pretrained=False, num_classes=1000).eval()
    torch.save({"state_dict": model.state_dict()}, tmp_path / "in1k.pth")
    kw = dict(weights=tmp_path / "in1k.pth", image_size=32, workers=0, model_classes="imagenet")
    with pytest.raises(KDAuditError, match="has 1000 classes.*--restrict-to-dataset-classes"):
        predict("timm:test_resnet", str(root), tmp_path / "x.parquet", **kw)
    assert not (tmp_path / "x.parquet").exists()
    out = predict(
        "timm:test_resnet",
        str(root),
        tmp_path / "o.parquet",
        restrict_to_dataset_classes=True,
        **kw,
    )
    run = _read(out)
    assert run.num_classes == 10 and run.metadata["restricted_to_dataset_classes"] is True
    assert run.metadata["model_num_outputs"] == 1000
    cfg = timm.data.resolve_data_config({"input_size": (3, 32, 32)}, model=model)
    full = _manual_image_logits(model, timm.data.create_transform(**cfg), root, list(run.sample_id))
    idx = [0, 1, 7, 100, 207, 281, 404, 500, 817, 999]
    np.testing.assert_allclose(run.logits, full[:, idx], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(run.preds, full[:, idx].argmax(1))  # argmax over the 10 only


def test_map_classes_rules():
    m = map_classes(["a", "b"], [("B",), ("a",)], 2)
    assert list(m.columns) == [1, 0] and m.method == "by-name"  # case-insensitive fallback
    with pytest.raises(KDAuditError, match="no class names"):
        map_classes(["a", "b", "c"], None, 2)
    with pytest.raises(KDAuditError, match="does not know: 'c'"):
        map_classes(["a", "c"], [("a",), ("b",)], 2)
    with pytest.raises(KDAuditError, match="same model output"):
        map_classes(["a", "b"], None, 2, class_map={"a": 0, "b": 0})
    with pytest.raises(KDAuditError, match="no entry for dataset class 'b'"):
        map_classes(["a", "b"], None, 2, class_map={"a": 0})
    assert map_classes(["x"], [("x",), ("y",)], 2, restrict=True).restricted


def test_same_model_twice_gives_identical_files(images, timm_model, tmp_path):
    root, sidecar = images
    _, wfile = timm_model
    paths = [
        predict(
            "timm:test_resnet",
            str(root),
            tmp_path / f"{k}.parquet",
            weights=wfile,
            groups_file=sidecar,
            image_size=32,
            workers=k,
        )
        for k in (0, 2)  # in-process decoding and two DataLoader workers
    ]
    assert paths[0].read_bytes() == paths[1].read_bytes()


# --- bad input: one line naming the file, exit 1, nothing written ----------------------------


def _cli_error(args, out):
    res = runner.invoke(app, [*args, "--out", str(out)])
    assert res.exit_code == 1, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.output
    assert not out.exists()
    return lines[0]


def test_truncated_weights(images, timm_model, tmp_path):
    root, _ = images
    _, wfile = timm_model
    bad = tmp_path / "cut.safetensors"
    bad.write_bytes(wfile.read_bytes()[:500])
    line = _cli_error(
        ["--model", "timm:test_resnet", "--weights", str(bad), "--data", str(root)],
        tmp_path / "o.parquet",
    )
    assert str(bad) in line and "cannot read weights" in line
    line = _cli_error(
        [
            "--model",
            "timm:test_resnet",
            "--weights",
            str(tmp_path / "nope.pth"),
            "--data",
            str(root),
        ],
        tmp_path / "o.parquet",
    )
    assert "nope.pth" in line and "not found" in line


def test_hf_directory_without_tokenizer(text_table, tmp_path):
    csv, _ = text_table
    _write_bert(tmp_path / "bert")
    for f in ("vocab.txt", "tokenizer.json"):
        (tmp_path / "bert" / f).unlink(missing_ok=True)
    line = _cli_error(
        ["--model", f"hf:{tmp_path / 'bert'}", "--data", str(csv), "--text-column", "text"],
        tmp_path / "o.parquet",
    )
    assert str(tmp_path / "bert") in line and "no tokenizer" in line


def test_label_column_with_unknown_names(text_table, tmp_path):
    csv, table = text_table
    _write_bert(tmp_path / "bert", id2label={0: "neg", 1: "pos"})
    bad = tmp_path / "bad.csv"
    labels = table.column("label").to_pylist()
    labels[3] = "neutral"
    pa.csv.write_csv(table.set_column(1, "label", pa.array(labels)), bad)
    line = _cli_error(
        ["--model", f"hf:{tmp_path / 'bert'}", "--data", str(bad), "--text-column", "text"],
        tmp_path / "o.parquet",
    )
    assert str(bad) in line and "'neutral'" in line and "label" in line


@pytest.mark.parametrize("workers", ["0", "2"])
def test_image_that_cannot_be_decoded(images, timm_model, tmp_path, workers):
    import shutil

    root, _ = images
    _, wfile = timm_model
    copy = tmp_path / "imgs"
    shutil.copytree(root, copy)
    (copy / "dog" / "2.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    line = _cli_error(
        [
            "--model",
            "timm:test_resnet",
            "--weights",
            str(wfile),
            "--data",
            str(copy),
            "--image-size",
            "32",
            "--workers",
            workers,
            "--batch-size",
            "4",
        ],
        tmp_path / "o.parquet",
    )
    assert str(copy / "dog" / "2.png") in line and "cannot decode" in line


def test_existing_output_is_not_replaced(images, timm_model, tmp_path):
    root, _ = images
    _, wfile = timm_model
    out = tmp_path / "o.parquet"
    out.write_bytes(b"mine")
    res = runner.invoke(
        app,
        [
            "--model",
            "timm:test_resnet",
            "--weights",
            str(wfile),
            "--data",
            str(root),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 1 and "already exists" in res.stderr
    assert out.read_bytes() == b"mine"


def test_bad_data_specs(images, timm_model, text_table, tmp_path):
    root, sidecar = images
    _, wfile = timm_model
    csv, _ = text_table
    model = ["--model", "timm:test_resnet", "--weights", str(wfile)]
    short = tmp_path / "groups.csv"
    short.write_text("".join(sidecar.read_text().splitlines(keepends=True)[:-1]))  # one row less
    line = _cli_error([*model, "--data", str(root), "--groups", str(short)], tmp_path / "o.parquet")
    assert str(short) in line and "no row for 1 of 12 images" in line
    hf = ["--model", "hf:nowhere"]
    line = _cli_error([*hf, "--data", str(csv), "--text-column", "body"], tmp_path / "o.parquet")
    assert str(csv) in line and "no text column 'body'" in line
    line = _cli_error([*hf, "--data", str(csv), "--text-column", "text"], tmp_path / "o.parquet")
    assert "nowhere" in line and "not found" in line
    line = _cli_error([*model, "--data", str(tmp_path / "none")], tmp_path / "o.parquet")
    assert str(tmp_path / "none") in line and "not found" in line


def test_hatexplain_setting_with_a_text_model(tmp_path):
    root = tmp_path / "hatexplain"
    root.mkdir()

    def post(votes, targets, tokens):
        return {
            "post_tokens": tokens,
            "annotators": [{"label": v, "target": t} for v, t in zip(votes, targets, strict=True)],
        }

    posts = {
        "p1": post(["hatespeech"] * 2 + ["normal"], [["African"], ["African"], []], ["the", "bad"]),
        "p2": post(["normal"] * 3, [["Women"], ["Women"], []], ["a", "good", "film"]),
        "p3": post(["offensive"] * 3, [[], [], []], ["awful"]),
    }
    (root / "dataset.json").write_text(json.dumps(posts))
    (root / "post_id_divisions.json").write_text(
        json.dumps({"train": ["p1"], "val": [], "test": ["p3", "p1", "p2"]})
    )
    model, tok = _write_bert(tmp_path / "bert", id2label={0: "normal", 1: "toxic"})
    out = predict(
        f"hf:{tmp_path / 'bert'}", "setting:hatexplain", tmp_path / "o.parquet", data_root=root
    )
    run = _read(out)
    assert run.sample_id == ["p3", "p1", "p2"] and run.label == [1, 1, 0]
    assert run.groups["race"] == ["no race", "race", "no race"]
    assert run.groups["gender"] == ["no gender", "no gender", "gender"]
    assert (
        run.metadata["class_names"] == ["normal", "toxic"] and run.metadata["positive_class"] == 1
    )
    with torch.inference_mode():
        enc = tok(["awful", "the bad", "a good film"], padding=True, return_tensors="pt")
        np.testing.assert_allclose(run.logits, model(**enc).logits.numpy(), rtol=1e-4, atol=1e-5)
