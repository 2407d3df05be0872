"""The mermaid flowchart drawn from the pipeline definition JSON."""

from __future__ import annotations

import json
import re

import pytest

from pipelines.assembly.steps import walk_steps
from pipelines.mermaid import definition_to_mermaid
from tests.pipeline.conftest import Build

NODE = re.compile(r"^  (step_\w+)[\[\(\{]")
EDGE = re.compile(r"^  (step_\w+) (-->|-\.->)(?:\|(\w+)\|)? (step_\w+)$")


def parse(chart: str) -> tuple[set[str], set[tuple[str, str, str]]]:
    """Node ids, and edges as (source, kind, target) with kind data/depends/if/else."""
    nodes, edges = set(), set()
    for line in chart.splitlines()[1:]:
        if edge := EDGE.match(line):
            source, arrow, label, target = edge.groups()
            kind = label or ("depends" if arrow == "-.->" else "data")
            edges.add((source.removeprefix("step_"), kind, target.removeprefix("step_")))
        elif node := NODE.match(line):
            nodes.add(node.group(1).removeprefix("step_"))
        else:
            raise AssertionError(f"unparsed line: {line!r}")
    return nodes, edges


EXPECTED_EDGES = {
    ("Preprocess", "data", "TrainBaseline"),
    ("Preprocess", "data", "Tune"),
    ("Preprocess", "data", "Evaluate"),
    # The registered version's signature is Preprocess's.
    ("Preprocess", "data", "RegisterModel"),
    ("TrainBaseline", "data", "Evaluate"),
    ("Tune", "data", "Evaluate"),
    ("Evaluate", "data", "QualityGate"),
    ("Evaluate", "data", "QualityTooLow"),
    ("Evaluate", "data", "RegisterModel"),
    ("Evaluate", "data", "CreateModel"),
    ("QualityGate", "if", "RegisterModel"),
    ("QualityGate", "if", "DeployIfApproved"),
    ("QualityGate", "else", "QualityTooLow"),
    ("RegisterModel", "depends", "DeployIfApproved"),
    ("DeployIfApproved", "if", "CreateModel"),
    ("DeployIfApproved", "if", "EndpointConfig"),
    ("DeployIfApproved", "if", "Endpoint"),
    ("DeployIfApproved", "if", "ConfigureAutoscaling"),
    ("CreateModel", "data", "EndpointConfig"),
    ("EndpointConfig", "data", "Endpoint"),
    ("Endpoint", "depends", "ConfigureAutoscaling"),
}


def test_chart_is_a_top_down_flowchart_with_every_step_as_a_node(build: Build):
    chart = definition_to_mermaid(build.text)
    assert chart.splitlines()[0] == "flowchart TD"
    nodes, _ = parse(chart)
    assert nodes == {step["Name"] for step in walk_steps(build.definition["Steps"])}


def test_chart_has_exactly_the_data_dependency_and_branch_edges(build: Build):
    _, edges = parse(definition_to_mermaid(build.text))
    assert edges == EXPECTED_EDGES


def test_node_labels_carry_the_step_type_and_shape_by_kind(build: Build):
    chart = definition_to_mermaid(build.text)
    assert 'step_QualityGate{"QualityGate<br/>Condition"}' in chart
    assert 'step_QualityTooLow[/"QualityTooLow<br/>Fail"/]' in chart
    assert 'step_ConfigureAutoscaling(["ConfigureAutoscaling<br/>Lambda"])' in chart
    assert 'step_Tune["Tune<br/>Tuning"]' in chart


def test_an_untuned_pipeline_s_chart_has_no_tune_node_or_edges(untuned_build: Build):
    nodes, edges = parse(definition_to_mermaid(untuned_build.text))
    assert "Tune" not in nodes
    assert edges == {edge for edge in EXPECTED_EDGES if "Tune" not in (edge[0], edge[2])}


@pytest.mark.parametrize("name", ["multiclass_build", "regression_build"])
def test_other_tasks_and_frameworks_give_the_same_graph(request, name: str):
    found: Build = request.getfixturevalue(name)
    _, edges = parse(definition_to_mermaid(found.text))
    # Only a model carrying the fitted transform registers Preprocess's signature.
    signature = ("Preprocess", "data", "RegisterModel")
    expected = EXPECTED_EDGES - (set() if found.inputs.spec.carries_transform else {signature})
    assert edges == expected


def test_chart_is_deterministic_and_independent_of_json_formatting(build: Build):
    reformatted = json.dumps(build.definition, indent=2)
    assert definition_to_mermaid(build.text) == definition_to_mermaid(reformatted)
    assert definition_to_mermaid(build.text) == definition_to_mermaid(build.text)


def test_edges_are_listed_once_even_when_referenced_repeatedly(build: Build):
    lines = definition_to_mermaid(build.text).splitlines()
    assert len(lines) == len(set(lines))


def test_small_definition_escapes_names_and_ignores_unknown_and_self_references():
    definition = {
        "Steps": [
            {"Name": 'Load "raw" data', "Type": "Processing", "Arguments": {}},
            {
                "Name": "Check",
                "Type": "Condition",
                "Arguments": {
                    "Conditions": [
                        {
                            "Type": "Equals",
                            "LeftValue": {
                                "Std:JsonGet": {
                                    "Path": "a.b",
                                    "PropertyFile": {
                                        "Get": 'Steps.Load "raw" data.PropertyFiles.Report'
                                    },
                                }
                            },
                            "RightValue": {"Get": "Parameters.Expected"},
                        }
                    ],
                    "IfSteps": [
                        {
                            "Name": "Load-raw-data",
                            "Type": "Lambda",
                            "Arguments": {"x": {"Get": "Steps.Missing.Output"}},
                            "DependsOn": ["Check", "Nowhere"],
                        }
                    ],
                    "ElseSteps": [],
                },
            },
        ]
    }
    chart = definition_to_mermaid(json.dumps(definition))
    assert chart == (
        "flowchart TD\n"
        '  step_Load__raw__data["Load #quot;raw#quot; data<br/>Processing"]\n'
        '  step_Check{"Check<br/>Condition"}\n'
        '  step_Load_raw_data(["Load-raw-data<br/>Lambda"])\n'
        "  step_Load__raw__data --> step_Check\n"
        "  step_Check -->|if| step_Load_raw_data\n"
        "  step_Check -.-> step_Load_raw_data\n"
    )


def test_colliding_sanitised_names_get_distinct_node_ids():
    definition = {
        "Steps": [
            {"Name": "a-b", "Type": "Processing", "Arguments": {}},
            {"Name": "a_b", "Type": "Processing", "Arguments": {}, "DependsOn": ["a-b"]},
        ]
    }
    chart = definition_to_mermaid(json.dumps(definition))
    assert "  step_a_b --> step_a_b_2" not in chart
    assert "  step_a_b -.-> step_a_b_2" in chart
    assert 'step_a_b_2["a_b<br/>Processing"]' in chart
