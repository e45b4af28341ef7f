"""Statistical tests of the class-wise audit, one layer per module.

:mod:`.welch` (the vectorised Welch core and :class:`WelchResult`), :mod:`.multitest`
(Benjamini-Hochberg), :mod:`.permutation` (permutation calibration of the number of significant
classes), :mod:`.classwise` (seed accuracies and :func:`classwise_test`), :mod:`.disagreement`.

Nothing is re-exported here on purpose: ``stats.disagreement`` is both a module and a function
name, and the public API is ``kdbias_audit`` itself.
"""
