"""Default values and limits, named once (imported by the library and the CLI alike)."""

from __future__ import annotations

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_CONFIDENCE_LEVEL",
    "DEFAULT_PERMUTATIONS",
    "DEFAULT_RANDOM_STATE",
    "MAX_NUM_CLASSES",
    "MAX_METADATA_BYTES",
    "MAX_MATRIX_CLASSES",
    "MAX_ROW_GROUP_LOGITS",
    "DEFAULT_RESAMPLES",
    "DEFAULT_BOOTSTRAP",
    "MIN_RESAMPLES",
]

#: Significance level of the per-class tests and of the fairness comparisons.
DEFAULT_ALPHA = 0.05
#: Confidence level of the Welch intervals.
DEFAULT_CONFIDENCE_LEVEL = 0.95
#: Splits of a permutation test: every split when there are at most this many, else this many
#: random ones.
DEFAULT_PERMUTATIONS = 10_000
#: Seed of the random permutation splits (results are reproducible unless a caller passes
#: another seed or a ``numpy.random.Generator``).
DEFAULT_RANDOM_STATE = 0
#: Largest ``num_classes`` the reader accepts (a guard against absurd metadata).
MAX_NUM_CLASSES = 100_000
#: Largest metadata JSON the reader parses, in bytes.
MAX_METADATA_BYTES = 16 * 1024 * 1024
#: Largest class count for the dense (C, C) disagreement matrix (10,000 classes: 800 MB of float64).
MAX_MATRIX_CLASSES = 10_000
#: Most logits one Parquet row group may hold (2**28 float32 values: 1 GiB decoded). The
#: reader decodes a row group at a time; a crafted footer must not make it allocate more.
MAX_ROW_GROUP_LOGITS = 1 << 28
#: Paired permutations (count test) and bootstrap draws of the sample-level comparison.
DEFAULT_RESAMPLES = 2_000
#: Bootstrap resamples and noise-floor draws of a fairness audit's uncertainty.
DEFAULT_BOOTSTRAP = 1_000
#: Fewest resamples accepted for an interval, a noise floor or a paired fairness difference.
MIN_RESAMPLES = 100
