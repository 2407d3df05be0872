"""The expression language on hand-written values: parameters, Get, Join, JsonGet, conditions."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.local.errors import DefinitionError, ParameterError, StepError
from pipelines.local.expressions import (
    Scope,
    StepRecord,
    check_reference,
    condition_outcome,
    declared_parameters,
    evaluate,
    parse_path,
    resolve_parameters,
)

SPECS = declared_parameters(
    {
        "Parameters": [
            {"Name": "Uri", "Type": "String", "DefaultValue": "s3://b/in.csv"},
            {"Name": "Count", "Type": "Integer", "DefaultValue": 1},
            {"Name": "Threshold", "Type": "Float", "DefaultValue": 0.9},
            {"Name": "Flag", "Type": "Boolean", "DefaultValue": False},
            {
                "Name": "Status",
                "Type": "String",
                "DefaultValue": "Approved",
                "EnumValues": ["Approved", "Rejected"],
            },
        ]
    }
)
OBJECTS = {"s3://b/report.json": {"metrics": {"auc": {"value": 0.97}}}}


def scope(**overrides: Any) -> Scope:
    steps = {
        "Prep": StepRecord(
            properties={
                "ProcessingJobName": "prep-job",
                "ProcessingOutputConfig": {
                    "Outputs": [
                        {"OutputName": "train", "S3Output": {"S3Uri": "s3://b/x/train"}},
                        {"OutputName": "test", "S3Output": {"S3Uri": "s3://b/x/test"}},
                    ]
                },
            },
            property_files={"Report": {"metrics": {"auc": {"value": 0.93}}, "items": [4, 5]}},
        ),
        "Tune": StepRecord(
            properties={
                "TrainingJobSummaries": [{"TrainingJobName": "best"}, {"TrainingJobName": "b"}]
            }
        ),
        "Fn": StepRecord(properties={"OutputParameters": {"status": "registered"}}),
    }
    values = {
        "parameters": resolve_parameters(SPECS, []),
        "execution": {"PipelineExecutionId": "abc123", "PipelineName": "p"},
        "steps": steps,
        "read_json": OBJECTS.__getitem__,
        **overrides,
    }
    return Scope(**values)


def test_defaults_are_typed() -> None:
    assert resolve_parameters(SPECS, []) == {
        "Uri": "s3://b/in.csv",
        "Count": 1,
        "Threshold": 0.9,
        "Flag": False,
        "Status": "Approved",
    }


def test_overrides_are_converted_to_the_declared_type() -> None:
    values = resolve_parameters(SPECS, ["Count=3", "Threshold=1", "Flag=true", "Status=Rejected"])
    assert (values["Count"], values["Threshold"], values["Flag"], values["Status"]) == (
        3,
        1.0,
        True,
        "Rejected",
    )
    assert isinstance(values["Threshold"], float)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("Nope=1", "--param Nope: no such pipeline parameter (declared: Uri, Count"),
        ("Count=1.5", "--param Count = '1.5': not a valid Integer"),
        ("Threshold=high", "--param Threshold = 'high': not a valid Float"),
        ("Threshold=nan", "--param Threshold = 'nan': not a valid Float"),
        ("Flag=yes", "--param Flag = 'yes': not a valid Boolean"),
        ("Status=Maybe", "not one of the allowed values (Approved, Rejected)"),
        ("Count", "--param 'Count': expected Name=value"),
    ],
)
def test_bad_overrides_name_the_problem(override: str, message: str) -> None:
    with pytest.raises(ParameterError) as error:
        resolve_parameters(SPECS, [override])
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_bad_default_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match="default of parameter N"):
        declared_parameters({"Parameters": [{"Name": "N", "Type": "Integer", "DefaultValue": "x"}]})


def test_get_reads_parameters_execution_variables_and_step_properties() -> None:
    node = {
        "uri": {"Get": "Parameters.Uri"},
        "id": {"Get": "Execution.PipelineExecutionId"},
        "train": {"Get": "Steps.Prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"},
        "by_index": {"Get": "Steps.Prep.ProcessingOutputConfig.Outputs[1].S3Output.S3Uri"},
        "best": {"Get": "Steps.Tune.TrainingJobSummaries[0].TrainingJobName"},
        "lambda": {"Get": "Steps.Fn.OutputParameters['status']"},
        "literal": [1, {"nested": {"Get": "Parameters.Count"}}],
    }
    assert evaluate(node, scope()) == {
        "uri": "s3://b/in.csv",
        "id": "abc123",
        "train": "s3://b/x/train",
        "by_index": "s3://b/x/test",
        "best": "best",
        "lambda": "registered",
        "literal": [1, {"nested": 1}],
    }


def test_a_missing_property_names_the_path() -> None:
    with pytest.raises(StepError, match=r"no value at \.ProcessingOutputConfig\.Outputs\.nope"):
        evaluate({"Get": "Steps.Prep.ProcessingOutputConfig.Outputs['nope'].S3Output"}, scope())
    with pytest.raises(StepError, match="step Later has not run"):
        evaluate({"Get": "Steps.Later.Anything"}, scope())


def test_join_spells_values_like_the_service() -> None:
    node = {
        "Std:Join": {
            "On": "/",
            "Values": ["s3:/", "b", {"Get": "Execution.PipelineExecutionId"}, 3, 0.5, True],
        }
    }
    assert evaluate(node, scope()) == "s3://b/abc123/3/0.5/true"


def test_json_get_reads_property_files_and_s3_objects() -> None:
    from_file = {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Prep.PropertyFiles.Report"},
            "Path": "metrics.auc.value",
        }
    }
    indexed = {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Prep.PropertyFiles.Report"},
            "Path": "items[1]",
        }
    }
    from_s3 = {
        "Std:JsonGet": {
            "S3Uri": {"Std:Join": {"On": "/", "Values": ["s3://b", "report.json"]}},
            "Path": "metrics.auc.value",
        }
    }
    assert evaluate([from_file, indexed, from_s3], scope()) == [0.93, 5, 0.97]


def test_masked_scope_hides_execution_variables_but_not_data() -> None:
    uri = {"Std:Join": {"On": "/", "Values": ["s3://b", {"Get": "Execution.PipelineExecutionId"}]}}
    auc = {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Prep.PropertyFiles.Report"},
            "Path": "metrics.auc.value",
        }
    }
    masked = scope(masked=True)
    assert evaluate(uri, masked) == "s3://b/${Execution.PipelineExecutionId}"
    assert evaluate(auc, masked) == 0.93


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"Type": "Equals", "LeftValue": "Approved", "RightValue": "Approved"}, True),
        ({"Type": "Equals", "LeftValue": 1, "RightValue": 1.0}, True),
        ({"Type": "GreaterThan", "LeftValue": 0.93, "RightValue": 0.93}, False),
        ({"Type": "GreaterThanOrEqualTo", "LeftValue": 0.93, "RightValue": 0.93}, True),
        ({"Type": "GreaterThanOrEqualTo", "LeftValue": "0.95", "RightValue": 0.9}, True),
        ({"Type": "LessThan", "LeftValue": 2, "RightValue": 3}, True),
        ({"Type": "LessThanOrEqualTo", "LeftValue": 4, "RightValue": 3}, False),
        ({"Type": "In", "QueryValue": "b", "Values": ["a", "b"]}, True),
        ({"Type": "In", "QueryValue": "c", "Values": ["a", "b"]}, False),
        ({"Type": "Not", "Condition": {"Type": "Equals", "LeftValue": 1, "RightValue": 2}}, True),
        (
            {
                "Type": "Or",
                "Conditions": [
                    {"Type": "Equals", "LeftValue": 1, "RightValue": 2},
                    {
                        "Type": "Not",
                        "Condition": {"Type": "In", "QueryValue": 5, "Values": [1, 2]},
                    },
                ],
            },
            True,
        ),
        (
            {
                "Type": "Or",
                "Conditions": [
                    {"Type": "Equals", "LeftValue": 1, "RightValue": 2},
                    {"Type": "LessThan", "LeftValue": 3, "RightValue": 1},
                ],
            },
            False,
        ),
    ],
)
def test_condition_outcomes(condition: dict[str, Any], expected: bool) -> None:
    assert condition_outcome(condition) is expected


def test_conditions_evaluate_their_operands_first() -> None:
    condition = {
        "Type": "GreaterThanOrEqualTo",
        "LeftValue": {
            "Std:JsonGet": {
                "PropertyFile": {"Get": "Steps.Prep.PropertyFiles.Report"},
                "Path": "metrics.auc.value",
            }
        },
        "RightValue": {"Get": "Parameters.Threshold"},
    }
    assert condition_outcome(evaluate(condition, scope())) is True
    strict = scope(parameters={**resolve_parameters(SPECS, []), "Threshold": 0.95})
    assert condition_outcome(evaluate(condition, strict)) is False


def test_incomparable_operands_are_an_error() -> None:
    with pytest.raises(StepError, match="cannot compare"):
        condition_outcome({"Type": "GreaterThan", "LeftValue": "abc", "RightValue": 1})


def test_property_paths_parse_names_indexes_and_keys() -> None:
    assert parse_path("A.B['x y'][2][\"z\"].C") == ["A", "B", "x y", 2, "z", "C"]


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("Parameters.Missing", "unknown parameter 'Missing'"),
        ("Execution.Tomorrow", "unknown execution variable 'Tomorrow'"),
        ("Steps.Ghost.Anything", "reference to unknown step 'Ghost'"),
        ("Steps.Prep.PropertyFiles.Nope", "step Prep declares no property file ['Nope']"),
        ("Somewhere.Else", "unknown kind of reference"),
    ],
)
def test_references_that_can_never_resolve_are_rejected(reference: str, message: str) -> None:
    steps = {"Prep": {"PropertyFiles": [{"PropertyFileName": "Report"}]}}
    with pytest.raises(DefinitionError) as error:
        check_reference(reference, parameters=SPECS, steps=steps, experiment={}, where="step X")
    assert message in str(error.value)
    assert reference in str(error.value)
