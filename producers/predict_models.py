"""Model specs for ``python -m producers.predict``: timm, torchvision, Hugging Face, producers.

Every loader reads local files only and returns a `LoadedModel`: the module in eval mode, the
preprocessing the model's own library prescribes, the class names the model carries (or
``None``), and the weights files (hashed into the metadata).

=====================  ===========================================================  =========================================
spec                   weights                                                      preprocessing
=====================  ===========================================================  =========================================
``timm:ARCH``          ``--weights`` ``.safetensors``/``.pth`` state dict, or a      ``timm.data.resolve_data_config`` +
                       Hugging Face-style timm directory (``config.json`` +          ``create_transform`` (the model's
                       ``model.safetensors``/``pytorch_model.bin``)                  pretrained config: size, crop, mean/std)
``torchvision:ARCH``   ``--weights`` state dict                                      the architecture's ``DEFAULT`` weights
                                                                                     enum's ``transforms()`` (ImageNet eval
                                                                                     preset: resize 256, crop 224, mean/std)
``hf:DIR``             ``save_pretrained`` directory                                 ``AutoTokenizer`` (text) or
                                                                                     ``AutoImageProcessor`` (images)
``producers:ARCH``     ``.producers/checkpoints/*.pt`` (state dict)                  the setting's training-split channel
                                                                                     mean/std, as the trainer normalised
=====================  ===========================================================  =========================================
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"  # before huggingface_hub is imported: nothing is downloaded
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import torch  # noqa: E402

from kdbias_audit import KDAuditError  # noqa: E402

__all__ = ["FAMILIES", "LoadedModel", "load_model", "read_state_dict"]

FAMILIES = ("timm", "torchvision", "hf", "producers")
HF_WEIGHT_FILES = (
    "model.safetensors",
    "pytorch_model.bin",
    "model.safetensors.index.json",
    "pytorch_model.bin.index.json",
)
HF_TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "spiece.model",
    "sentencepiece.bpe.model",
    "tokenizer.model",
)


@dataclass
class LoadedModel:
    """A model ready to predict.

    ``forward(batch)`` returns logits (B, num_outputs); image batches are tensors made by
    ``transform`` (one PIL image -> one tensor), text batches are tokenizer outputs.
    """

    module: torch.nn.Module
    family: str
    spec: str
    input_kind: str  # "image" | "text"
    num_outputs: int
    class_names: tuple[str, ...] | None
    weights: list[Path]
    preprocessing: dict[str, Any]
    transform: Callable[[Any], torch.Tensor] | None = None
    tokenizer: Any = None
    max_length: int | None = None
    channels_last: bool = False
    hf: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def forward(self, batch: Any) -> torch.Tensor:
        if self.input_kind == "text":
            return self.module(**batch).logits
        out = self.module(pixel_values=batch) if self.hf else self.module(batch)
        return out.logits if self.hf else out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from ``.safetensors`` or a torch file (``weights_only=True``: no pickled code).

    A checkpoint dict with a ``state_dict``/``model`` entry is unwrapped; ``module.`` (DDP) and
    ``_orig_mod.`` (``torch.compile``) prefixes are stripped.
    """
    if not path.is_file():
        raise KDAuditError(f"{path}: weights file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
            for key in ("state_dict", "model", "model_state_dict"):
                if isinstance(state, dict) and isinstance(state.get(key), dict):
                    state = state[key]
    except Exception as exc:  # truncated or foreign files raise many different types
        raise KDAuditError(f"{path}: cannot read weights ({_first_line(exc)})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise KDAuditError(f"{path}: not a state dict (a mapping of names to tensors)")
    return {k.removeprefix("module.").removeprefix("_orig_mod."): v for k, v in state.items()}


def _fit(model: torch.nn.Module, state: dict[str, torch.Tensor], path: Path, spec: str) -> None:
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing (e.g. {missing[0]})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
    if wrong:
        k = wrong[0]
        problems.append(
            f"{len(wrong)} of another shape (e.g. {k}: {tuple(state[k].shape)} "
            f"vs {tuple(own[k].shape)})"
        )
    if problems:
        raise KDAuditError(f"{path}: weights do not fit {spec}: keys {'; '.join(problems)}")
    model.load_state_dict(state)


def _probe(make: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """Build the default model without allocating its weights (meta device) when possible."""
    try:
        with torch.device("meta"):
            return make()
    except Exception:  # some initialisers need real tensors
        return make()


def _outputs_from_state(state: dict[str, torch.Tensor], keys: Sequence[str]) -> int | None:
    for k in keys:
        w = state.get(f"{k}.weight")
        if w is not None and w.ndim >= 2:
            return int(w.shape[0])
    return None


# --- timm ------------------------------------------------------------------------------------


def _timm_dir(path: Path) -> tuple[dict[str, Any], Path]:
    cfg_file = path / "config.json"
    if not cfg_file.is_file():
        raise KDAuditError(f"{cfg_file}: not found (a timm model directory needs config.json)")
    try:
        cfg = json.loads(cfg_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise KDAuditError(f"{cfg_file}: not JSON ({_first_line(exc)})") from None
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (path / name).is_file():
            return cfg, path / name
    raise KDAuditError(f"{path}: no model.safetensors or pytorch_model.bin")


def _timm_from_dir(arch: str, path: Path) -> tuple[torch.nn.Module, str, Path]:
    """A Hugging Face-style timm directory, loaded by timm itself (``local-dir:`` source)."""
    import timm

    cfg, wfile = _timm_dir(path)
    dir_arch = str(cfg.get("architecture") or "")
    if arch and dir_arch and arch != dir_arch:
        raise KDAuditError(f"{path}: holds a {dir_arch}, not the {arch} asked for")
    try:
        model = timm.create_model(f"local-dir:{path}", pretrained=True)
    except Exception as exc:  # truncated weights, foreign config: one line naming the folder
        raise KDAuditError(f"{path}: cannot load the timm model ({_first_line(exc)})") from None
    return model, arch or dir_arch, wfile


def _timm_from_file(arch: str, wfile: Path, num_classes: int | None) -> torch.nn.Module:
    """A timm architecture with a state dict; the class count is read from the classifier."""
    import timm

    if not arch:
        raise KDAuditError("timm: give an architecture (timm:resnet18)")
    if not timm.is_model(arch):
        raise KDAuditError(f"timm: unknown architecture {arch!r}")
    state = read_state_dict(wfile)
    probe = _probe(lambda: timm.create_model(arch, pretrained=False))
    clf = probe.pretrained_cfg.get("classifier") or "fc"
    clf_keys = [clf] if isinstance(clf, str) else list(clf)
    k = num_classes or _outputs_from_state(state, clf_keys)
    if k is None:
        raise KDAuditError(
            f"{wfile}: no classifier weights ({clf_keys[0]}.weight); pass --num-classes"
        )
    model = timm.create_model(arch, pretrained=False, num_classes=k)
    _fit(model, state, wfile, f"timm:{arch} with {k} classes")
    return model


def _load_timm(
    arch: str, weights: Path, *, num_classes: int | None, image_size: int | None
) -> LoadedModel:
    from timm.data import create_transform, resolve_data_config

    if weights.is_dir():
        model, arch, wfile = _timm_from_dir(arch, weights)
    else:
        model, wfile = _timm_from_file(arch, weights, num_classes), weights
    k = int(model.num_classes)
    names = model.pretrained_cfg.get("label_names")
    label_names = tuple(str(x) for x in names) if names and len(names) == k else None
    args = {"input_size": (3, image_size, image_size)} if image_size else {}
    data_cfg = resolve_data_config(args=args, model=model)
    transform = create_transform(**data_cfg)
    return LoadedModel(
        module=model.eval(),
        family="timm",
        spec=f"timm:{arch}",
        input_kind="image",
        num_outputs=k,
        class_names=label_names,
        weights=[wfile],
        preprocessing={
            "library": "timm.data.create_transform(**resolve_data_config(model))",
            **{key: _plain(v) for key, v in data_cfg.items()},
        },
        transform=transform,
        channels_last=True,
    )


def _plain(v: Any) -> Any:
    if isinstance(v, (tuple, list)):
        return [_plain(x) for x in v]
    return v if isinstance(v, (int, float, str, bool)) or v is None else str(v)


# --- torchvision -----------------------------------------------------------------------------


def _load_torchvision(
    arch: str, weights: Path, *, num_classes: int | None, image_size: int | None
) -> LoadedModel:
    import torchvision

    if arch not in torchvision.models.list_models():
        raise KDAuditError(f"torchvision: unknown architecture {arch!r}")
    state = read_state_dict(weights)
    probe = _probe(lambda: torchvision.models.get_model(arch, weights=None))
    linears = [n for n, m in probe.named_modules() if isinstance(m, torch.nn.Linear)]
    k = num_classes or _outputs_from_state(state, linears[::-1][:1])
    if k is None:
        raise KDAuditError(f"{weights}: no classifier weights found; pass --num-classes")
    model = torchvision.models.get_model(arch, weights=None, num_classes=k)
    _fit(model, state, weights, f"torchvision:{arch} with {k} classes")
    try:
        enum = torchvision.models.get_model_weights(arch)
        preset = enum.DEFAULT.transforms
        source = f"torchvision {enum.__name__}.DEFAULT.transforms()"
    except (ValueError, AttributeError, KeyError):
        from functools import partial

        from torchvision.transforms._presets import ImageClassification

        preset = partial(ImageClassification, crop_size=224)
        source = "torchvision ImageClassification(crop_size=224) eval preset"
    overrides = (
        {"crop_size": image_size, "resize_size": round(image_size * 256 / 224)}
        if image_size
        else {}
    )
    transform = preset(**overrides)
    return LoadedModel(
        module=model,
        family="torchvision",
        spec=f"torchvision:{arch}",
        input_kind="image",
        num_outputs=k,
        class_names=None,
        weights=[weights],
        preprocessing={"library": source, "transform": " ".join(repr(transform).split())},
        transform=transform,
        channels_last=True,
    )


# --- Hugging Face transformers ---------------------------------------------------------------


def _hf_weight_files(path: Path) -> list[Path]:
    files = []
    for name in HF_WEIGHT_FILES:
        f = path / name
        if not f.is_file():
            continue
        if name.endswith(".index.json"):
            try:
                shards = sorted(
                    set(json.loads(f.read_text(encoding="utf-8"))["weight_map"].values())
                )
            except (json.JSONDecodeError, KeyError, AttributeError) as exc:
                raise KDAuditError(f"{f}: not a weights index ({_first_line(exc)})") from None
            for s in shards:
                if not (path / s).is_file():
                    raise KDAuditError(f"{path / s}: weights shard not found (listed in {name})")
            files.extend(path / s for s in shards)
        else:
            files.append(f)
        return files
    raise KDAuditError(
        f"{path}: no model.safetensors or pytorch_model.bin (a save_pretrained directory)"
    )


def _hf_class_names(config: Any, k: int) -> tuple[str, ...] | None:
    id2label = getattr(config, "id2label", None) or {}
    names = [id2label.get(i, id2label.get(str(i))) for i in range(k)]
    if any(n is None for n in names):
        return None
    if all(str(n) == f"LABEL_{i}" for i, n in enumerate(names)):  # transformers' placeholder
        return None
    return tuple(str(n) for n in names)


def _load_hf(path: Path, *, input_kind: str, max_length: int | None) -> LoadedModel:
    import transformers

    if not path.is_dir():
        raise KDAuditError(f"{path}: model directory not found")
    if not (path / "config.json").is_file():
        raise KDAuditError(
            f"{path / 'config.json'}: not found (a save_pretrained directory needs it)"
        )
    weights = _hf_weight_files(path)
    transformers.utils.logging.disable_progress_bar()  # stderr stays one line on errors
    tokenizer = processor = None
    try:
        if input_kind == "text":
            if not any((path / f).is_file() for f in HF_TOKENIZER_FILES):
                raise KDAuditError(
                    f"{path}: no tokenizer ({' or '.join(HF_TOKENIZER_FILES[:2])}); "
                    "save it with tokenizer.save_pretrained(DIR)"
                )
            tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = transformers.AutoModelForSequenceClassification.from_pretrained(
                path, local_files_only=True
            )
        else:
            if not (path / "preprocessor_config.json").is_file():
                raise KDAuditError(
                    f"{path / 'preprocessor_config.json'}: not found; save the image processor "
                    "with processor.save_pretrained(DIR)"
                )
            processor = transformers.AutoImageProcessor.from_pretrained(path, local_files_only=True)
            model = transformers.AutoModelForImageClassification.from_pretrained(
                path, local_files_only=True
            )
    except KDAuditError:
        raise
    except Exception as exc:  # OSError, ValueError, safetensors errors: one line, naming the dir
        raise KDAuditError(f"{path}: cannot load the model ({_first_line(exc)})") from None
    k = int(model.config.num_labels)
    names = _hf_class_names(model.config, k)
    if tokenizer is not None:
        limit = min(
            int(getattr(tokenizer, "model_max_length", 512) or 512),
            int(getattr(model.config, "max_position_embeddings", 512) or 512),
            512,
        )
        max_length = min(max_length or limit, limit)
        prep: dict[str, Any] = {
            "library": f"transformers.AutoTokenizer ({type(tokenizer).__name__})",
            "max_length": max_length,
            "truncation": True,
        }
        transform = None
    else:

        def transform(img: Any, _p: Any = processor) -> torch.Tensor:
            return _p(images=img, return_tensors="pt")["pixel_values"][0]

        prep = {
            "library": f"transformers.AutoImageProcessor ({type(processor).__name__})",
            "config": {k2: _plain(v) for k2, v in sorted(processor.to_dict().items())},
        }
    return LoadedModel(
        module=model,
        family="hf",
        spec=f"hf:{path}",
        input_kind=input_kind,
        num_outputs=k,
        class_names=names,
        weights=weights,
        preprocessing=prep,
        transform=transform,
        tokenizer=tokenizer,
        max_length=max_length,
        channels_last=False,
        hf=True,
        extra={"model_type": getattr(model.config, "model_type", None)},
    )


# --- the producers' own checkpoints ----------------------------------------------------------


def _load_producers(arch: str, weights: Path, splits: Any, image_size: int) -> LoadedModel:
    import torchvision.transforms as T

    from .models import build_model

    state = read_state_dict(weights)
    try:
        model = build_model(arch, num_classes=splits.num_classes, image_size=image_size)
    except ValueError as exc:
        raise KDAuditError(f"producers: {_first_line(exc)}") from None
    _fit(model, state, weights, f"producers:{arch} with {splits.num_classes} classes")
    mean, std = splits.channel_stats()  # what producers.train normalised with
    transform = T.Compose(
        [T.PILToTensor(), T.ConvertImageDtype(torch.float32), T.Normalize(mean, std)]
    )
    return LoadedModel(
        module=model,
        family="producers",
        spec=f"producers:{arch}",
        input_kind="image",
        num_outputs=splits.num_classes,
        class_names=tuple(splits.class_names),
        weights=[weights],
        preprocessing={
            "library": "producers: training-split channel mean/std (as producers.train)",
            "mean": list(mean),
            "std": list(std),
            "image_size": image_size,
        },
        transform=transform,
        channels_last=True,
    )


def load_model(
    spec: str,
    *,
    weights: Path | None,
    input_kind: str,
    num_classes: int | None = None,
    image_size: int | None = None,
    max_length: int | None = None,
    splits: Any = None,
) -> LoadedModel:
    """Load a model spec (``timm:ARCH``, ``torchvision:ARCH``, ``hf:DIR``, ``producers:ARCH``)."""
    family, _, rest = spec.partition(":")
    family = family.strip().lower()
    if family not in FAMILIES or (not rest and family not in ("timm",)):
        raise KDAuditError(
            f"model spec {spec!r}: use timm:ARCH, torchvision:ARCH, hf:DIR or producers:ARCH"
        )
    if family == "hf":
        if weights is not None:
            raise KDAuditError("hf: the weights are in the model directory; drop --weights")
        return _load_hf(Path(rest), input_kind=input_kind, max_length=max_length)
    if input_kind != "image":
        raise KDAuditError(f"{spec}: an image model; give image data (a folder or --path-column)")
    if weights is None:
        raise KDAuditError(f"{spec}: give the local weights with --weights FILE")
    if not weights.exists():
        raise KDAuditError(f"{weights}: weights file not found")
    if family == "timm":
        return _load_timm(rest, weights, num_classes=num_classes, image_size=image_size)
    if family == "torchvision":
        return _load_torchvision(rest, weights, num_classes=num_classes, image_size=image_size)
    if splits is None:
        raise KDAuditError(
            f"{spec}: the producers' models predict study settings: use --data setting:NAME "
            "(they are normalised with the training split's statistics)"
        )
    return _load_producers(rest, weights, splits, int(splits.test.image_size[0]))
