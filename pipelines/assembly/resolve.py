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
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

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


class Resolver:
    """Resolves intrinsics of any stack in the assembly; remembers which resource each ARN
    it produced belongs to. In placeholder mode no stack is read: ``stacks`` may be empty."""

    def __init__(self, stacks: list[Stack], *, mode: Mode = "concrete") -> None:
        self.stacks = stacks
        self.mode = mode
        self.arn_owners: dict[str, tuple[Stack, str]] = {}

    def resolve(self, node: Any, stack: Stack | None = None, where: str = "") -> Any:
        """``node`` with every intrinsic replaced by its local value or its placeholder."""
        if isinstance(node, list):
            resolved = [self.resolve(item, stack, where) for item in node]
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
        resolved_map = {key: self.resolve(value, stack, where) for key, value in node.items()}
        return {key: value for key, value in resolved_map.items() if value is not _NO_VALUE}

    def resolve_text(self, node: Any, stack: Stack | None, where: str) -> str:
        value = self.resolve(node, stack, where)
        if not isinstance(value, str):
            raise UnresolvableError(f"{where}: expected a string, got {type(value).__name__}")
        return value

    # -- intrinsics ------------------------------------------------------------------------

    def _function(self, name: str, args: Any, stack: Stack, where: str) -> Any:
        if name == "Fn::Join":
            separator, values = _pair(args, name, where)
            parts = self.resolve(values, stack, where)
            return str(separator).join(_text(part, name, where) for part in parts)
        if name == "Fn::Sub":
            return self._sub(args, stack, where)
        if name == "Fn::GetAtt":
            logical_id, attribute = (
                args.split(".", 1) if isinstance(args, str) else _pair(args, name, where)
            )
            return self._get_att(str(logical_id), str(attribute), stack, where)
        if name == "Fn::GetStackOutput":
            return self._stack_output(args, stack, where)
        if name == "Fn::ImportValue":
            return self._import(self.resolve_text(args, stack, where), where)
        if name == "Fn::Select":
            index, values = _pair(args, name, where)
            items = self.resolve(values, stack, where)
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
        pseudo = self._pseudo(target, stack)
        if pseudo is not None:
            return pseudo
        parameters = stack.template.get("Parameters") or {}
        if target in parameters:
            return parameters[target].get("Default", "")
        resource = stack.resources.get(target)
        if resource is None:
            raise UnresolvableError(f"{where}: Ref to unknown resource {target!r} in {stack.name}")
        if resource.get("Type") == "AWS::KMS::Key":
            return _key_id(stack, target)
        return self._physical_name(target, stack, where)

    def _pseudo(self, name: str, stack: Stack) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        values: dict[str, Any] = {
            "AWS::AccountId": stack.account,
            "AWS::Region": stack.region,
            "AWS::Partition": stack.partition,
            "AWS::URLSuffix": stack.url_suffix,
            "AWS::StackName": stack.name,
            "AWS::StackId": (
                f"arn:{stack.partition}:cloudformation:{stack.region}:{stack.account}:stack/"
                f"{stack.name}/{uuid.uuid5(uuid.NAMESPACE_URL, stack.name)}"
            ),
            "AWS::NotificationARNs": [],
        }
        return values.get(name)

    def _physical_name(self, logical_id: str, stack: Stack, where: str) -> str:
        resource = stack.resources[logical_id]
        prop = _NAME_PROPERTIES.get(str(resource.get("Type")))
        if prop and prop in (resource.get("Properties") or {}):
            return self.resolve_text(resource["Properties"][prop], stack, f"{where} ({prop})")
        name = f"{stack.name}-{logical_id}"
        # Bucket names must be lowercase; keep every generated name that way for simplicity.
        return name.lower()[:63]

    def _get_att(self, logical_id: str, attribute: str, stack: Stack, where: str) -> Any:
        resource = stack.resources.get(logical_id)
        if resource is None:
            raise UnresolvableError(f"{where}: Fn::GetAtt of unknown resource {logical_id!r}")
        resource_type = str(resource.get("Type"))
        if attribute == "Arn":
            if resource_type == "AWS::KMS::Key":
                name = _key_id(stack, logical_id)
            else:
                name = self._physical_name(logical_id, stack, where)
            layout = _ARN_FORMATS.get(resource_type)
            if layout is None:
                service = resource_type.split("::")[1].lower() if "::" in resource_type else "x"
                layout = f"arn:{{p}}:{service}:{{r}}:{{a}}:{logical_id.lower()}/{{n}}"
            arn = layout.format(p=stack.partition, r=stack.region, a=stack.account, n=name)
            self.arn_owners[arn] = (stack, logical_id)
            return arn
        if resource_type == "AWS::KMS::Key" and attribute == "KeyId":
            return _key_id(stack, logical_id)
        return f"local-{stack.name}-{logical_id}-{attribute}".lower()

    def _sub(self, args: Any, stack: Stack, where: str) -> str:
        if isinstance(args, str):
            template, variables = args, {}
        else:
            template, raw = _pair(args, "Fn::Sub", where)
            variables = self.resolve(raw, stack, where)
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
        stack_name = self.resolve_text(args["StackName"], stack, where)
        output_name = self.resolve_text(args["OutputName"], stack, where)
        producer = next((s for s in self.stacks if s.name == stack_name), None)
        if producer is None:
            raise UnresolvableError(
                f"{where}: Fn::GetStackOutput names stack {stack_name!r}, "
                "which is not in the assembly"
            )
        outputs = producer.template.get("Outputs") or {}
        if output_name not in outputs:
            raise UnresolvableError(f"{where}: stack {stack_name} has no output {output_name!r}")
        return self.resolve(outputs[output_name]["Value"], producer, f"{stack_name}.{output_name}")

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


def _key_id(stack: Stack, logical_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{stack.account}/{stack.name}/{logical_id}"))
