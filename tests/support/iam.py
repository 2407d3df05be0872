"""Offline evaluation of the synthesized IAM policies with ``@cloud-copilot/iam-simulate``.

A synthesized template is full of CloudFormation intrinsics; the simulator needs concrete ARNs.
``TemplateResolver`` turns every ``Ref``/``Fn::GetAtt``/``Fn::Join``/``Fn::Sub``/``Fn::Select``/
``Fn::Split`` into deterministic fake values (one per logical ID), ``PolicyMatrix`` collects a
role's identity policies and the resource policies (bucket, key, repository policies) that
apply to a request, and ``simulate`` runs a whole batch of requests in one node process.

A stack of a multi-stack app refers to another stack's resources with
``Fn::GetStackOutput``; given the other stacks' templates (``stacks=``, keyed by CloudFormation
stack name, e.g. from ``pipelines.assembly.manifest.read_assembly``) the resolver looks the
named output up in that template and resolves its value there, so both stacks agree on every
ARN and name, and ``PolicyMatrix`` also applies the other stacks' bucket and key policies.

Nothing here hard-codes a logical ID: roles are found through the stack outputs that name them,
through the Lambda functions that use them (``lambda_function``), or any other handle a caller
resolves to a role ARN.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from pipelines.assembly.manifest import read_assembly
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

Json = Any
Context = Mapping[str, str | Sequence[str]]


class SimulationError(AssertionError):
    """The simulator rejected a request (unknown action, malformed ARN, ...) or crashed."""


class UnresolvableError(ValueError):
    """The template uses an intrinsic or resource type this resolver does not model."""


_NO_VALUE = object()


class TemplateResolver:
    """Resolves intrinsics to concrete, deterministic values for one template."""

    def __init__(
        self,
        template: Mapping[str, Json],
        *,
        account: str = FAKE_ACCOUNT,
        region: str = DEFAULT_REGION,
        partition: str = "aws",
        stack_name: str = "stack",
        stacks: Mapping[str, Mapping[str, Json]] | None = None,
    ) -> None:
        """``stacks``: the templates of the app's stacks by CloudFormation stack name, for
        ``Fn::GetStackOutput`` (this template may be among them)."""
        self.template = template
        self.resources: Mapping[str, Json] = template.get("Resources", {})
        self.parameters: Mapping[str, Json] = template.get("Parameters", {})
        self.account = account
        self.region = region
        self.partition = partition
        self.pseudo = {
            "AWS::AccountId": account,
            "AWS::Region": region,
            "AWS::Partition": partition,
            "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
            "AWS::StackName": stack_name,
        }
        self.stack_name = stack_name
        self.stacks: Mapping[str, Mapping[str, Json]] = stacks or {}
        self._stack_resolvers: dict[tuple[str, str], TemplateResolver] = {}

    # -- public -----------------------------------------------------------------------------

    def resolve(self, value: Json) -> Json:
        """``value`` with every intrinsic replaced by a concrete value."""
        resolved = self._resolve(value)
        if resolved is _NO_VALUE:
            raise UnresolvableError("the value resolves to AWS::NoValue")
        return resolved

    def resources_of_type(self, resource_type: str) -> dict[str, Json]:
        return {
            logical_id: resource
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == resource_type
        }

    def stack_resolver(self, stack_name: str, region: str | None = None) -> TemplateResolver:
        """The resolver of another stack of the app (same account and partition)."""
        region = region or self.region
        if stack_name == self.stack_name and region == self.region:
            return self
        if stack_name not in self.stacks:
            raise UnresolvableError(
                f"no template for stack {stack_name!r}; known stacks: {sorted(self.stacks)}"
            )
        if (stack_name, region) not in self._stack_resolvers:
            self._stack_resolvers[stack_name, region] = TemplateResolver(
                self.stacks[stack_name],
                account=self.account,
                region=region,
                partition=self.partition,
                stack_name=stack_name,
                stacks=self.stacks,
            )
        return self._stack_resolvers[stack_name, region]

    def ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            default = self.parameters[name].get("Default")
            if default is None:
                raise UnresolvableError(f"parameter {name} has no default")
            return str(default)
        resource = self._resource(name)
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::S3::Bucket":
            return self._bucket_name(name, props)
        if kind == "AWS::IAM::Role":
            return str(self.resolve(props["RoleName"])) if "RoleName" in props else name
        if kind == "AWS::KMS::Key":
            return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kms-key/{name}"))
        if kind == "AWS::ECR::Repository":
            return self._repository_name(name, props)
        if kind == "AWS::Lambda::Function":
            return str(self.resolve(props["FunctionName"])) if "FunctionName" in props else name
        if kind == "AWS::Logs::LogGroup":
            return str(self.resolve(props["LogGroupName"])) if "LogGroupName" in props else name
        if kind == "AWS::IAM::OIDCProvider":
            host = urlparse(str(self.resolve(props["Url"]))).netloc
            return f"arn:{self.partition}:iam::{self.account}:oidc-provider/{host}"
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::KMS::Alias"):
            return name
        raise UnresolvableError(f"Ref of {name} ({kind}) is not modelled")

    def get_att(self, name: str, attribute: str) -> str:
        resource = self._resource(name)
        kind, props = resource["Type"], resource.get("Properties", {})
        if attribute == "Arn":
            if kind == "AWS::S3::Bucket":
                return f"arn:{self.partition}:s3:::{self.ref(name)}"
            if kind == "AWS::IAM::Role":
                path = str(self.resolve(props.get("Path", "/")))
                return f"arn:{self.partition}:iam::{self.account}:role{path}{self.ref(name)}"
            if kind == "AWS::KMS::Key":
                return f"arn:{self.partition}:kms:{self.region}:{self.account}:key/{self.ref(name)}"
            if kind == "AWS::ECR::Repository":
                return (
                    f"arn:{self.partition}:ecr:{self.region}:{self.account}:"
                    f"repository/{self.ref(name)}"
                )
            if kind == "AWS::Lambda::Function":
                return (
                    f"arn:{self.partition}:lambda:{self.region}:{self.account}:"
                    f"function:{self.ref(name)}"
                )
            if kind == "AWS::Logs::LogGroup":
                # What CloudFormation returns for a log group: the ARN with a trailing ":*".
                return (
                    f"arn:{self.partition}:logs:{self.region}:{self.account}:"
                    f"log-group:{self.ref(name)}:*"
                )
        if kind == "AWS::KMS::Key" and attribute == "KeyId":
            return self.ref(name)
        if kind == "AWS::IAM::Role" and attribute == "RoleId":
            return "AROA" + uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:17].upper()
        if kind == "AWS::ECR::Repository" and attribute == "RepositoryUri":
            return (
                f"{self.account}.dkr.ecr.{self.region}.{self.pseudo['AWS::URLSuffix']}/"
                f"{self.ref(name)}"
            )
        if kind == "AWS::S3::Bucket" and attribute == "DomainName":
            return f"{self.ref(name)}.s3.{self.pseudo['AWS::URLSuffix']}"
        raise UnresolvableError(f"Fn::GetAtt {name}.{attribute} ({kind}) is not modelled")

    def output(self, name: str) -> Json:
        outputs = self.template.get("Outputs", {})
        if name not in outputs:
            raise KeyError(f"the template has no output {name!r}; it has {sorted(outputs)}")
        return self.resolve(outputs[name]["Value"])

    def logical_id_of_arn(self, arn: str, resource_type: str) -> str:
        """The logical ID of the resource of ``resource_type`` whose resolved ARN is ``arn``."""
        matches = [
            logical_id
            for logical_id in self.resources_of_type(resource_type)
            if self.get_att(logical_id, "Arn") == arn
        ]
        if len(matches) != 1:
            raise LookupError(f"{len(matches)} {resource_type} resources have the ARN {arn}")
        return matches[0]

    # -- internals --------------------------------------------------------------------------

    def _resource(self, name: str) -> Json:
        if name not in self.resources:
            raise UnresolvableError(f"no resource or parameter named {name}")
        return self.resources[name]

    def _bucket_name(self, logical_id: str, props: Mapping[str, Json]) -> str:
        if "BucketName" in props:
            return str(self.resolve(props["BucketName"]))
        return logical_id.lower()[:63]

    def _repository_name(self, logical_id: str, props: Mapping[str, Json]) -> str:
        if "RepositoryName" in props:
            return str(self.resolve(props["RepositoryName"]))
        return logical_id.lower()

    def _resolve(self, value: Json) -> Json:
        if isinstance(value, list):
            items = [self._resolve(item) for item in value]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return _NO_VALUE if argument == "AWS::NoValue" else self.ref(argument)
            if key.startswith("Fn::"):
                return self._intrinsic(key, argument)
        resolved = {key: self._resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def _intrinsic(self, key: str, argument: Json) -> Json:
        if key == "Fn::GetAtt":
            name, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            return self.get_att(name, self._resolve(attribute))
        if key == "Fn::Join":
            separator, parts = argument
            return str(separator).join(str(part) for part in self._resolve(parts))
        if key == "Fn::Select":
            index, items = argument
            return self._resolve(items)[int(self._resolve(index))]
        if key == "Fn::Split":
            separator, text = argument
            return str(self._resolve(text)).split(separator)
        if key == "Fn::Sub":
            return self._sub(argument)
        if key == "Fn::GetStackOutput":
            return self._stack_output(argument)
        raise UnresolvableError(f"intrinsic {key} is not modelled")

    def _stack_output(self, argument: Json) -> Json:
        reference = self._resolve(argument)
        if not isinstance(reference, dict) or set(reference) - {
            "StackName",
            "OutputName",
            "Region",
        }:
            # A RoleArn would mean another account: not modelled.
            raise UnresolvableError(f"Fn::GetStackOutput {argument!r} is not modelled")
        other = self.stack_resolver(str(reference["StackName"]), reference.get("Region"))
        return other.output(str(reference["OutputName"]))

    def _sub(self, argument: Json) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {name: self._resolve(value) for name, value in variables.items()}

        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"
            if expression in values:
                return str(values[expression])
            if "." in expression and expression not in self.pseudo:
                name, attribute = expression.split(".", 1)
                return self.get_att(name, attribute)
            return self.ref(expression)

        return re.sub(r"\$\{([^}]*)\}", replace, text)


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
        self.resolver = TemplateResolver(
            template,
            account=self.account,
            region=self.region,
            stack_name=stack_name,
            stacks=stacks,
        )
        # Artifact ID (e.g. "Foundation") -> CloudFormation stack name, for stack_output().
        self.stack_names: Mapping[str, str] = stack_names or {}
        self._sources = [
            self.resolver,
            *(
                self.resolver.stack_resolver(name)
                for name in sorted(stacks or {})
                if name != stack_name
            ),
        ]
        self.bucket_policies = self._bucket_policies()
        self.key_policies = self._key_policies()
        self.repository_policies = self._repository_policies()
        self.trust_policies = {
            source.get_att(logical_id, "Arn"): source.resolve(
                role["Properties"]["AssumeRolePolicyDocument"]
            )
            for source in self._sources
            for logical_id, role in source.resources_of_type("AWS::IAM::Role").items()
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

    # -- handles ----------------------------------------------------------------------------

    def output(self, name: str) -> Json:
        return self.resolver.output(name)

    def stack_output(self, stack: str, name: str) -> Json:
        """Output ``name`` of another stack (artifact ID or stack name), resolved there."""
        return self.resolver.stack_resolver(self.stack_names.get(stack, stack)).output(name)

    def lambda_functions(self) -> list[LambdaFunction]:
        return [
            self._lambda_function(logical_id)
            for logical_id in self.resolver.resources_of_type("AWS::Lambda::Function")
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
        logical_id = self.resolver.logical_id_of_arn(arn, "AWS::IAM::Role")
        return self.role(logical_id)

    def roles_trusting_service(self, service: str) -> list[Role]:
        """Roles whose trust policy lets ``service`` (e.g. sagemaker.amazonaws.com) assume them."""
        found = []
        for logical_id, resource in self.resolver.resources_of_type("AWS::IAM::Role").items():
            trust = self.resolver.resolve(resource["Properties"]["AssumeRolePolicyDocument"])
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
            for logical_id in self.resolver.resources_of_type("AWS::IAM::Role")
        ]

    # -- evaluation -------------------------------------------------------------------------

    def resource_policy_for(self, action: str, resource: str) -> Json | None:
        service = action.split(":", 1)[0].lower()
        if service == "s3" and resource.startswith(f"arn:{self.resolver.partition}:s3:::"):
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

    def _collect_role(self, logical_id: str) -> Role:
        resolver = self.resolver
        resource = resolver.resources[logical_id]
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
        name = resolver.ref(logical_id)
        policies = [
            resolver.resolve(policy["PolicyDocument"]) for policy in props.get("Policies", [])
        ]
        for policy_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for policy in resolver.resources_of_type(policy_type).values():
                policy_props = policy.get("Properties", {})
                if name in resolver.resolve(policy_props.get("Roles", [])):
                    policies.append(resolver.resolve(policy_props["PolicyDocument"]))
        description = resolver.resolve(props["Description"]) if "Description" in props else None
        return Role(
            logical_id=logical_id,
            name=name,
            arn=resolver.get_att(logical_id, "Arn"),
            trust_policy=resolver.resolve(props["AssumeRolePolicyDocument"]),
            policies=tuple(policies),
            description=description,
        )

    def _lambda_function(self, logical_id: str) -> LambdaFunction:
        resolver = self.resolver
        props = resolver.resources[logical_id].get("Properties", {})
        log_group_arn = None
        log_group = props.get("LoggingConfig", {}).get("LogGroup")
        if log_group is not None:
            log_group_name = str(resolver.resolve(log_group))
            groups = [
                group_id
                for group_id in resolver.resources_of_type("AWS::Logs::LogGroup")
                if resolver.ref(group_id) == log_group_name
            ]
            log_group_arn = (
                resolver.get_att(groups[0], "Arn")
                if len(groups) == 1
                else f"arn:{resolver.partition}:logs:{resolver.region}:{resolver.account}:"
                f"log-group:{log_group_name}:*"
            )
        description = props.get("Description")
        return LambdaFunction(
            logical_id=logical_id,
            arn=resolver.get_att(logical_id, "Arn"),
            description=None if description is None else str(resolver.resolve(description)),
            role=self.role_by_arn(str(resolver.resolve(props["Role"]))),
            log_group_arn=log_group_arn,
        )

    def _bucket_policies(self) -> dict[str, Json]:
        policies: dict[str, Json] = {}
        for source in self._sources:
            for policy in source.resources_of_type("AWS::S3::BucketPolicy").values():
                props = policy["Properties"]
                bucket = str(source.resolve(props["Bucket"]))
                if bucket in policies:
                    raise ValueError(f"two bucket policies for {bucket}")
                policies[bucket] = source.resolve(props["PolicyDocument"])
        return policies

    def _key_policies(self) -> dict[str, Json]:
        return {
            source.get_att(logical_id, "Arn"): source.resolve(key["Properties"]["KeyPolicy"])
            for source in self._sources
            for logical_id, key in source.resources_of_type("AWS::KMS::Key").items()
        }

    def _repository_policies(self) -> dict[str, Json]:
        return {
            source.get_att(logical_id, "Arn"): source.resolve(
                repository["Properties"]["RepositoryPolicyText"]
            )
            for source in self._sources
            for logical_id, repository in source.resources_of_type("AWS::ECR::Repository").items()
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
