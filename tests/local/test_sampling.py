"""Seeded quasi-random hyperparameter points from the tuning step's ranges."""

from __future__ import annotations

import pytest

from pipelines.local.errors import DefinitionError
from pipelines.local.sampling import grid_points, parse_ranges, sample_points

RANGES = {
    "ContinuousParameterRanges": [
        {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.3", "ScalingType": "Auto"},
        {"Name": "lr", "MinValue": "0.0001", "MaxValue": "1", "ScalingType": "Logarithmic"},
        {
            "Name": "mom",
            "MinValue": "0.9",
            "MaxValue": "0.999",
            "ScalingType": "ReverseLogarithmic",
        },
    ],
    "IntegerParameterRanges": [{"Name": "depth", "MinValue": "3", "MaxValue": "10"}],
    "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
}


def test_points_are_reproducible_and_inside_their_ranges() -> None:
    ranges = parse_ranges(RANGES, "Tune")
    points = sample_points(ranges, 40, seed=7)
    assert points == sample_points(ranges, 40, seed=7)
    assert points != sample_points(ranges, 40, seed=8)
    for point in points:
        assert 0.01 <= float(point["eta"]) <= 0.3
        assert 0.0001 <= float(point["lr"]) <= 1
        assert 0.9 <= float(point["mom"]) <= 0.999
        assert 3 <= int(point["depth"]) <= 10
        assert point["booster"] in ("gbtree", "dart")
    assert {point["depth"] for point in points} == {str(depth) for depth in range(3, 11)}
    assert {point["booster"] for point in points} == {"gbtree", "dart"}
    # Logarithmic scaling spends as many points below 0.01 as above it.
    below = sum(float(point["lr"]) < 0.01 for point in points)
    assert 14 <= below <= 26


def test_grid_enumerates_categorical_values() -> None:
    ranges = parse_ranges(
        {
            "CategoricalParameterRanges": [
                {"Name": "a", "Values": ["1", "2"]},
                {"Name": "b", "Values": ["x", "y"]},
            ]
        },
        "Tune",
    )
    assert grid_points(ranges, "Tune") == [
        {"a": "1", "b": "x"},
        {"a": "1", "b": "y"},
        {"a": "2", "b": "x"},
        {"a": "2", "b": "y"},
    ]
    with pytest.raises(DefinitionError, match="Grid strategy takes categorical ranges only"):
        grid_points(parse_ranges(RANGES, "Tune"), "Tune")


def test_bad_ranges_are_definition_errors() -> None:
    with pytest.raises(DefinitionError, match="Logarithmic scaling needs MinValue > 0"):
        parse_ranges(
            {
                "ContinuousParameterRanges": [
                    {"Name": "x", "MinValue": "0", "MaxValue": "1", "ScalingType": "Logarithmic"}
                ]
            },
            "Tune",
        )
    with pytest.raises(DefinitionError, match="MinValue is greater than MaxValue"):
        parse_ranges(
            {"IntegerParameterRanges": [{"Name": "x", "MinValue": "5", "MaxValue": "1"}]}, "Tune"
        )
