"""Library errors name parameters (never CLI flags); the CLI maps them to flags in one place."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from kdbias_audit import InvalidArgumentError, KDAuditError
from kdbias_audit.checks import check_alpha, check_jobs, check_permutations
from kdbias_audit.cli._common import PARAMETER_FLAGS, cli_message
from kdbias_audit.fairness import group_counts, parse_sensitive
from kdbias_audit.stats.welch import welch_classwise

PKG = Path(__file__).resolve().parents[1] / "kdbias_audit"


def test_invalid_argument_error_is_a_value_error_and_a_package_error():
    assert issubclass(InvalidArgumentError, ValueError)
    assert issubclass(InvalidArgumentError, KDAuditError)


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda: check_alpha(1.5), "alpha"),
        (lambda: check_alpha("x", "confidence_level"), "confidence_level"),
        (lambda: check_jobs(0), "jobs"),
        (lambda: check_permutations(-1), "permutations"),
        (lambda: parse_sensitive(["a,"], ["a"]), "sensitive"),
    ],
)
def test_argument_errors_are_value_errors_that_start_with_the_parameter(call, parameter):
    with pytest.raises(ValueError) as info:
        call()
    assert isinstance(info.value, InvalidArgumentError)
    assert info.value.parameter == parameter
    assert str(info.value).startswith(parameter)


def test_array_argument_errors_are_value_errors():
    with pytest.raises(ValueError, match="rel_a has 1 seed"):
        welch_classwise([[1.0]], [[1.0], [2.0]])
    with pytest.raises(ValueError, match="group_codes"):
        group_counts([0, 1], [0, 1], [0, 5], 2)


def test_no_library_message_names_a_cli_flag():
    """String literals outside cli/ never spell a ``--flag`` of the CLI."""
    flags = re.compile("|".join(re.escape(f) for f in PARAMETER_FLAGS.values()) + r"\b")
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        if "cli" in path.relative_to(PKG).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if flags.search(node.value) and not node.value.lstrip().startswith(
                    ("kdaudit ", "Examples")
                ):
                    bad.append(f"{path.relative_to(PKG)}: {node.value[:60]!r}")
    assert not bad, bad


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (InvalidArgumentError("jobs must be at least 1, got 0", parameter="jobs"), "--jobs must"),
        (KDAuditError("no seed in common; use pairing='all' to compare"), "use --pairing all to"),
        (KDAuditError("sw: 2 teacher run sets; pick one with teacher=DIR"), "--teacher DIR"),
        (
            KDAuditError("sw/teacher: given as both teacher= and baseline="),
            "--teacher and --baseline",
        ),
        (
            InvalidArgumentError("sensitive: empty name", parameter="sensitive"),
            "--sensitive: empty",
        ),
        (
            InvalidArgumentError("positive_class 3 is not", parameter="positive_class"),
            "--positive-class 3",
        ),
        # a path that contains a parameter's name is left alone; so is a longer word
        (KDAuditError("runs/teacher: has 1 seed"), "runs/teacher: has 1 seed"),
        (InvalidArgumentError("alphabet soup", parameter="alpha"), "alphabet soup"),
        (KDAuditError("set metadata role='teacher'"), "role='teacher'"),
    ],
)
def test_cli_maps_parameters_to_flags(error, shown):
    assert shown in cli_message(error)
