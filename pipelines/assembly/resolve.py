"""The one CloudFormation intrinsic resolver, in two modes.

``concrete`` (the local run) gives each token the value a local "deployment" would have.
``placeholder`` (the review, and tests that compare templates) gives each token a stable,
readable string such as ``${Ref:AWS::AccountId}``, so two templates compare equal exactly when
they would deploy the same thing, whatever account or region they end up in.

In concrete mode every stack gets one account (its own, or ``000000000000`` when synthesized
environment-agnostic) and its region. Physical names come from the resource's own name property
when it has one and are otherwise derived from the stack and logical ID; ARNs are built from
those names in each service's ARN format. The same assembly therefore always resolves to the
same values, and an ARN the definition carries (a Lambda function, the execution role) can be
traced back to the resource that produced it.

Two choices are the caller's. ``names`` gives the physical name of a resource whose template
leaves it to CloudFormation (the local run keeps names unique across stacks; the IAM matrix
names a resource after its logical ID). ``strict`` makes a Ref, attribute or parameter the
resolver has no CloudFormation value for an error, where the local run would rather go on with
a stand-in: a policy evaluated against an invented ARN proves nothing.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlparse

LOCAL_ACCOUNT = "000000000000"

# The property that carries a resource's physical name, where CloudFormation lets you set one.
_NAME_PROPERTIES = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SageMaker::ModelPackageGroup": "ModelPackageGroupName",
    "AWS::SageMaker::Pipeline": "PipelineName",
    "AWS::KMS::Alias": "AliasName",
}

# ARN layouts by resource type: {p}artition, {r}egion, {a}ccount, {n}ame.
_ARN_FORMATS = {
    "AWS::Lambda::Function": "arn:{p}:lambda:{r}:{a}:function:{n}",
    "AWS::IAM::Role": "arn:{p}:iam::{a}:role/{n}",
    "AWS::KMS::Key": "arn:{p}:kms:{r}:{a}:key/{n}",
    "AWS::S3::Bucket": "arn:{p}:s3:::{n}",
    "AWS::ECR::Repository": "arn:{p}:ecr:{r}:{a}:repository/{n}",
    "AWS::Logs::LogGroup": "arn:{p}:logs:{r}:{a}:log-group:{n}:*",
    "AWS::SageMaker::ModelPackageGroup": "arn:{p}:sagemaker:{r}:{a}:model-package-group/{n}",
    "AWS::SageMaker::Pipeline": "arn:{p}:sagemaker:{r}:{a}:pipeline/{n}",
}

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_NO_VALUE = object()

Mode = Literal["concrete", "placeholder"]


class UnresolvableError(ValueError):
    """A token names what the assembly does not hold, or uses a function not modelled here."""


def is_token(node: Any) -> bool:
    """A CloudFormation intrinsic: a one-key object whose key is Ref, Fn::... or Condition."""
    if not isinstance(node, Mapping) or len(node) != 1:
        return False
    key = next(iter(node))
    return isinstance(key, str) and (key in ("Ref", "Condition") or key.startswith("Fn::"))


def placeholder(token: Any) -> str:
    """A stable, readable string standing for one CloudFormation token."""
    if isinstance(token, Mapping) and len(token) == 1:
        ((function, argument),) = token.items()
        if function == "Ref" and isinstance(argument, str):
            return f"${{Ref:{argument}}}"
        if function == "Fn::GetAtt" and isinstance(argument, list):
            return f"${{GetAtt:{'.'.join(map(str, argument))}}}"
        if function == "Fn::Sub" and isinstance(argument, str):
            return f"${{Sub:{argument}}}"
        if function == "Fn::GetStackOutput" and isinstance(argument, Mapping):
            return f"${{GetStackOutput:{argument.get('StackName')}.{argument.get('OutputName')}}}"
        if function == "Fn::ImportValue" and isinstance(argument, str):
            return f"${{ImportValue:{argument}}}"
        short = function.removeprefix("Fn::")
        return f"${{{short}:{json.dumps(argument, sort_keys=True, separators=(',', ':'))}}}"
    return f"${{{json.dumps(token, sort_keys=True, separators=(',', ':'))}}}"


@dataclass(frozen=True)
class Stack:
    """One stack artifact of the assembly."""

    artifact_id: str
    name: str
    region: str
    account: str
    template: Mapping[str, Any] = field(repr=False)

    @property
    def partition(self) -> str:
        if self.region.startswith("cn-"):
            return "aws-cn"
        if self.region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    @property
    def url_suffix(self) -> str:
        return "amazonaws.com.cn" if self.region.startswith("cn-") else "amazonaws.com"

    @property
    def resources(self) -> Mapping[str, Any]:
        resources: Mapping[str, Any] = self.template.get("Resources") or {}
        return resources

    def resources_of_type(self, resource_type: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        for logical_id, resource in self.resources.items():
            if isinstance(resource, Mapping) and resource.get("Type") == resource_type:
                yield logical_id, resource


# (stack, logical ID, resource type) -> the physical name CloudFormation would generate.
NameRule = Callable[[Stack, str, str], str]


def stack_scoped_name(stack: Stack, logical_id: str, resource_type: str) -> str:
    """The local run's generated name: unique across the assembly's stacks."""
    # Bucket names must be lowercase; keep every generated name that way for simplicity.
    return f"{stack.name}-{logical_id}".lower()[:63]


@dataclass(frozen=True)
class _Target:
    """The resource a Ref or Fn::GetAtt names, as the value rules below see it."""

    resolver: Resolver
    stack: Stack
    logical_id: str
    where: str

    @property
    def type(self) -> str:
        return str(self.stack.resources[self.logical_id].get("Type"))

    def resolved(self, name: str) -> str | None:
        """The resource's property ``name`` resolved, None when it is not set."""
        properties = self.stack.resources[self.logical_id].get("Properties") or {}
        if name not in properties:
            return None
        return self.resolver.resolve_text(properties[name], self.stack, f"{self.where} ({name})")

    @property
    def name(self) -> str:
        """The physical name: the resource's own, else the one the resolver's rule gives."""
        if self.type in _NAME_PROPERTIES:
            own = self.resolved(_NAME_PROPERTIES[self.type])
            if own is not None:
                return own
        return self.resolver.names(self.stack, self.logical_id, self.type)

    @property
    def unique_id(self) -> str:
        """A UUID only this resource of this stack and account gets: a key's ID, say."""
        stack = self.stack
        return str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{stack.account}/{stack.name}/{self.logical_id}")
        )

    def arn(self) -> str | None:
        """The resource's ARN, None where no ARN layout is known for its type."""
        layout = _ARN_FORMATS.get(self.type)
        if layout is None:
            return None
        if self.type == "AWS::KMS::Key":
            name = self.unique_id
        elif self.type == "AWS::IAM::Role":
            # A role's path is part of its ARN: role/<path without its leading slash><name>.
            name = (self.resolved("Path") or "/")[1:] + self.name
        else:
            name = self.name
        stack = self.stack
        return layout.format(p=stack.partition, r=stack.region, a=stack.account, n=name)


def _oidc_provider_arn(target: _Target) -> str:
    host = urlparse(target.resolved("Url") or "").netloc
    return f"arn:{target.stack.partition}:iam::{target.stack.account}:oidc-provider/{host}"


def _role_id(target: _Target) -> str:
    # Role IDs start AROA; the rest only has to be stable and unique to the role.
    return "AROA" + target.unique_id.replace("-", "")[:17].upper()


def _repository_uri(target: _Target) -> str:
    stack = target.stack
    return f"{stack.account}.dkr.ecr.{stack.region}.{stack.url_suffix}/{target.name}"


# Fn::GetAtt values other than Arn, by (resource type, attribute), as CloudFormation documents.
_ATTRIBUTES: dict[tuple[str, str], Callable[[_Target], str]] = {
    ("AWS::KMS::Key", "KeyId"): lambda target: target.unique_id,
    ("AWS::IAM::Role", "RoleId"): _role_id,
    ("AWS::ECR::Repository", "RepositoryUri"): _repository_uri,
    ("AWS::S3::Bucket", "DomainName"): lambda target: f"{target.name}.s3.{target.stack.url_suffix}",
}

# Ref values other than the physical name, by resource type, as CloudFormation documents.
_REFS: dict[str, Callable[[_Target], str]] = {
    "AWS::KMS::Key": lambda target: target.unique_id,
    "AWS::IAM::OIDCProvider": _oidc_provider_arn,
}


class Resolver:
    """Resolves intrinsics of any stack in the assembly; remembers which resource each ARN
    it produced belongs to. In placeholder mode no stack is read: ``stacks`` may be empty.

    ``names`` and ``strict``: see the module's docstring."""

    def __init__(
        self,
        stacks: list[Stack],
        *,
        mode: Mode = "concrete",
        names: NameRule = stack_scoped_name,
        strict: bool = False,
    ) -> None:
        self.stacks = stacks
        self.mode = mode
        self.names = names
        self.strict = strict
        self.arn_owners: dict[str, tuple[Stack, str]] = {}
        self._elsewhere: dict[tuple[str, str], Stack] = {}

    def resolve(self, node: Any, stack: Stack | None = None, where: str = "") -> Any:
        """``node`` with every intrinsic replaced by its local value or its placeholder."""
        resolved = self._resolve(node, stack, where)
        if resolved is _NO_VALUE:
            raise UnresolvableError(f"{where}: the value is AWS::NoValue")
        return resolved

    def resolve_text(self, node: Any, stack: Stack | None, where: str) -> str:
        value = self.resolve(node, stack, where)
        if not isinstance(value, str):
            raise UnresolvableError(f"{where}: expected a string, got {type(value).__name__}")
        return value

    def _resolve(self, node: Any, stack: Stack | None, where: str) -> Any:
        if isinstance(node, list):
            resolved = [self._resolve(item, stack, where) for item in node]
            return [item for item in resolved if item is not _NO_VALUE]
        if not isinstance(node, Mapping):
            return node
        if is_token(node):
            if self.mode == "placeholder":
                return placeholder(node)
            if stack is None:
                raise UnresolvableError(f"{where}: a concrete value needs the token's stack")
            ((key, value),) = node.items()
            if key == "Ref":
                return self._ref(value, stack, where)
            return self._function(key, value, stack, where)
        resolved_map = {key: self._resolve(value, stack, where) for key, value in node.items()}
        return {key: value for key, value in resolved_map.items() if value is not _NO_VALUE}

    # -- intrinsics ------------------------------------------------------------------------

    def _function(self, name: str, args: Any, stack: Stack, where: str) -> Any:
        if name == "Fn::Join":
            separator, values = _pair(args, name, where)
            parts = self._resolve(values, stack, where)
            return str(separator).join(_text(part, name, where) for part in parts)
        if name == "Fn::Sub":
            return self._sub(args, stack, where)
        if name == "Fn::GetAtt":
            logical_id, attribute = (
                args.split(".", 1) if isinstance(args, str) else _pair(args, name, where)
            )
            attribute = self.resolve_text(attribute, stack, where)
            return self._get_att(str(logical_id), attribute, stack, where)
        if name == "Fn::GetStackOutput":
            return self._stack_output(args, stack, where)
        if name == "Fn::ImportValue":
            return self._import(self.resolve_text(args, stack, where), where)
        if name == "Fn::Select":
            index, values = _pair(args, name, where)
            items = self._resolve(values, stack, where)
            position = int(self.resolve(index, stack, where))
            if not isinstance(items, list) or not 0 <= position < len(items):
                raise UnresolvableError(f"{where}: Fn::Select index {position} out of range")
            return items[position]
        if name == "Fn::Split":
            separator, value = _pair(args, name, where)
            return self.resolve_text(value, stack, where).split(str(separator))
        if name == "Fn::Base64":
            return base64.b64encode(self.resolve_text(args, stack, where).encode()).decode()
        if name == "Fn::GetAZs":
            return [f"{stack.region}{zone}" for zone in "abc"]
        raise UnresolvableError(f"{where}: CloudFormation function {name} is not supported locally")

    def _ref(self, target: Any, stack: Stack, where: str) -> Any:
        if not isinstance(target, str):
            raise UnresolvableError(f"{where}: Ref must name a string, got {target!r}")
        if target.startswith("AWS::"):
            return self._pseudo(target, stack, where)
        parameters = stack.template.get("Parameters") or {}
        if target in parameters:
            if self.strict and "Default" not in parameters[target]:
                raise UnresolvableError(f"{where}: parameter {target} has no default")
            return parameters[target].get("Default", "")
        if target not in stack.resources:
            raise UnresolvableError(f"{where}: Ref to unknown resource {target!r} in {stack.name}")
        resource = _Target(self, stack, target, where)
        rule = _REFS.get(resource.type)
        if rule is not None:
            return rule(resource)
        if self.strict and resource.type not in _NAME_PROPERTIES:
            raise UnresolvableError(f"{where}: Ref of {target} ({resource.type}) is not modelled")
        return resource.name

    def _pseudo(self, name: str, stack: Stack, where: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name == "AWS::StackId":
            return (
                f"arn:{stack.partition}:cloudformation:{stack.region}:{stack.account}:stack/"
                f"{stack.name}/{uuid.uuid5(uuid.NAMESPACE_URL, stack.name)}"
            )
        values: dict[str, Any] = {
            "AWS::AccountId": stack.account,
            "AWS::Region": stack.region,
            "AWS::Partition": stack.partition,
            "AWS::URLSuffix": stack.url_suffix,
            "AWS::StackName": stack.name,
            "AWS::NotificationARNs": [],
        }
        if name not in values:
            raise UnresolvableError(f"{where}: unknown pseudo parameter {name}")
        return values[name]

    def _get_att(self, logical_id: str, attribute: str, stack: Stack, where: str) -> Any:
        if logical_id not in stack.resources:
            raise UnresolvableError(f"{where}: Fn::GetAtt of unknown resource {logical_id!r}")
        target = _Target(self, stack, logical_id, where)
        if attribute == "Arn":
            arn = target.arn()
            if arn is None:
                if self.strict:
                    raise UnresolvableError(
                        f"{where}: the ARN of {logical_id} ({target.type}) is not modelled"
                    )
                service = target.type.split("::")[1].lower() if "::" in target.type else "x"
                arn = (
                    f"arn:{stack.partition}:{service}:{stack.region}:{stack.account}:"
                    f"{logical_id.lower()}/{target.name}"
                )
            self.arn_owners[arn] = (stack, logical_id)
            return arn
        rule = _ATTRIBUTES.get((target.type, attribute))
        if rule is not None:
            return rule(target)
        if self.strict:
            raise UnresolvableError(
                f"{where}: Fn::GetAtt {logical_id}.{attribute} ({target.type}) is not modelled"
            )
        return f"local-{stack.name}-{logical_id}-{attribute}".lower()

    def _sub(self, args: Any, stack: Stack, where: str) -> str:
        if isinstance(args, str):
            template, variables = args, {}
        else:
            template, raw = _pair(args, "Fn::Sub", where)
            variables = self._resolve(raw, stack, where)
        if not isinstance(template, str) or not isinstance(variables, Mapping):
            raise UnresolvableError(f"{where}: malformed Fn::Sub")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _text(variables[name], "Fn::Sub", where)
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return _text(self._get_att(logical_id, attribute, stack, where), "Fn::Sub", where)
            return _text(self._ref(name, stack, where), "Fn::Sub", where)

        return _SUB_VARIABLE.sub(replace, template)

    def _stack_output(self, args: Any, stack: Stack, where: str) -> Any:
        if not isinstance(args, Mapping) or "StackName" not in args or "OutputName" not in args:
            raise UnresolvableError(f"{where}: malformed Fn::GetStackOutput {args!r}")
        if "RoleArn" in args:
            raise UnresolvableError(
                f"{where}: Fn::GetStackOutput with a RoleArn reads another account: not modelled"
            )
        stack_name = self.resolve_text(args["StackName"], stack, where)
        output_name = self.resolve_text(args["OutputName"], stack, where)
        region = self.resolve_text(args["Region"], stack, where) if "Region" in args else None
        producer = self._producer(stack_name, region, where)
        outputs = producer.template.get("Outputs") or {}
        if output_name not in outputs:
            raise UnresolvableError(f"{where}: stack {stack_name} has no output {output_name!r}")
        return self.resolve(outputs[output_name]["Value"], producer, f"{stack_name}.{output_name}")

    def _producer(self, stack_name: str, region: str | None, where: str) -> Stack:
        """The stack ``Fn::GetStackOutput`` reads: by name and, when given, region."""
        named = [each for each in self.stacks if each.name == stack_name]
        if not named:
            raise UnresolvableError(
                f"{where}: Fn::GetStackOutput names stack {stack_name!r}, "
                "which is not in the assembly"
            )
        if region is None:
            return named[0]
        in_region = next((each for each in named if each.region == region), None)
        if in_region is not None:
            return in_region
        # The assembly holds this stack for another region: what the reference reads is the
        # same template deployed in the named one.
        key = (stack_name, region)
        if key not in self._elsewhere:
            self._elsewhere[key] = dataclasses.replace(named[0], region=region)
        return self._elsewhere[key]

    def _import(self, export_name: str, where: str) -> Any:
        for producer in self.stacks:
            for name, output in (producer.template.get("Outputs") or {}).items():
                export = output.get("Export", {}).get("Name")
                if export is not None and self.resolve(export, producer, name) == export_name:
                    return self.resolve(output["Value"], producer, name)
        raise UnresolvableError(f"{where}: no stack in the assembly exports {export_name!r}")


def _pair(args: Any, name: str, where: str) -> tuple[Any, Any]:
    if not isinstance(args, list) or len(args) != 2:
        raise UnresolvableError(f"{where}: {name} takes a list of two items, got {args!r}")
    return args[0], args[1]


def _text(value: Any, name: str, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise UnresolvableError(f"{where}: {name} cannot join a {type(value).__name__}")
    return str(value)
