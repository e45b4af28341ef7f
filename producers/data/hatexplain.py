"""HateXplain from a local copy: toxic vs normal posts, ``race`` and ``gender`` target groups.

Expected files (from the HateXplain repository's ``Data/`` folder)::

    ROOT/dataset.json              # {post_id: {"post_id", "post_tokens": [...],
                                   #   "annotators": [{"label": "hatespeech"|"offensive"|"normal",
                                   #                   "target": [...], ...} x 3], ...}}
    ROOT/post_id_divisions.json    # {"train": [post_id, ...], "val": [...], "test": [...]}

Rules (paper, Section 5):

- Label: the majority of the three annotators' labels among hatespeech / offensive / normal
  (at least two agree); posts where all three differ have no majority and are dropped (as
  HateXplain itself does). Then hatespeech and offensive -> ``toxic`` (1), normal -> ``normal`` (0).
- A target community counts for a post when at least two annotators name it (an annotator
  naming it twice counts once).
- ``group.race``: ``race`` when a counted community is one of :data:`RACE_COMMUNITIES`
  (African, Arab, Asian, Caucasian, Hispanic, Indian: HateXplain's race/ethnicity targets;
  ``Indigenous`` and ``Refugee`` are origin targets in HateXplain's taxonomy and are not
  counted), else ``no race``.
- ``group.gender``: ``gender`` when a counted community is ``Men`` or ``Women``, else ``no gender``.
- Text: the ``post_tokens`` joined by single spaces. Sample id: the ``post_id``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from ._local import malformed, require

DATASET = "HateXplain"
RACE_COMMUNITIES = ("African", "Arab", "Asian", "Caucasian", "Hispanic", "Indian")
GENDER_COMMUNITIES = ("Men", "Women")
TOXIC_LABELS = ("hatespeech", "offensive")
LABELS = ("hatespeech", "offensive", "normal")
CLASS_NAMES = ("normal", "toxic")
SPLIT_KEYS = {"train": "train", "val": "val", "valid": "val", "test": "test"}


@dataclass(frozen=True)
class TextSplit:
    """One split of HateXplain after the majority vote.

    Attributes
    ----------
    sample_ids : ndarray of str
        ``post_id`` per kept post, in ``post_id_divisions.json`` order.
    texts : tuple of str
    labels : ndarray of int64
        1 = toxic (hatespeech or offensive), 0 = normal.
    groups : dict of str -> ndarray of str
        ``race`` (``race`` / ``no race``) and ``gender`` (``gender`` / ``no gender``).
    targets : tuple of tuple of str
        The communities named by at least two annotators, per post.
    n_dropped : int
        Posts of the split without a majority label.
    """

    dataset: str
    split: str
    sample_ids: np.ndarray
    texts: tuple[str, ...]
    labels: np.ndarray
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    targets: tuple[tuple[str, ...], ...] = ()
    n_dropped: int = 0
    class_names: tuple[str, ...] = CLASS_NAMES
    positive_class: int = 1

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def majority_label(labels: Iterable[str]) -> str | None:
    """The label at least two annotators gave, or None when all differ."""
    label, count = Counter(labels).most_common(1)[0]
    return label if count >= 2 else None


def agreed_targets(target_lists: Iterable[Iterable[str]], *, min_votes: int = 2) -> tuple[str, ...]:
    """Communities named by at least ``min_votes`` annotators (each annotator counted once), sorted."""
    votes = Counter(t for targets in target_lists for t in set(targets or ()))
    return tuple(sorted(t for t, n in votes.items() if n >= min_votes))


def _read_json(path: Path) -> object:
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise malformed(DATASET, path, f"not valid JSON ({exc.msg} at line {exc.lineno})") from None


def read_posts(root: str | Path) -> dict[str, dict]:
    """Parse ``ROOT/dataset.json`` into ``{post_id: post}``."""
    root = Path(root)
    path = require(
        root / "dataset.json",
        dataset=DATASET,
        hint=f"put dataset.json (HateXplain repository, Data/) in {root}",
    )
    posts = _read_json(path)
    if not isinstance(posts, dict):
        raise malformed(DATASET, path, "expected an object {post_id: post}")
    return posts


def read_divisions(root: str | Path) -> dict[str, list[str]]:
    """Parse ``ROOT/post_id_divisions.json`` (keys ``train``, ``val``, ``test``)."""
    root = Path(root)
    path = require(
        root / "post_id_divisions.json",
        dataset=DATASET,
        hint=f"put post_id_divisions.json (HateXplain repository, Data/) in {root}",
    )
    div = _read_json(path)
    if not isinstance(div, dict) or not all(k in div for k in ("train", "val", "test")):
        raise malformed(DATASET, path, "expected an object with lists 'train', 'val' and 'test'")
    return div


def communities_in(root: str | Path) -> Counter:
    """Every target community in ``dataset.json`` with the number of posts where it counts (>= 2 votes)."""
    out: Counter = Counter()
    for post in read_posts(root).values():
        out.update(agreed_targets(a.get("target", []) for a in post.get("annotators", [])))
    return out


def load_hatexplain(
    root: str | Path,
    *,
    split: Literal["train", "val", "test"],
    race_communities: tuple[str, ...] = RACE_COMMUNITIES,
    gender_communities: tuple[str, ...] = GENDER_COMMUNITIES,
) -> TextSplit:
    """Load one split of HateXplain (binary toxic label, ``race`` and ``gender`` groups)."""
    root = Path(root)
    if split not in SPLIT_KEYS:
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    posts = read_posts(root)
    ids = read_divisions(root)[SPLIT_KEYS[split]]
    data_path = root / "dataset.json"
    kept_ids, texts, labels, race, gender, targets = [], [], [], [], [], []
    dropped = 0
    for pid in ids:
        post = posts.get(pid)
        if post is None:
            raise malformed(
                DATASET, root / "post_id_divisions.json", f"post {pid} is not in dataset.json"
            )
        annotators = post.get("annotators") or []
        votes = [a.get("label") for a in annotators]
        if not votes or any(v not in LABELS for v in votes):
            raise malformed(
                DATASET,
                data_path,
                f"post {pid}: annotator labels {votes} not all in {', '.join(LABELS)}",
            )
        if "post_tokens" not in post:
            raise malformed(DATASET, data_path, f"post {pid} has no post_tokens")
        label = majority_label(votes)
        if label is None:
            dropped += 1
            continue
        agreed = agreed_targets(a.get("target", []) for a in annotators)
        kept_ids.append(str(pid))
        texts.append(" ".join(post["post_tokens"]))
        labels.append(1 if label in TOXIC_LABELS else 0)
        race.append("race" if any(t in race_communities for t in agreed) else "no race")
        gender.append("gender" if any(t in gender_communities for t in agreed) else "no gender")
        targets.append(agreed)
    return TextSplit(
        dataset="hatexplain",
        split=SPLIT_KEYS[split],
        sample_ids=np.array(kept_ids, dtype=str),
        texts=tuple(texts),
        labels=np.array(labels, dtype=np.int64),
        groups={"race": np.array(race, dtype=str), "gender": np.array(gender, dtype=str)},
        targets=tuple(targets),
        n_dropped=dropped,
    )
