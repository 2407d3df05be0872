"""The definition against AWS's published JSON schema and against botocore's request shapes.

``pipeline-definition.schema.json`` beside this file is an unmodified copy of AWS's schema:
github.com/aws-sagemaker-mlops/sagemaker-model-building-pipeline-definition-JSON-schema,
``schema/pipeline-definition.schema.json``, main @ b4012b0aa447 (2025-04-03), the schema the
SageMaker Pipelines developer guide links to. The copy keeps CI independent of the shared
reference directory (/work/shared/reference/ here, which also documents the schema's gaps).

The schema is a partial lint that lags the API. Its known gaps are handled below in two
explicit lists, PATCHES (applied before validating) and ALLOWED (errors that may remain); every
other error fails the test, and every allowed error must still occur, so the lists stay exact.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session
import jsonschema
import pytest

from pipelines.assembly.steps import walk_steps
from pipelines.definition.requests import (
    OPERATIONS,
    SHAPELESS,
    RequestShapeError,
    concretize,
    request_problems,
)
from pipelines.definition.spec import SpecError
from tests.pipeline.conftest import (
    ALL_BUILDS,
    MULTICLASS,
    Build,
    Inputs,
    changed_spec,
    offline_build,
)

SCHEMA_PATH = Path(__file__).with_name("pipeline-definition.schema.json")
SHARED_SCHEMA = Path(__file__).resolve().parents[2].parent / (
    "shared/reference/pipeline-definition.schema.json"
)

SCHEMA_DEFINITION_BY_TYPE = {
    "Processing": "ProcessingStep",
    "Training": "TrainingStep",
    "Tuning": "TuningStep",
    "Condition": "ConditionStep",
    "Fail": "FailStep",
    "RegisterModel": "RegisterModelStep",
    "Model": "CreateModelStep",
    "EndpointConfig": "EndpointConfigStep",
    "Endpoint": "EndpointStep",
    "Lambda": "LambdaStep",
}

EXPRESSIONS = ("Get", "Std:Join", "Std:JsonGet")


@pytest.fixture(scope="module")
def builds(request: pytest.FixtureRequest) -> dict[str, Build]:
    """Every build of the session by fixture name: the example, the variant (no spot, data
    capture), no tuning, a multiclass scikit-learn model with its own scripts, a regression."""
    return {name: request.getfixturevalue(name) for name in ALL_BUILDS}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return loaded


# sha256 of AWS's published schema (main @ b4012b0aa447), as copied from shared/reference.
SCHEMA_SHA256 = "35633f4376dda695d1847bd16d72d3b3d9201f0106e75107eafbeef11ef5ce30"


def test_schema_copy_is_the_published_one_and_matches_any_shared_reference() -> None:
    assert hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest() == SCHEMA_SHA256
    # CI clones the project beside shared/; a local checkout may not have it.
    references = [SHARED_SCHEMA] if SHARED_SCHEMA.is_file() else []
    for reference in references:
        assert reference.read_bytes() == SCHEMA_PATH.read_bytes()


# -- schema gaps ----------------------------------------------------------------------------------


def _is_expression(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in EXPRESSIONS


def _only_get_expressions(value: Any) -> Any:
    """README gap "Expressions: only {"Get"} is accepted" (no Std:Join, no Std:JsonGet)."""
    if isinstance(value, dict) and next(iter(value), None) in ("Std:Join", "Std:JsonGet"):
        return {"Get": "Parameters.SchemaPlaceholder"}
    if isinstance(value, dict):
        return {key: _only_get_expressions(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_only_get_expressions(item) for item in value]
    return value


def _one_exception_type_per_retry_policy(step: dict[str, Any]) -> dict[str, Any]:
    """README gap "RetryPolicies[].ExceptionType must be a string, but the SDK emits a list"."""
    if "RetryPolicies" in step:
        step["RetryPolicies"] = [
            {**policy, "ExceptionType": exception}
            for policy in step["RetryPolicies"]
            for exception in policy["ExceptionType"]
        ]
    return step


def _without_property_files(step: dict[str, Any]) -> dict[str, Any]:
    """README gap "PropertyFiles ... are missing" from the step envelope."""
    step.pop("PropertyFiles", None)
    return step


def _without_branches(step: dict[str, Any]) -> dict[str, Any]:
    """README gap "IfSteps/ElseSteps allow only Training, Processing, Transform, RegisterModel
    and Fail": branch steps are validated on their own instead, as every step is."""
    if step["Type"] == "Condition":
        step["Arguments"]["IfSteps"] = []
        step["Arguments"]["ElseSteps"] = []
    return step


def _endpoint_config_type(step: dict[str, Any]) -> dict[str, Any]:
    """README gap "EndpointConfigStep has Type enum ["Endpoint"]"."""
    if step["Type"] == "EndpointConfig":
        step["Type"] = "Endpoint"
    return step


# Applied to every step before validation, in this order. Each is a documented gap (README).
PATCHES: tuple[Callable[[dict[str, Any]], dict[str, Any]], ...] = (
    _only_get_expressions,
    _one_exception_type_per_retry_policy,
    _without_property_files,
    _without_branches,
    _endpoint_config_type,
)


@dataclass(frozen=True)
class Allowed:
    """An error that may remain: validator, path pattern ("*" = any one element), and for
    additionalProperties the unexpected keys that are fine."""

    step_type: str
    path: tuple[str, ...]
    validator: str
    keys: frozenset[str] = frozenset()
    documented: bool = True
    why: str = ""


ALLOWED = (
    # Documented in the reference README ("Arguments ... additionalProperties: false follows a
    # 2022 API"; "CreateModel: ModelDataUrl given as an expression").
    Allowed(
        "RegisterModel",
        ("Arguments",),
        "additionalProperties",
        frozenset({"ModelApprovalStatus", "SkipModelValidation", "CustomerMetadataProperties"}),
        why="RegisterModel: ModelApprovalStatus, SkipModelValidation and more",
    ),
    Allowed(
        "Model",
        ("Arguments", "PrimaryContainer", "ModelDataUrl"),
        "type",
        why="CreateModel: ModelDataUrl as an expression (ours is a JsonGet, patched to Get)",
    ),
    # NOT in the README: found with sagemaker 3.27.0. Both are valid API fields (the botocore
    # test below checks them) that the 2022-era schema does not know.
    Allowed(
        "Training",
        ("Arguments", "OutputDataConfig"),
        "additionalProperties",
        frozenset({"CompressionType"}),
        documented=False,
        why="the SDK always emits OutputDataConfig.CompressionType (GZIP)",
    ),
    Allowed(
        "Tuning",
        ("Arguments", "TrainingJobDefinition", "OutputDataConfig"),
        "additionalProperties",
        frozenset({"CompressionType"}),
        documented=False,
        why="as for Training",
    ),
    Allowed(
        "RegisterModel",
        ("Arguments", "InferenceSpecification", "Containers", "*"),
        "additionalProperties",
        frozenset({"Environment"}),
        documented=False,
        why="ModelPackageContainerDefinition.Environment (SAGEMAKER_PROGRAM etc.)",
    ),
    # NOT in the README: found when the variant build (data capture on) was checked too.
    Allowed(
        "EndpointConfig",
        ("Arguments",),
        "additionalProperties",
        frozenset({"DataCaptureConfig"}),
        documented=False,
        why="CreateEndpointConfig's DataCaptureConfig (the variant's data capture)",
    ),
)

# Top level. Documented: PipelineExperimentConfig is rejected, parameter EnumValues are
# missing. NOT in the README: MlflowConfig (always emitted by sagemaker 3.x, null here).
TOP_LEVEL_DOCUMENTED = ("PipelineExperimentConfig",)
TOP_LEVEL_UNDOCUMENTED = ("MlflowConfig",)


def _matches(allowed: Allowed, step_type: str, error: jsonschema.ValidationError) -> bool:
    path = tuple(str(part) for part in error.absolute_path)
    if allowed.step_type != step_type or allowed.validator != error.validator:
        return False
    if len(path) != len(allowed.path) or any(
        want not in ("*", got) for want, got in zip(allowed.path, path, strict=True)
    ):
        return False
    if error.validator == "additionalProperties":
        unexpected = set(error.instance) - set(error.schema.get("properties", {}))
        return unexpected <= allowed.keys
    return True


def _schema_errors(
    schema: dict[str, Any], step: dict[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    patched = copy.deepcopy(step)
    for patch in PATCHES:
        patched = patch(patched)
    definition = SCHEMA_DEFINITION_BY_TYPE[step["Type"]]
    validator = jsonschema.Draft7Validator(
        {"$ref": f"#/definitions/{definition}", "definitions": schema["definitions"]}
    )
    yield from validator.iter_errors(patched)


def test_every_step_type_has_a_schema_definition(builds, schema):
    for build in builds.values():
        for step in walk_steps(build.definition["Steps"]):
            assert SCHEMA_DEFINITION_BY_TYPE[step["Type"]] in schema["definitions"]


def test_every_step_of_every_build_validates_against_the_schema_apart_from_the_listed_gaps(
    builds, schema
):
    used: set[Allowed] = set()
    unexpected = []
    for name, build in builds.items():
        for step in walk_steps(build.definition["Steps"]):
            for error in _schema_errors(schema, step):
                match = next((a for a in ALLOWED if _matches(a, step["Type"], error)), None)
                if match is None:
                    unexpected.append(
                        (name, step["Name"], list(error.absolute_path), error.message[:300])
                    )
                else:
                    used.add(match)
    assert unexpected == []
    assert [a.why for a in ALLOWED if a not in used] == []  # no stale allowance


@pytest.mark.parametrize("name", ALL_BUILDS)
def test_top_level_validates_apart_from_the_listed_gaps(builds, schema, name):
    definition = builds[name].definition
    top = {key: value for key, value in definition.items() if key != "Steps"}
    for key in TOP_LEVEL_DOCUMENTED + TOP_LEVEL_UNDOCUMENTED:
        assert key in top  # still emitted, so still needs the allowance
        del top[key]
    top["Parameters"] = [  # documented: parameter EnumValues are missing from the schema
        {k: v for k, v in parameter.items() if k != "EnumValues"} for parameter in top["Parameters"]
    ]
    top_schema = copy.deepcopy(schema)
    top_schema["properties"]["Steps"] = {"type": "array"}  # steps are validated one by one
    jsonschema.Draft7Validator(top_schema).validate({**top, "Steps": []})


def test_schema_check_catches_a_broken_step(steps, schema):
    broken = copy.deepcopy(steps["Preprocess"])
    broken["Arguments"]["ProcessingResources"]["ClusterConfig"]["VolumeSizeInGB"] = "30"
    broken["Arguments"]["AppSpecification"]["ImageUrl"] = "typo"
    errors = [list(error.absolute_path) for error in _schema_errors(schema, broken)]
    assert ["Arguments", "ProcessingResources", "ClusterConfig", "VolumeSizeInGB"] in errors
    assert ["Arguments", "AppSpecification"] in errors


# -- botocore request shapes ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sagemaker_model() -> Any:
    return botocore.session.get_session().get_service_model("sagemaker")


def request_errors(step: dict[str, Any]) -> str:
    return "\n".join(request_problems(step))


def test_every_step_type_is_covered_by_a_request_shape_or_known_to_have_none(builds):
    for name, build in builds.items():
        types = {step["Type"] for step in walk_steps(build.definition["Steps"])}
        expected = set(OPERATIONS) | SHAPELESS
        if name == "untuned_build":
            expected.remove("Tuning")
        if name == "builtin_build":  # the best tuning job is the candidate: no baseline
            expected.remove("Training")
        assert types == expected, name


@pytest.mark.parametrize("name", ALL_BUILDS)
def test_every_step_s_arguments_are_a_valid_botocore_request(builds, sagemaker_model, name):
    """Every step of the example, the variant (no spot, data capture), the untuned build, the
    multiclass scikit-learn build, the regression build and the built-in algorithm's."""
    checked = []
    problems = {}
    for step in walk_steps(builds[name].definition["Steps"]):
        if step["Type"] in OPERATIONS:
            checked.append(step["Name"])
            errors = request_errors(step)
            if errors:
                problems[step["Name"]] = errors
    assert problems == {}
    expected = {"Preprocess", "TrainBaseline", "Tune", "Evaluate", "RegisterModel"}
    expected |= {"CreateModel", "EndpointConfig", "Endpoint"}
    if name == "untuned_build":
        expected.remove("Tune")
    if name == "builtin_build":
        expected -= {"TrainBaseline", "Evaluate"}
    assert set(checked) == expected


def test_the_variant_s_data_capture_config_is_part_of_the_checked_request(builds):
    steps = builds["variant_build"].steps
    assert "DataCaptureConfig" in steps["EndpointConfig"]["Arguments"]
    assert "MaxWaitTimeInSeconds" not in steps["TrainBaseline"]["Arguments"]["StoppingCondition"]


def test_expressions_are_replaced_by_values_of_the_shape_s_member_type(steps, sagemaker_model):
    shape = sagemaker_model.operation_model("CreateProcessingJob").input_shape
    arguments = steps["Evaluate"]["Arguments"]
    request = concretize(arguments, shape)
    cluster = request["ProcessingResources"]["ClusterConfig"]
    assert isinstance(cluster["InstanceType"], str)
    container_args = arguments["AppSpecification"]["ContainerArguments"]
    expressions = [i for i, value in enumerate(container_args) if not isinstance(value, str)]
    assert expressions  # the candidates' model URIs
    for index in expressions:
        assert isinstance(request["AppSpecification"]["ContainerArguments"][index], str)
    preprocess = concretize(steps["Preprocess"]["Arguments"], shape)
    assert isinstance(preprocess["ProcessingResources"]["ClusterConfig"]["InstanceCount"], int)
    assert "Get" not in json.dumps(request)
    assert "Std:" not in json.dumps(request)


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda args: args.update(TrainingJobNmae="typo"), "Unknown parameter"),
        (lambda args: args.pop("RoleArn"), "Missing required parameter"),
        (lambda args: args["ResourceConfig"].update(VolumeSizeInGB="30"), "Invalid type"),
        (lambda args: args["StoppingCondition"].update(MaxRuntimeInSeconds=0), "Invalid value"),
        (
            lambda args: args["InputDataConfig"][0].update(DataSource={"Get": "x"}),
            "a pipeline expression where DataSource (structure) is expected",
        ),
        # What ParamValidator leaves to the service: maximums, enums, patterns.
        (
            lambda args: args["HyperParameters"].update(notes="x" * 3000),
            "HyperParameters.notes = 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...': 3000 "
            "characters, over the maximum of 2500",
        ),
        (
            lambda args: args["ResourceConfig"].update(KeepAlivePeriodInSeconds=99_999),
            "ResourceConfig.KeepAlivePeriodInSeconds = 99999: over the maximum of 21600",
        ),
        (
            lambda args: args["AlgorithmSpecification"].update(TrainingInputMode="Stream"),
            "AlgorithmSpecification.TrainingInputMode = 'Stream': not one of Pipe, File",
        ),
        (
            lambda args: args.update(RoleArn="not-an-arn"),
            "RoleArn = 'not-an-arn': does not match the pattern",
        ),
    ],
)
def test_broken_arguments_are_caught(steps, sagemaker_model, breakage, expected):
    broken = copy.deepcopy(steps["TrainBaseline"])
    breakage(broken["Arguments"])
    try:
        errors = request_errors(broken)
    except RequestShapeError as exc:  # an expression where a structure is expected
        errors = str(exc)
    assert expected in errors


def test_a_spec_value_over_a_request_limit_stops_the_build_naming_the_field(
    build: Build,
) -> None:
    # botocore's HyperParameterValue allows 2,500 characters; SageMaker would refuse the job.
    spec = changed_spec(MULTICLASS.spec, {"training": {"hyperparameters": {"notes": "x" * 3000}}})
    with pytest.raises(SpecError) as raised:
        offline_build(Inputs(spec, MULTICLASS.wiring))
    assert str(raised.value).startswith(
        "models/wine-forest/model.toml: step TrainBaseline: CreateTrainingJob would be refused: "
        "HyperParameters.notes = 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...': 3000 characters, "
        "over the maximum of 2500"
    )
