"""Step order: DependsOn, property references, condition branches, and cycles."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.local.errors import DefinitionError
from pipelines.local.graph import build_graph


def step(name: str, kind: str = "Processing", **fields: Any) -> dict[str, Any]:
    return {"Name": name, "Type": kind, "Arguments": fields.pop("Arguments", {}), **fields}


def ref(name: str) -> dict[str, str]:
    return {"Get": f"Steps.{name}.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"}


def test_depends_on_orders_steps_against_definition_order() -> None:
    graph = build_graph({"Steps": [step("A", DependsOn=["C"]), step("B"), step("C")]})
    assert graph.order == ["B", "C", "A"]
    assert graph.nodes["A"].depends_on == ("C",)


def test_property_references_are_implicit_dependencies() -> None:
    uses_b = step("A", Arguments={"Inputs": [{"S3Uri": ref("B")}]})
    json_get = step(
        "C",
        Arguments={
            "Value": {
                "Std:JsonGet": {"PropertyFile": {"Get": "Steps.A.PropertyFiles.R"}, "Path": "x"}
            }
        },
    )
    graph = build_graph({"Steps": [json_get, uses_b, step("B")]})
    assert graph.order == ["B", "A", "C"]
    assert graph.nodes["C"].depends_on == ("A",)


def test_branch_steps_wait_for_their_condition_and_its_inputs() -> None:
    condition = step(
        "Gate",
        "Condition",
        Arguments={
            "Conditions": [{"Type": "Equals", "LeftValue": ref("Train"), "RightValue": "x"}],
            "IfSteps": [step("Deploy", "Model"), step("Scale", "Lambda", DependsOn=["Deploy"])],
            "ElseSteps": [step("Stop", "Fail")],
        },
    )
    graph = build_graph({"Steps": [condition, step("Train")]})
    assert graph.order == ["Train", "Gate", "Deploy", "Scale", "Stop"]
    assert graph.nodes["Gate"].depends_on == ("Train",)
    assert graph.nodes["Scale"].depends_on == ("Deploy", "Gate")
    assert (graph.nodes["Stop"].parent, graph.nodes["Stop"].branch) == ("Gate", "ElseSteps")
    assert graph.dependants("Gate") == {"Deploy", "Scale", "Stop"}


def test_a_cycle_is_named() -> None:
    steps = [
        step("A", DependsOn=["C"]),
        step("B", Arguments={"In": ref("A")}),
        step("C", DependsOn=["B"]),
    ]
    with pytest.raises(DefinitionError, match=r"dependency cycle: A -> C -> B -> A"):
        build_graph({"Steps": steps})


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([step("A"), step("A")], "two steps are named 'A'"),
        ([step("A", DependsOn=["Z"])], "step A depends on unknown step 'Z'"),
        ([{"Name": "A"}], "step A has no Type"),
        ([{"Type": "Processing"}], "a step has no Name"),
        ([step("A", Arguments=[1])], "Arguments of step A is not an object"),
        ([], "Steps must be a non-empty list"),
    ],
)
def test_malformed_steps_are_rejected(steps: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(DefinitionError, match="malformed definition") as error:
        build_graph({"Steps": steps})
    assert message in str(error.value)
