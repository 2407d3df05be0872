"""The rules a pipeline parameter's value must follow: the same as those of the spec field or
setting it defaults from, so a value refused in model.toml is refused as ``--param`` too,
locally and by ``pipelines.cli start``, before anything runs or is registered."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from pipelines.definition.fields import (
    ApprovalStatus,
    Capacity,
    EndpointInstanceType,
    InstanceCount,
    InvocationsTarget,
    ProcessingInstanceType,
    S3Uri,
    TrainingInstanceType,
)

# Parameter name (pipelines/definition/context.py) -> the type of the field it defaults from.
RULES: dict[str, Any] = {
    "InputDataUri": S3Uri,
    "ProcessingInstanceType": ProcessingInstanceType,
    "ProcessingInstanceCount": InstanceCount,
    "TrainingInstanceType": TrainingInstanceType,
    "ModelApprovalStatus": ApprovalStatus,
    "EndpointInstanceType": EndpointInstanceType,
    "EndpointMinCapacity": Capacity,
    "EndpointMaxCapacity": Capacity,
    "TargetInvocationsPerInstance": InvocationsTarget,
}


class ParameterValueError(ValueError):
    """A value breaks a rule; the message names the parameter, the value and the rule, and
    ``names`` the parameters involved, so a caller can say which were given."""

    def __init__(self, message: str, *names: str) -> None:
        super().__init__(message)
        self.names = names


@cache
def _adapter(name: str) -> TypeAdapter[Any]:
    return TypeAdapter(RULES[name])


def check_parameter_values(values: Mapping[str, Any]) -> None:
    """Check every value with a rule (parameters without one, and unknown names, pass), then
    the rules across parameters."""
    for name, value in values.items():
        if name not in RULES:
            continue
        try:
            _adapter(name).validate_python(value)
        except ValidationError as error:
            reason = str(error.errors()[0]["msg"]).removeprefix("Value error, ")
            raise ParameterValueError(f"{name} = {value!r}: {reason}", name) from None
    low, high = values.get("EndpointMinCapacity"), values.get("EndpointMaxCapacity")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        raise ParameterValueError(
            f"EndpointMinCapacity ({low}) must be <= EndpointMaxCapacity ({high})",
            "EndpointMinCapacity",
            "EndpointMaxCapacity",
        )
