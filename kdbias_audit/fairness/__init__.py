"""Group fairness from saved predictions: counts, rates, DPD and EOD, across seeds.

Counts first, rates second: one ``np.bincount`` turns ``(y_true, y_pred, groups)`` into per-group
counts (:class:`GroupCounts`); every rate and spread below is a short function of those counts.

Definitions (per seed; groups ``g`` of one sensitive attribute, positive class ``p``):

* selection rate ``SR_g = P(pred = p | g)``
* true positive rate ``TPR_g = P(pred = p | y = p, g)``, undefined when ``g`` has no positives
* false positive rate ``FPR_g = P(pred = p | y != p, g)``, undefined when ``g`` has no negatives
* ``DPD = max_g SR_g - min_g SR_g``
* ``EOD = max(max_g TPR_g - min_g TPR_g, max_g FPR_g - min_g FPR_g)``

A group whose rate is undefined is excluded from that spread and reported with a
:class:`~kdbias_audit.errors.DegenerateDataWarning`; a spread over fewer than two groups is
NaN. fairlearn instead counts such a rate as 0 (see ``docs/fairness.md``); the values agree
whenever every group has positives and negatives.

Multi-class tasks use one-vs-rest per class ``c`` (``y == c`` vs ``pred == c``) and the mean
over classes (Algorithm 1 of the paper); the per-class values are kept. Across seeds: the mean
and the sample standard deviation (``ddof=1``).

Modules, by layer: :mod:`.counts` (group counts), :mod:`.rates` (rates and spreads),
:mod:`.metrics` (fairlearn-compatible functions), :mod:`.attributes` (sensitive attributes
and group codes), :mod:`.audit` (the run-set audit), :mod:`.compare` (Welch comparison of two
audits). This package re-exports the names ``kdbias_audit.fairness`` always exported.
"""

from __future__ import annotations

from .audit import AttributeFairness, FairnessAudit, fairness_audit, parse_sensitive
from .compare import AttributeComparison, FairnessComparison, MetricDiff, compare_fairness
from .counts import INTERSECTION_SEP, GroupCounts, group_counts, one_vs_rest_counts
from .metrics import demographic_parity_difference, equalized_odds_difference
from .rates import dpd, eod, fpr, selection_rate, tpr

__all__ = [
    "GroupCounts",
    "group_counts",
    "one_vs_rest_counts",
    "selection_rate",
    "tpr",
    "fpr",
    "dpd",
    "eod",
    "demographic_parity_difference",
    "equalized_odds_difference",
    "AttributeFairness",
    "FairnessAudit",
    "fairness_audit",
    "MetricDiff",
    "AttributeComparison",
    "FairnessComparison",
    "compare_fairness",
    "parse_sensitive",
    "INTERSECTION_SEP",
]
