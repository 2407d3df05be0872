"""A role's identity policy as a few named groups of statements, each group with the reason
for every wildcard resource it grants, so a reviewer reads a permission and its justification
in one place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import aws_iam as iam

from infra.constructs.acknowledgments import acknowledge, wildcard_resource_finding


@dataclass(frozen=True)
class StatementGroup:
    statements: Sequence[iam.PolicyStatement]
    # Resource (an ARN, possibly with tokens, or "*") -> why it cannot be narrower; each is the
    # acknowledgment of the cdk-nag IAM5 finding the resource raises.
    wildcards: Mapping[str, str] = field(default_factory=dict)


def add_statement_groups(role: iam.Role, *groups: StatementGroup) -> None:
    """The groups' statements into the role's default policy, in order, then their wildcards'
    acknowledgments on that policy (cdk-nag reports IAM5 on the policy, not the role)."""
    for group in groups:
        for statement in group.statements:
            role.add_to_policy(statement)
    policy = role.node.find_child("DefaultPolicy")
    for group in groups:
        for resource, reason in group.wildcards.items():
            acknowledge(policy, wildcard_resource_finding(policy, resource), reason)
