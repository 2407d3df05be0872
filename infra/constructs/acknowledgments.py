"""The one way this project acknowledges a cdk-nag finding."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

# Acknowledgments are security exceptions: keep the reason specific enough that a reviewer
# can judge it, and the count low enough that each one gets read (tests enforce both).
MIN_REASON_LENGTH = 40


def acknowledge(construct: IConstruct, finding_id: str, reason: str) -> None:
    """Accept one cdk-nag finding (``Rule[Finding]``) on the narrowest construct that has it."""
    if len(reason) < MIN_REASON_LENGTH:
        raise ValueError(f"acknowledgment of {finding_id} needs a specific reason: {reason!r}")
    Validations.of(construct).acknowledge(Acknowledgment(id=finding_id, reason=reason))


def wildcard_resource_finding(scope: IConstruct, resource: str) -> str:
    """The ID cdk-nag gives an IAM5 finding for ``resource`` (an ARN, possibly with tokens).

    The ID embeds the resolved ARN, so it differs between env-agnostic and pinned-region
    stacks; deriving it here keeps acknowledgments exact in both. cdk-nag does not export its
    flattening function to Python, hence this port of ``flattenCfnReference``.
    """
    return f"AwsSolutions-IAM5[Resource::{_flatten(Stack.of(scope).resolve(resource))}]"


def _flatten(node: Any) -> str:
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return str(delimiter).join(_flatten(item) for item in items)
        if "Fn::Sub" in node:
            return _flatten(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{_flatten(resource)}.{_flatten(attribute)}>"
        if "Fn::ImportValue" in node:
            return _flatten(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{_flatten(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))
