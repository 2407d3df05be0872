"""The step-level pipeline diff on hand-made definitions, and reading definitions from templates."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from pipelines.assembly.definition import definition_text
from pipelines.assembly.resolve import placeholder
from pipelines.project import MODELS_DIR
from review.assembly import Assembly
from review.build import PipelineReview, Review, Side
from review.pipeline_diff import (
    ABSENT,
    DAG,
    HYPERPARAMETER,
    HYPERPARAMETER_RANGE,
    IMAGE,
    INSTANCE_TYPE,
    THRESHOLD,
    TUNING_BUDGET,
    Change,
    ParameterValue,
    PipelineDiff,
    diff_definitions,
    parse_definition,
    pipelines_in_template,
)
from review.report import render

BASE: dict[str, Any] = {
    "Version": "2020-12-01",
    "Parameters": [
        {"Name": "TrainingInstanceType", "Type": "String", "DefaultValue": "ml.m5.xlarge"},
        {"Name": "QualityThreshold", "Type": "Float", "DefaultValue": 0.9},
    ],
    "Steps": [
        {
            "Name": "Preprocess",
            "Type": "Processing",
            "Arguments": {
                "AppSpecification": {"ImageUri": "sklearn:1.2-1"},
                "ProcessingResources": {
                    "ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1}
                },
            },
        },
        {
            "Name": "Tune",
            "Type": "Tuning",
            "Arguments": {
                "HyperParameterTuningJobConfig": {
                    "ParameterRanges": {
                        "IntegerParameterRanges": [
                            {"Name": "max_depth", "MinValue": "3", "MaxValue": "10"},
                            {"Name": "num_round", "MinValue": "50", "MaxValue": "300"},
                        ],
                        "ContinuousParameterRanges": [
                            {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.3"}
                        ],
                    },
                    "ResourceLimits": {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 2},
                },
                "TrainingJobDefinition": {
                    "AlgorithmSpecification": {"TrainingImage": "xgboost:1.7-1"},
                    "ResourceConfig": {
                        "InstanceType": {"Get": "Parameters.TrainingInstanceType"},
                        "InstanceCount": 1,
                    },
                    "StaticHyperParameters": {"objective": "binary:logistic"},
                },
            },
            "DependsOn": ["Preprocess"],
        },
        {
            "Name": "Gate",
            "Type": "Condition",
            "Arguments": {
                "Conditions": [
                    {
                        "Type": "GreaterThanOrEqualTo",
                        "LeftValue": {"Get": "Steps.Tune.BestCandidate"},
                        "RightValue": {"Get": "Parameters.QualityThreshold"},
                    },
                    {
                        "Type": "LessThan",
                        "LeftValue": {"Get": "Steps.Tune.Loss"},
                        "RightValue": 0.5,
                    },
                ],
                "IfSteps": [
                    {"Name": "Register", "Type": "RegisterModel", "Arguments": {"Group": "models"}}
                ],
                "ElseSteps": [{"Name": "TooLow", "Type": "Fail", "Arguments": {"Msg": "low"}}],
            },
        },
    ],
}


def head() -> dict[str, Any]:
    return copy.deepcopy(BASE)


def step(definition: dict[str, Any], name: str) -> dict[str, Any]:
    for item in definition["Steps"]:
        if item["Name"] == name:
            found: dict[str, Any] = item
            return found
    raise KeyError(name)


def changes_of(diff: PipelineDiff, name: str) -> list[Change]:
    return [c for s in diff.steps_changed if s.step.name == name for c in s.changes]


def test_identical_definitions_have_no_difference() -> None:
    assert diff_definitions(BASE, head()).is_empty


def test_an_added_step_is_reported_with_its_place() -> None:
    new = head()
    new["Steps"].append({"Name": "Report", "Type": "Processing", "Arguments": {}})
    gate = step(new, "Gate")["Arguments"]
    gate["IfSteps"].append({"Name": "Notify", "Type": "Lambda", "Arguments": {}})
    diff = diff_definitions(BASE, new)
    added = {(s.name, s.type, s.location) for s in diff.steps_added}
    assert added == {("Report", "Processing", "top level"), ("Notify", "Lambda", "Gate → if")}
    assert diff.steps_removed == ()
    # The condition's branch list changes too: a DAG change of Gate.
    assert [c.category for c in changes_of(diff, "Gate")] == [DAG]
    assert changes_of(diff, "Gate")[0].new == ["Register", "Notify"]


def test_a_removed_step_is_reported() -> None:
    new = head()
    new["Steps"] = [s for s in new["Steps"] if s["Name"] != "Preprocess"]
    step(new, "Tune").pop("DependsOn")
    diff = diff_definitions(BASE, new)
    assert [(s.name, s.type) for s in diff.steps_removed] == [("Preprocess", "Processing")]
    assert Change("DependsOn", DAG, ["Preprocess"], ABSENT) in changes_of(diff, "Tune")


def test_changed_hyperparameter_ranges_are_matched_by_name() -> None:
    new = head()
    ranges = step(new, "Tune")["Arguments"]["HyperParameterTuningJobConfig"]["ParameterRanges"]
    ranges["IntegerParameterRanges"].reverse()  # order alone is no change
    ranges["IntegerParameterRanges"][1]["MaxValue"] = "12"  # max_depth
    ranges["ContinuousParameterRanges"].append({"Name": "gamma", "MinValue": "0", "MaxValue": "5"})
    diff = diff_definitions(BASE, new)
    prefix = "HyperParameterTuningJobConfig.ParameterRanges."
    assert changes_of(diff, "Tune") == [
        Change(
            prefix + "IntegerParameterRanges[max_depth].MaxValue", HYPERPARAMETER_RANGE, "10", "12"
        ),
        Change(
            prefix + "ContinuousParameterRanges[gamma]",
            HYPERPARAMETER_RANGE,
            ABSENT,
            {"Name": "gamma", "MinValue": "0", "MaxValue": "5"},
        ),
    ]


def test_tuning_budget_and_static_hyperparameters_have_their_own_categories() -> None:
    new = head()
    arguments = step(new, "Tune")["Arguments"]
    arguments["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] = 20
    arguments["TrainingJobDefinition"]["StaticHyperParameters"]["objective"] = "reg:squarederror"
    categories = {c.category for c in changes_of(diff_definitions(BASE, new), "Tune")}
    assert categories == {TUNING_BUDGET, HYPERPARAMETER}


def test_a_changed_parameter_default_shows_at_the_parameter_and_at_every_step_using_it() -> None:
    new = head()
    new["Parameters"][1]["DefaultValue"] = 0.95  # QualityThreshold
    diff = diff_definitions(BASE, new)
    assert [(p.name, p.kind) for p in diff.parameters] == [("QualityThreshold", "changed")]
    assert diff.parameters[0].old is not None
    assert diff.parameters[0].old["DefaultValue"] == 0.9
    assert changes_of(diff, "Gate") == [
        Change(
            "Conditions[0].RightValue",
            THRESHOLD,
            ParameterValue("QualityThreshold", 0.9),
            ParameterValue("QualityThreshold", 0.95),
        )
    ]


def test_a_changed_literal_threshold_is_a_threshold_change() -> None:
    new = head()
    step(new, "Gate")["Arguments"]["Conditions"][1]["RightValue"] = 0.4
    assert changes_of(diff_definitions(BASE, new), "Gate") == [
        Change("Conditions[1].RightValue", THRESHOLD, 0.5, 0.4)
    ]


def test_changed_images_are_reported() -> None:
    new = head()
    step(new, "Preprocess")["Arguments"]["AppSpecification"]["ImageUri"] = "sklearn:1.4-2"
    algorithm = step(new, "Tune")["Arguments"]["TrainingJobDefinition"]["AlgorithmSpecification"]
    algorithm["TrainingImage"] = "xgboost:3.0-5"
    diff = diff_definitions(BASE, new)
    assert changes_of(diff, "Preprocess") == [
        Change("AppSpecification.ImageUri", IMAGE, "sklearn:1.2-1", "sklearn:1.4-2")
    ]
    assert changes_of(diff, "Tune") == [
        Change(
            "TrainingJobDefinition.AlgorithmSpecification.TrainingImage",
            IMAGE,
            "xgboost:1.7-1",
            "xgboost:3.0-5",
        )
    ]


def test_instance_types_change_literally_or_through_a_parameter_default() -> None:
    new = head()
    cluster = step(new, "Preprocess")["Arguments"]["ProcessingResources"]["ClusterConfig"]
    cluster["InstanceType"] = "ml.c5.xlarge"
    new["Parameters"][0]["DefaultValue"] = "ml.m5.2xlarge"
    diff = diff_definitions(BASE, new)
    assert changes_of(diff, "Preprocess") == [
        Change(
            "ProcessingResources.ClusterConfig.InstanceType",
            INSTANCE_TYPE,
            "ml.m5.large",
            "ml.c5.xlarge",
        )
    ]
    assert changes_of(diff, "Tune") == [
        Change(
            "TrainingJobDefinition.ResourceConfig.InstanceType",
            INSTANCE_TYPE,
            ParameterValue("TrainingInstanceType", "ml.m5.xlarge"),
            ParameterValue("TrainingInstanceType", "ml.m5.2xlarge"),
        )
    ]


def test_parameters_added_and_removed() -> None:
    new = head()
    new["Parameters"] = [
        new["Parameters"][0],
        {"Name": "MaxDepth", "Type": "Integer", "DefaultValue": 6},
    ]
    step(new, "Gate")["Arguments"]["Conditions"][0]["RightValue"] = 0.9
    diff = diff_definitions(BASE, new)
    assert [(p.name, p.kind) for p in diff.parameters] == [
        ("QualityThreshold", "removed"),
        ("MaxDepth", "added"),
    ]
    # The condition now holds the literal, not the parameter: still a threshold change.
    assert changes_of(diff, "Gate") == [
        Change("Conditions[0].RightValue", THRESHOLD, ParameterValue("QualityThreshold", 0.9), 0.9)
    ]


def test_a_step_moved_between_branches_reports_its_position() -> None:
    new = head()
    gate = step(new, "Gate")["Arguments"]
    gate["ElseSteps"].append(gate["IfSteps"].pop())
    diff = diff_definitions(BASE, new)
    assert Change("(position)", DAG, "Gate → if", "Gate → else") in changes_of(diff, "Register")
    assert not diff.steps_added
    assert not diff.steps_removed


def test_the_report_shows_every_kind_of_pipeline_change() -> None:
    new = head()
    new["Steps"].append({"Name": "Report", "Type": "Processing", "Arguments": {}})
    new["Steps"] = [s for s in new["Steps"] if s["Name"] != "Preprocess"]
    step(new, "Tune").pop("DependsOn")
    tune = step(new, "Tune")["Arguments"]
    tune["HyperParameterTuningJobConfig"]["ParameterRanges"]["IntegerParameterRanges"][0][
        "MaxValue"
    ] = "12"
    tune["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"] = "xgboost:3.0-5"
    new["Parameters"][1]["DefaultValue"] = 0.95
    pipeline = PipelineReview(
        "Pipeline", "PipelineABC", "demo", new, diff_definitions(BASE, new), (), new=False
    )
    text = render(Review(Side("b", None), Side("h", None), (), (pipeline,)))
    lines = text.splitlines()

    def row(*parts: str) -> str:
        matches = [line for line in lines if all(part in line for part in parts)]
        assert len(matches) == 1, (parts, matches)
        return matches[0]

    row("| added |", "`Report`", "Processing")
    row("| **removed** |", "`Preprocess`", "Processing")
    row("**hyperparameter range**", "IntegerParameterRanges[max_depth].MaxValue", "`10`", "`12`")
    row("**image**", "`xgboost:1.7-1`", "`xgboost:3.0-5`")
    row("| `QualityThreshold` | changed |", "default `0.9`", "default `0.95`")
    row(
        "**condition / threshold**",
        "`0.9` (default of parameter `QualityThreshold`)",
        "`0.95` (default of parameter `QualityThreshold`)",
    )
    assert "```mermaid" in text
    assert "step_Report" in text  # the DAG is the head's


# --- Reading definitions out of templates --------------------------------------------------------


def test_tokens_become_stable_placeholders_and_the_text_parses() -> None:
    body = {
        "Fn::Join": [
            "",
            [
                '{"Steps": [], "A": "s3://data-',
                {"Ref": "AWS::AccountId"},
                '", "B": "',
                {"Fn::Sub": "cdk-assets-${AWS::AccountId}"},
                '", "C": "',
                {
                    "Fn::GetStackOutput": {
                        "StackName": "foundation",
                        "Region": "us-east-1",
                        "OutputName": "KeyArn",
                    }
                },
                '", "D": "',
                {"Fn::GetAtt": ["Handler", "Arn"]},
                '", "E": "',
                {"Fn::Select": [0, ['a"b']]},
                '"}',
            ],
        ]
    }
    definition = parse_definition(body)
    assert definition["A"] == "s3://data-${Ref:AWS::AccountId}"
    assert definition["B"] == "${Sub:cdk-assets-${AWS::AccountId}}"
    assert definition["C"] == "${GetStackOutput:foundation.KeyArn}"
    assert definition["D"] == "${GetAtt:Handler.Arn}"
    assert definition["E"] == placeholder({"Fn::Select": [0, ['a"b']]}) == '${Select:[0,["a\\"b"]]}'
    assert parse_definition(body) == definition  # stable


def test_an_unreadable_definition_is_an_error_not_a_crash() -> None:
    template = {
        "Resources": {
            "P": {
                "Type": "AWS::SageMaker::Pipeline",
                "Properties": {
                    "PipelineName": "p",
                    "PipelineDefinition": {"PipelineDefinitionBody": {"Fn::Join": ["", ["{"]]}},
                },
            }
        }
    }
    (pipeline,) = pipelines_in_template(template).values()
    assert pipeline.definition is None
    assert pipeline.error is not None
    assert "not JSON" in pipeline.error


def test_the_real_definition_reads_with_no_token_left(
    review_assemblies: dict[str, Assembly],
) -> None:
    template = review_assemblies["base"].stacks["Pipeline"].template
    pipelines = pipelines_in_template(template)
    (pipeline,) = (
        p for p in pipelines.values() if p.pipeline_name == "mlops-dev-breast-cancer-pipeline"
    )
    assert len(pipelines) == len(list(MODELS_DIR.glob("*/model.toml")))
    assert pipeline.error is None
    assert pipeline.definition is not None
    text = json.dumps(pipeline.definition)
    assert "Fn::" not in text
    assert "${Ref:AWS::AccountId}" in text
    assert "${GetStackOutput:mlops-dev-foundation." in text
    assert len(pipeline.definition["Steps"]) >= 5
    body = template["Resources"][pipeline.logical_id]["Properties"]["PipelineDefinition"]
    assert json.loads(definition_text(body["PipelineDefinitionBody"])) == pipeline.definition


@pytest.mark.parametrize("side", ["base", "head"])
def test_a_missing_side_makes_every_step_added_or_removed(side: str) -> None:
    diff = diff_definitions(None, BASE) if side == "base" else diff_definitions(BASE, None)
    names = ["Preprocess", "Tune", "Gate", "Register", "TooLow"]
    moved = diff.steps_added if side == "base" else diff.steps_removed
    assert [s.name for s in moved] == names
