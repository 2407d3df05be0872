"""Pipeline parameters follow the rules of the spec fields they default from."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pipelines.definition.parameter_rules import (
    RULES,
    ParameterValueError,
    check_parameter_values,
)
from pipelines.definition.spec import DeploymentSpec
from tests.pipeline.conftest import Build

# A gate threshold's scale is the metric's (AUC, accuracy, RMSE): the spec has no rule either.
WITHOUT_RULE = {"QualityThreshold"}


def test_every_declared_parameter_has_a_rule_and_its_default_keeps_it(build: Build) -> None:
    declared = {p["Name"]: p.get("DefaultValue") for p in build.definition["Parameters"]}
    assert set(declared) - WITHOUT_RULE == set(RULES)
    check_parameter_values(declared)


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"EndpointMinCapacity": 0}, {"min_capacity": 0}, "EndpointMinCapacity = 0: Input"),
        (
            {"EndpointInstanceType": "ml.m5.huge"},
            {"instance_type": "ml.m5.huge"},
            "EndpointInstanceType = 'ml.m5.huge': not a SageMaker endpoint instance type",
        ),
        (
            {"EndpointMinCapacity": 3, "EndpointMaxCapacity": 2},
            {"min_capacity": 3, "max_capacity": 2},
            "EndpointMinCapacity (3) must be <= EndpointMaxCapacity (2)",
        ),
    ],
)
def test_a_value_the_spec_refuses_is_refused_as_a_parameter(
    values: dict[str, object], field: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError):
        DeploymentSpec.model_validate(field)
    with pytest.raises(ParameterValueError) as raised:
        check_parameter_values(values)
    assert str(raised.value).startswith(message)


def test_parameters_of_other_pipelines_pass_unchecked() -> None:
    check_parameter_values({"SomeoneElsesParameter": "anything", "QualityThreshold": 5.0})
