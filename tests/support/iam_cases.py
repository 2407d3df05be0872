"""The allowed/denied case tables shared by the IAM matrix test modules.

A ``Case`` is one request one role makes; each module names its roles with its own keys and
passes the function that turns a key into a ``Role`` (``role_of``). ``evaluate`` runs every
case of a table, in every variant it applies to, in one node process, and ``check`` compares a
verdict with the case's expectation. Verdicts are keyed by the case's pytest id
(``case_id``), the id ``expand`` gives the parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import VARIANTS
from tests.support.iam import PolicyMatrix, Query, Role, SimulationError, simulate

ALL_VARIANTS = tuple(VARIANTS)

ALLOWED = "Allowed"
DENIED = "Denied"  # implicitly or explicitly: the request fails either way
EXPLICITLY_DENIED = "ExplicitlyDenied"

RoleLookup = Callable[[PolicyMatrix, str], Role]


@dataclass(frozen=True)
class Case:
    description: str
    role: str  # a key the module's role lookup knows
    action: str
    resource: str  # str.format template over the module's resource_names()
    expected: str  # ALLOWED, DENIED or EXPLICITLY_DENIED
    context: dict[str, str] = field(default_factory=dict)
    variants: tuple[str, ...] = ALL_VARIANTS

    def query(self, matrix: PolicyMatrix, names: dict[str, str], role_of: RoleLookup) -> Query:
        return Query(
            role=role_of(matrix, self.role),
            action=self.action,
            resource=self.resource.format(**names),
            context={key: value.format(**names) for key, value in self.context.items()},
        )


def via(service: str) -> dict[str, str]:
    return {"kms:ViaService": f"{service}.{{region}}.amazonaws.com"}


def case_id(variant: str, case: Case) -> str:
    return f"{variant}: {case.description}"


def expand(cases: list[Case]) -> list[Any]:
    return [
        pytest.param(variant, case, id=case_id(variant, case))
        for case in cases
        for variant in case.variants
    ]


def assert_unique_descriptions(tables: Mapping[str, list[Case]]) -> None:
    descriptions = [case.description for cases in tables.values() for case in cases]
    assert len(set(descriptions)) == len(descriptions), "case descriptions must be unique"


def evaluate(
    cases: Iterable[Case],
    matrices: dict[str, PolicyMatrix],
    names: dict[str, dict[str, str]],
    role_of: RoleLookup,
    extra_requests: dict[str, dict[str, Any]] | None = None,
) -> dict[str, str]:
    """Every verdict of the cases (and of the extra requests), keyed by pytest id, one node run."""
    requests = {
        case_id(variant, case): matrices[variant].request(
            case.query(matrices[variant], names[variant], role_of)
        )
        for case in cases
        for variant in case.variants
    }
    requests.update(extra_requests or {})
    return dict(zip(requests, simulate(list(requests.values())), strict=True))


def check(verdicts: dict[str, str], variant: str, case: Case) -> None:
    verdict = verdicts[case_id(variant, case)]
    if verdict.startswith("ERROR"):
        raise SimulationError(f"the simulator rejected {case.action} on {case.resource}: {verdict}")
    if case.expected == DENIED:
        assert verdict != ALLOWED, f"{case.description}: {variant} allows it"
    else:
        assert verdict == case.expected, f"{case.description}: {variant} says {verdict}"
