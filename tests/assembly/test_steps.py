"""The one walker over a definition's steps: order, places, and what a strict walk refuses."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.assembly.steps import MalformedStepsError, PlacedStep, placed_steps, walk_steps


def _step(name: str, kind: str = "Processing", **arguments: Any) -> dict[str, Any]:
    return {"Name": name, "Type": kind, "Arguments": arguments}


def _nested() -> list[dict[str, Any]]:
    inner = _step("Inner", "Condition", IfSteps=[_step("Deep")], ElseSteps=[])
    gate = _step("Gate", "Condition", IfSteps=[_step("Register"), inner], ElseSteps=[_step("Fail")])
    return [_step("Prepare"), gate, _step("After")]


def test_walk_is_depth_first_in_definition_order_with_branches():
    assert [step["Name"] for step in walk_steps(_nested())] == [
        "Prepare",
        "Gate",
        "Register",
        "Inner",
        "Deep",
        "Fail",
        "After",
    ]


def test_each_step_knows_the_condition_and_branch_that_hold_it():
    places = {p.step["Name"]: (p.parent, p.branch) for p in placed_steps(_nested())}
    assert places["Prepare"] == (None, None)
    assert places["Register"] == ("Gate", "IfSteps")
    assert places["Deep"] == ("Inner", "IfSteps")
    assert places["Fail"] == ("Gate", "ElseSteps")


def test_only_a_condition_step_has_branches():
    odd = _step("Odd", "Processing", IfSteps=[_step("Hidden")])
    assert [step["Name"] for step in walk_steps([odd])] == ["Odd"]


def test_a_lenient_walk_skips_what_is_not_a_step():
    gate = _step("Gate", "Condition", IfSteps="not a list")
    found = list(placed_steps(["text", gate, 3]))
    assert found == [PlacedStep(gate)]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (["text"], "a step is not an object: 'text'"),
        ([{"Type": "Processing"}], "a step has no Name: {'Type': 'Processing'}"),
        ([{"Name": "A"}], "step A has no Type"),
        ([{"Name": "A", "Type": "Processing", "Arguments": []}], "Arguments of step A is not"),
        ([_step("Gate", "Condition", ElseSteps={})], "ElseSteps of Gate is not a list"),
    ],
)
def test_a_strict_walk_names_what_is_malformed(steps, message):
    with pytest.raises(MalformedStepsError, match=f"^malformed definition: {message}"):
        list(placed_steps(steps, strict=True))
