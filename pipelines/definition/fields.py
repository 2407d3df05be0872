"""Typed, validated field types shared by the app settings and the model specs, and the one
way a validation error becomes a line for the user."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import ErrorDetails

from pipelines.definition.catalogue import botocore_facts


class Section(BaseModel):
    """A settings or spec section: unknown fields are errors, values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def pattern(regex: str, allowed: str) -> AfterValidator:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"must be {allowed}")
        return value

    return AfterValidator(check)


def _instance_type_validator(shape_name: str, use: str) -> AfterValidator:
    def check(value: str) -> str:
        allowed = botocore_facts()[shape_name]
        if value not in allowed:
            raise ValueError(
                f"not a SageMaker {use} instance type; allowed: {len(allowed)} values of "
                f"botocore's {shape_name}, e.g. {', '.join(sorted(allowed)[:3])}"
            )
        return value

    return AfterValidator(check)


TrainingInstanceType = Annotated[str, _instance_type_validator("TrainingInstanceType", "training")]
ProcessingInstanceType = Annotated[
    str, _instance_type_validator("ProcessingInstanceType", "processing")
]
EndpointInstanceType = Annotated[
    str, _instance_type_validator("ProductionVariantInstanceType", "endpoint")
]
# Endpoint capacity and its autoscaling target, in the spec and as pipeline parameters.
Capacity = Annotated[int, Field(ge=1, le=100)]
InvocationsTarget = Annotated[int, Field(ge=1, le=100_000)]
# botocore's ProcessingClusterConfig.InstanceCount and ResourceConfig.InstanceCount.
InstanceCount = Annotated[int, Field(ge=1, le=100)]
S3Uri = Annotated[
    str, pattern(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?", "an s3://bucket/key URI")
]
ApprovalStatus = Annotated[
    str,
    pattern(
        "Approved|PendingManualApproval",
        "Approved or PendingManualApproval (a new model is never registered as Rejected)",
    ),
]


def describe_error(error: ErrorDetails, *, known: Iterable[str] = ()) -> str:
    """One line naming the setting, the value and what is allowed."""
    location = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "value_error" and isinstance(error["input"], dict):
        # A rule across several fields of one section: the message names them itself.
        if not location or message.startswith(f"{location}"):
            return message
        return f"settings {location}: {message}"
    if error["type"] == "extra_forbidden":
        names = sorted(known)
        hint = f"; known: {', '.join(names)}" if names else ""
        return f"unknown setting {location!r}{hint}"
    if error["type"] == "missing":
        return f"setting {location} is required"
    return f"setting {location} = {error['input']!r}: {message}"
