"""Statistical tests of the class-wise audit, one layer per module.

:mod:`.welch` (the vectorised Welch core and :class:`WelchResult`), :mod:`.multitest`
(Benjamini-Hochberg), :mod:`.permutation` (permutation calibration of the number of significant
classes), :mod:`.classwise` (seed accuracies and :func:`classwise_test`), :mod:`.disagreement`,
:mod:`.resample` (counts-based bootstrap and paired-swap draws over occupied cells) and
:mod:`.paired` (the sample-level paired class-wise comparison of two models).

Nothing is re-exported here on purpose: ``stats.disagreement`` is both a module and a function
name, and the public API is ``kdbias_audit`` itself.
"""
