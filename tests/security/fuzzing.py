"""Schemathesis against the worker's own /openapi.json, bounded and repeatable (used by the test and bench_fuzz).

For every operation the worker publishes: schema-valid requests (positive) and schema-violating
ones (negative), with the shared-secret header. Schemathesis' checks then demand no 5xx, answers
that match the published schema (status, content type, body), invalid data refused with a 4xx, and
authentication enforced. On top, the first example of each operation is sent again without the
header and must get the contract's 401.

Left out: `positive_data_acceptance`, because some schema-valid requests are refused on purpose
for rules a schema cannot state (a departure in the past, a departure more than a year ahead).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

SEED = 20261123
PUBLIC = {"GET /health"}


@dataclass
class FuzzReport:
    """What one run did: operations, examples sent, and every failure found."""

    operations: int = 0
    examples: int = 0
    unauthenticated_checks: int = 0
    seconds: float = 0.0
    per_operation: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"schemathesis fuzz: {self.operations} operations, {self.examples} examples "
            f"(+{self.unauthenticated_checks} without credentials), {len(self.failures)} failures, "
            f"{self.seconds:.1f} s, seed {SEED}"
        )


def run_fuzz(app: Any, headers: Mapping[str, str], *, max_examples: int = 20) -> FuzzReport:
    """Fuzz every operation of the WSGI app's /openapi.json; failures are collected, not raised."""
    report = FuzzReport()
    started = time.monotonic()
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app, headers=dict(headers))
    excluded = [schemathesis.checks.positive_data_acceptance]  # type: ignore[attr-defined]
    for result in schema.get_all_operations():
        operation = result.ok()
        report.operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            sent = _fuzz_operation(operation, mode, dict(headers), excluded, max_examples, report)
            report.per_operation[f"{operation.label} {mode.value}"] = sent
            report.examples += sent
    report.seconds = time.monotonic() - started
    return report


def _fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    headers: dict[str, str],
    excluded: list[Any],
    max_examples: int,
    report: FuzzReport,
) -> int:
    sent = [0]

    @seed(SEED)
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=False,
        print_blob=False,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        sent[0] += 1
        case.call_and_validate(headers=headers, excluded_checks=excluded)
        if sent[0] == 1 and mode is GenerationMode.POSITIVE and operation.label not in PUBLIC:
            _refused_without_credentials(case, report)

    try:
        check()
    except Unsatisfiable:
        pass  # nothing to generate (e.g. a negative request for an operation without inputs)
    except Exception as error:  # a FailureGroup or an assertion: record it and go on
        report.failures.append(f"{operation.label} ({mode.value}): {str(error)[:3000]}")
    return sent[0]


def _refused_without_credentials(case: Any, report: FuzzReport) -> None:
    report.unauthenticated_checks += 1
    answer = case.call()  # no headers: no Authorization
    try:
        body = json.loads(answer.content)
    except ValueError:
        body = None
    if answer.status_code != 401 or not isinstance(body, dict) or body.get("error") != "unauthorized":
        raise AssertionError(
            f"{case.operation.label} without credentials answered {answer.status_code}, not the contract's 401"
        )
