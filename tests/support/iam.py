"""Offline evaluation of the synthesized IAM policies with ``@cloud-copilot/iam-simulate``.

A synthesized template is full of CloudFormation intrinsics; the simulator needs concrete ARNs.
``pipelines.assembly.resolve`` resolves them, strict (a value it would have to invent is an
error) and with the matrix's naming: a resource without a name of its own is named after its
logical ID, so the cases read as the template does. ``PolicyMatrix`` collects a role's identity
policies and the resource policies (bucket, key, repository policies) that apply to a request,
and ``simulate`` runs a whole batch of requests in one node process.

A stack of a multi-stack app refers to another stack's resources with
``Fn::GetStackOutput``; given the other stacks' templates (``stacks=``, keyed by CloudFormation
stack name, e.g. from ``pipelines.assembly.manifest.read_assembly``) the resolver reads the
named output in that template, so both stacks agree on every ARN and name, and
``PolicyMatrix`` also applies the other stacks' bucket and key policies.

Nothing here hard-codes a logical ID: roles are found through the stack outputs that name them,
through the Lambda functions that use them (``lambda_function``), or any other handle a caller
resolves to a role ARN.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.assembly.manifest import read_assembly
from pipelines.assembly.resolve import Resolver, Stack
from tests.support.offline import node_offline_env

if TYPE_CHECKING:
    from infra.config import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SIMULATOR = Path(__file__).with_name("iam_sim.mjs")
FAKE_ACCOUNT = "111111111111"
DEFAULT_REGION = "us-east-1"
# Every request is sent over TLS unless a query says otherwise: the bucket policies deny the rest.
DEFAULT_CONTEXT: Mapping[str, str] = {"aws:SecureTransport": "true"}
RESULTS = frozenset({"Allowed", "ImplicitlyDenied", "ExplicitlyDenied"})
# Bucket and repository names must be lowercase; the others keep the logical ID's case.
_LOWERCASE_NAMES = frozenset({"AWS::S3::Bucket", "AWS::ECR::Repository"})

Json = Any
Context = Mapping[str, str | Sequence[str]]


class SimulationError(AssertionError):
    """The simulator rejected a request (unknown action, malformed ARN, ...) or crashed."""


def logical_id_name(stack: Stack, logical_id: str, resource_type: str) -> str:
    """The matrix's generated name: the logical ID, so cases read as the template does."""
    return logical_id.lower()[:63] if resource_type in _LOWERCASE_NAMES else logical_id


def matrix_stack(
    template: Mapping[str, Json],
    *,
    name: str = "stack",
    account: str = FAKE_ACCOUNT,
    region: str = DEFAULT_REGION,
) -> Stack:
    return Stack(name, name, region, account, template)


def matrix_resolver(stacks: list[Stack]) -> Resolver:
    return Resolver(stacks, names=logical_id_name, strict=True)


def resolve_alone(template: Mapping[str, Json], value: Json) -> Json:
    """``value`` of ``template`` resolved as the matrix does, the template deployed alone."""
    stack = matrix_stack(template)
    return matrix_resolver([stack]).resolve(value, stack, stack.name)


def _as_list(value: Json) -> list[Json]:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Role:
    """One IAM role of the template, with its identity policies resolved."""

    logical_id: str
    name: str
    arn: str
    trust_policy: Json
    policies: tuple[Json, ...]
    description: str | None = None

    @property
    def session_arn(self) -> str:
        """The principal AWS sees when the role's credentials make a request."""
        partition = self.arn.split(":")[1]
        account = self.arn.split(":")[4]
        return f"arn:{partition}:sts::{account}:assumed-role/{self.name}/iam-matrix-test"

    def allow_statements(self) -> list[Json]:
        return [
            statement
            for policy in self.policies
            for statement in _as_list(policy.get("Statement", []))
            if statement.get("Effect") == "Allow"
        ]


def wildcard_actions(role: Role) -> list[str]:
    """Every Allow of ``role`` that grants ``*``, ``service:*`` or uses NotAction."""
    found: list[str] = []
    for statement in role.allow_statements():
        if "NotAction" in statement:
            found.append(f"NotAction {statement['NotAction']!r} in {statement.get('Sid')}")
        for action in _as_list(statement.get("Action", [])):
            if action == "*" or action.split(":", 1)[-1] == "*":
                found.append(f"{action} in {statement.get('Sid')}")
    return found


@dataclass(frozen=True)
class LambdaFunction:
    """One Lambda function of the template, with the role it runs as."""

    logical_id: str
    arn: str
    description: str | None
    role: Role
    log_group_arn: str | None  # the ARN CloudFormation reports, ending in ":*"


@dataclass(frozen=True)
class Query:
    """One request of a role (or, with ``policies`` set, of an arbitrary policy set)."""

    role: Role | str
    action: str
    resource: str
    context: Context = field(default_factory=dict)


class PolicyMatrix:
    """Answers "may this role do this action on this resource?" for one synthesized template.

    Same-account semantics: a request is allowed if an identity policy or the resource's policy
    allows it and nothing denies it. Resource policies modelled: S3 bucket policies, KMS key
    policies (always passed for kms actions on a key of the template: KMS needs the key policy
    to allow, directly or by delegating to the account), ECR repository policies and role trust
    policies (for sts:AssumeRole* on a role of the template).

    With ``stacks`` (templates by CloudFormation stack name, see ``for_stack``), the template's
    ``Fn::GetStackOutput`` references resolve into those stacks, and their resource policies
    (e.g. the bucket and key policies of a foundation stack) apply as well; roles are still
    only those of ``template``.
    """

    def __init__(
        self,
        template: Mapping[str, Json],
        settings: Settings | None = None,
        *,
        account: str | None = None,
        region: str | None = None,
        stack_name: str = "stack",
        stacks: Mapping[str, Mapping[str, Json]] | None = None,
        stack_names: Mapping[str, str] | None = None,
    ) -> None:
        self.account = account or (settings.account if settings else None) or FAKE_ACCOUNT
        self.region = region or (settings.region if settings else None) or DEFAULT_REGION
        environment = {"account": self.account, "region": self.region}
        self.stack = matrix_stack(template, name=stack_name, **environment)
        # The template's own stack first: policies are collected in this order.
        self._sources = [
            self.stack,
            *(
                matrix_stack(other, name=name, **environment)
                for name, other in sorted((stacks or {}).items())
                if name != stack_name
            ),
        ]
        self.resolver = matrix_resolver(self._sources)
        # Artifact ID (e.g. "Foundation") -> CloudFormation stack name, for stack_output().
        self.stack_names: Mapping[str, str] = stack_names or {}
        self.bucket_policies = self._bucket_policies()
        self.key_policies = self._key_policies()
        self.repository_policies = self._repository_policies()
        self.trust_policies = {
            self._arn(source, logical_id): self._resolve(
                role["Properties"]["AssumeRolePolicyDocument"], source
            )
            for source in self._sources
            for logical_id, role in source.resources_of_type("AWS::IAM::Role")
        }
        self._roles: dict[str, Role] = {}

    @classmethod
    def for_stack(
        cls,
        directory: Path,
        artifact_id: str,
        settings: Settings | None = None,
        **kwargs: Any,
    ) -> PolicyMatrix:
        """The matrix of one stack of a synthesized cloud assembly, with every other stack of
        the assembly available to ``Fn::GetStackOutput`` and as a source of resource policies."""
        artifacts = read_assembly(directory, nested=False).by_id()
        if artifact_id not in artifacts:
            raise KeyError(f"no stack {artifact_id!r} in {directory}; it has {sorted(artifacts)}")
        stacks = {artifact.stack_name: artifact.template for artifact in artifacts.values()}
        if len(stacks) != len(artifacts):
            raise ValueError(f"two stacks of {directory} share a stack name")
        return cls(
            artifacts[artifact_id].template,
            settings,
            stack_name=artifacts[artifact_id].stack_name,
            stacks=stacks,
            stack_names={key: artifact.stack_name for key, artifact in artifacts.items()},
            **kwargs,
        )

    # -- the template -----------------------------------------------------------------------

    @property
    def template(self) -> Mapping[str, Json]:
        return self.stack.template

    def resolve(self, value: Json) -> Json:
        """``value`` of the template with every intrinsic resolved."""
        return self._resolve(value, self.stack)

    def resources_of_type(self, resource_type: str) -> dict[str, Json]:
        return dict(self.stack.resources_of_type(resource_type))

    # -- handles ----------------------------------------------------------------------------

    def output(self, name: str) -> Json:
        outputs = self.template.get("Outputs", {})
        if name not in outputs:
            raise KeyError(f"the template has no output {name!r}; it has {sorted(outputs)}")
        return self.resolve(outputs[name]["Value"])

    def stack_output(self, stack: str, name: str) -> Json:
        """Output ``name`` of another stack (artifact ID or stack name), resolved there."""
        reference = {"StackName": self.stack_names.get(stack, stack), "OutputName": name}
        return self.resolve({"Fn::GetStackOutput": reference})

    def lambda_functions(self) -> list[LambdaFunction]:
        return [
            self._lambda_function(logical_id)
            for logical_id, _ in self.stack.resources_of_type("AWS::Lambda::Function")
        ]

    def lambda_function(self, description: str) -> LambdaFunction:
        """The one Lambda function of the template whose Description is ``description``."""
        matches = [
            function for function in self.lambda_functions() if function.description == description
        ]
        if len(matches) != 1:
            raise LookupError(f"{len(matches)} Lambda functions are described as {description!r}")
        return matches[0]

    def role_from_output(self, output_name: str) -> Role:
        """The role whose ARN the stack exports under ``output_name``."""
        return self.role_by_arn(str(self.output(output_name)))

    def role_by_arn(self, arn: str) -> Role:
        matches = [
            logical_id
            for logical_id, _ in self.stack.resources_of_type("AWS::IAM::Role")
            if self._arn(self.stack, logical_id) == arn
        ]
        if len(matches) != 1:
            raise LookupError(f"{len(matches)} AWS::IAM::Role resources have the ARN {arn}")
        return self.role(matches[0])

    def roles_trusting_service(self, service: str) -> list[Role]:
        """Roles whose trust policy lets ``service`` (e.g. sagemaker.amazonaws.com) assume them."""
        found = []
        for logical_id, resource in self.stack.resources_of_type("AWS::IAM::Role"):
            trust = self.resolve(resource["Properties"]["AssumeRolePolicyDocument"])
            services = {
                name
                for statement in _as_list(trust.get("Statement", []))
                if statement.get("Effect") == "Allow"
                and isinstance(statement.get("Principal"), dict)
                for name in _as_list(statement["Principal"].get("Service", []))
            }
            if service in services:
                found.append(self.role(logical_id))
        return found

    def role(self, logical_id: str) -> Role:
        if logical_id not in self._roles:
            self._roles[logical_id] = self._collect_role(logical_id)
        return self._roles[logical_id]

    def roles(self) -> list[Role]:
        """Every IAM role of the template."""
        return [
            self.role(logical_id)
            for logical_id, _ in self.stack.resources_of_type("AWS::IAM::Role")
        ]

    # -- evaluation -------------------------------------------------------------------------

    def resource_policy_for(self, action: str, resource: str) -> Json | None:
        service = action.split(":", 1)[0].lower()
        if service == "s3" and resource.startswith(f"arn:{self.stack.partition}:s3:::"):
            bucket = resource.split(":::", 1)[1].split("/", 1)[0]
            return self.bucket_policies.get(bucket)
        if service == "kms":
            return self.key_policies.get(resource)
        if service == "ecr":
            return self.repository_policies.get(resource)
        if service == "sts" and action.lower().startswith("sts:assumerole"):
            return self.trust_policies.get(resource)
        return None

    def request(self, query: Query) -> dict[str, Json]:
        """The simulator's input for ``query`` (see iam_sim.mjs)."""
        role = self.role_from_output(query.role) if isinstance(query.role, str) else query.role
        request: dict[str, Json] = {
            "principal": role.session_arn,
            "policies": list(role.policies),
            "action": query.action,
            "resource": query.resource,
            "account": self.resource_account(query.resource),
            "context": {**DEFAULT_CONTEXT, **query.context},
        }
        resource_policy = self.resource_policy_for(query.action, query.resource)
        if resource_policy is not None:
            request["resourcePolicy"] = resource_policy
        return request

    def resource_account(self, resource: str) -> str:
        # S3 ARNs carry no account: a bucket that is not ours is treated as same-account, the
        # case where an identity policy alone would suffice (so over-broad grants show up).
        parts = resource.split(":")
        return parts[4] if len(parts) > 4 and parts[4] else self.account

    def evaluate(self, queries: Iterable[Query | tuple[Any, ...]]) -> list[str]:
        """One verdict per query, all evaluated in a single node process."""
        requests = [
            self.request(query if isinstance(query, Query) else Query(*query)) for query in queries
        ]
        verdicts = simulate(requests)
        raise_on_errors(requests, verdicts)
        return verdicts

    # -- collection -------------------------------------------------------------------------

    def _resolve(self, value: Json, stack: Stack) -> Json:
        return self.resolver.resolve(value, stack, stack.name)

    def _arn(self, stack: Stack, logical_id: str) -> str:
        return str(self._resolve({"Fn::GetAtt": [logical_id, "Arn"]}, stack))

    def _collect_role(self, logical_id: str) -> Role:
        resource = self.stack.resources[logical_id]
        if resource.get("Type") != "AWS::IAM::Role":
            raise LookupError(f"{logical_id} is a {resource.get('Type')}, not an IAM role")
        props = resource.get("Properties", {})
        if props.get("ManagedPolicyArns"):
            raise ValueError(
                f"role {logical_id} has managed policies attached ({props['ManagedPolicyArns']}); "
                "their documents are not in the template, so the matrix cannot evaluate them"
            )
        if props.get("PermissionsBoundary"):
            raise ValueError(f"role {logical_id} has a permissions boundary: not modelled")
        name = self.resolve({"Ref": logical_id})
        policies = [self.resolve(policy["PolicyDocument"]) for policy in props.get("Policies", [])]
        for policy_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for _, policy in self.stack.resources_of_type(policy_type):
                policy_props = policy.get("Properties", {})
                if name in self.resolve(policy_props.get("Roles", [])):
                    policies.append(self.resolve(policy_props["PolicyDocument"]))
        description = self.resolve(props["Description"]) if "Description" in props else None
        return Role(
            logical_id=logical_id,
            name=name,
            arn=self._arn(self.stack, logical_id),
            trust_policy=self.resolve(props["AssumeRolePolicyDocument"]),
            policies=tuple(policies),
            description=description,
        )

    def _lambda_function(self, logical_id: str) -> LambdaFunction:
        props = self.stack.resources[logical_id].get("Properties", {})
        log_group_arn = None
        log_group = props.get("LoggingConfig", {}).get("LogGroup")
        if log_group is not None:
            log_group_name = str(self.resolve(log_group))
            groups = [
                group_id
                for group_id, _ in self.stack.resources_of_type("AWS::Logs::LogGroup")
                if self.resolve({"Ref": group_id}) == log_group_name
            ]
            stack = self.stack
            log_group_arn = (
                self._arn(stack, groups[0])
                if len(groups) == 1
                else f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:"
                f"log-group:{log_group_name}:*"
            )
        description = props.get("Description")
        return LambdaFunction(
            logical_id=logical_id,
            arn=self._arn(self.stack, logical_id),
            description=None if description is None else str(self.resolve(description)),
            role=self.role_by_arn(str(self.resolve(props["Role"]))),
            log_group_arn=log_group_arn,
        )

    def _bucket_policies(self) -> dict[str, Json]:
        policies: dict[str, Json] = {}
        for source in self._sources:
            for _, policy in source.resources_of_type("AWS::S3::BucketPolicy"):
                props = policy["Properties"]
                bucket = str(self._resolve(props["Bucket"], source))
                if bucket in policies:
                    raise ValueError(f"two bucket policies for {bucket}")
                policies[bucket] = self._resolve(props["PolicyDocument"], source)
        return policies

    def _key_policies(self) -> dict[str, Json]:
        return {
            self._arn(source, logical_id): self._resolve(key["Properties"]["KeyPolicy"], source)
            for source in self._sources
            for logical_id, key in source.resources_of_type("AWS::KMS::Key")
        }

    def _repository_policies(self) -> dict[str, Json]:
        return {
            self._arn(source, logical_id): self._resolve(
                repository["Properties"]["RepositoryPolicyText"], source
            )
            for source in self._sources
            for logical_id, repository in source.resources_of_type("AWS::ECR::Repository")
            if "RepositoryPolicyText" in repository.get("Properties", {})
        }


def simulate(requests: Sequence[Mapping[str, Json]], *, timeout: float = 60) -> list[str]:
    """Raw verdicts for simulator requests (see iam_sim.mjs), all from one node process.

    A verdict is "Allowed", "ImplicitlyDenied", "ExplicitlyDenied" or "ERROR ..." when the
    simulator rejected the request; ``raise_on_errors`` turns the latter into a failure.
    """
    if not requests:
        return []
    completed = subprocess.run(
        ["node", str(SIMULATOR)],
        input=json.dumps(list(requests)),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=node_offline_env(),
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise SimulationError(f"iam_sim.mjs exited {completed.returncode}: {completed.stderr}")
    verdicts: list[str] = json.loads(completed.stdout)
    if len(verdicts) != len(requests):
        raise SimulationError(f"{len(requests)} requests but {len(verdicts)} verdicts")
    return verdicts


def raise_on_errors(requests: Sequence[Mapping[str, Json]], verdicts: Sequence[str]) -> None:
    """Fail naming every request the simulator rejected, so a typo in an action or a malformed
    ARN can never pass for a "denied" verdict."""
    problems = [
        f"{request['action']} on {request['resource']}: {verdict}"
        for request, verdict in zip(requests, verdicts, strict=True)
        if verdict not in RESULTS
    ]
    if problems:
        raise SimulationError("the simulator rejected requests:\n" + "\n".join(problems))
