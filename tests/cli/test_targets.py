"""Charge targets as typed on the command line, checked as the worker checks them (shared/domain/targets.py)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.domain.targets import check_target_soc, parse_target_soc
from shared.errors import ValidationError
from worker_service.services import planning


@pytest.mark.parametrize(("text", "value"), [("90", 90), ("50", 50), ("100", 100), (" 80% ", 80), ("75 %", 75)])
def test_a_whole_percentage_from_50_to_100_is_accepted(text: str, value: int) -> None:
    assert parse_target_soc(text) == value


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("40", "target_soc must be between 50 and 100, got 40"),
        ("101", "got 101"),
        ("0", "got 0"),
        ("90.5", "whole percentage"),
        ("-60", "whole percentage"),
        ("ninety", "whole percentage"),
        ("", "whole percentage"),
        ("٩٠", "whole percentage"),  # Arabic-Indic digits pass str.isdigit(); the worker would not see 90
    ],
)
def test_anything_else_is_refused_with_the_range(text: str, words: str) -> None:
    with pytest.raises(ValidationError) as problem:
        parse_target_soc(text)
    assert words in problem.value.message


def test_the_worker_checks_targets_with_the_same_domain_function() -> None:
    # One check for the command line and the worker: they cannot drift apart.
    assert planning.check_target_soc is check_target_soc


@pytest.mark.parametrize("value", [None, True, 80.0, "80", 49, 101])
def test_the_check_refuses_what_is_not_a_whole_percentage_in_range(value: Any) -> None:
    with pytest.raises(ValidationError):
        check_target_soc(value)
