"""The cache key's attributes and the CacheConfig expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.local.cache import (
    CacheEntry,
    StepCache,
    cache_config,
    cache_key,
    key_arguments,
    parse_duration,
)
from pipelines.local.errors import DefinitionError
from pipelines.local.objectstore import ObjectStore

TRAINING = {
    "AlgorithmSpecification": {"TrainingImage": "image"},
    "HyperParameters": {"eta": "0.2"},
    "InputDataConfig": [{"ChannelName": "train"}],
    "ResourceConfig": {"InstanceType": "ml.m5.xlarge"},
    "OutputDataConfig": {"S3OutputPath": "s3://b/models"},
}


def test_resources_and_output_locations_are_not_part_of_the_key() -> None:
    bigger = {**TRAINING, "ResourceConfig": {"InstanceType": "ml.m5.4xlarge"}}
    moved = {**TRAINING, "OutputDataConfig": {"S3OutputPath": "s3://b/elsewhere"}}
    key = cache_key("Training", TRAINING, {})
    assert cache_key("Training", bigger, {}) == key
    assert cache_key("Training", moved, {}) == key
    assert cache_key("Training", {**TRAINING, "HyperParameters": {"eta": "0.3"}}, {}) != key
    assert cache_key("Training", TRAINING, {"s3://b/train": "changed"}) != key


def test_a_tuning_key_keeps_only_the_documented_definition_children() -> None:
    arguments = {
        "HyperParameterTuningJobConfig": {"Strategy": "Bayesian"},
        "TrainingJobDefinition": {**TRAINING, "StaticHyperParameters": {"seed": "1"}},
    }
    assert key_arguments("Tuning", arguments) == {
        "HyperParameterTuningJobConfig": {"Strategy": "Bayesian"},
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {"TrainingImage": "image"},
            "InputDataConfig": [{"ChannelName": "train"}],
            "StaticHyperParameters": {"seed": "1"},
        },
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P30D", timedelta(days=30)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
        ("P1W", timedelta(weeks=1)),
        ("P1Y2M3DT4H5M6S", timedelta(days=365 + 60 + 3, hours=4, minutes=5, seconds=6)),
        ("30dT5h", timedelta(days=30, hours=5)),
        ("T16m", timedelta(minutes=16)),
    ],
)
def test_expire_after_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text, "Step") == expected


@pytest.mark.parametrize("text", ["P", "PT", "P1DT", "thirty days", "P-1D"])
def test_malformed_durations_are_definition_errors(text: str) -> None:
    with pytest.raises(DefinitionError, match="not an ISO 8601 duration"):
        parse_duration(text, "Step")


def test_caching_is_per_step_opt_in() -> None:
    assert cache_config({"Name": "A"}) is None
    assert cache_config({"Name": "A", "CacheConfig": {"Enabled": False}}) is None
    assert cache_config({"Name": "A", "CacheConfig": {"Enabled": True}}) == timedelta.max


def test_entries_expire_and_need_their_outputs(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "s3")
    store.put_bytes("s3://b/out/model.tar.gz", b"model")
    cache = StepCache(tmp_path / "cache", store)

    def entry(key: str, age: timedelta, objects: list[str]) -> CacheEntry:
        return CacheEntry(key, "exec1", datetime.now(UTC) - age, {"P": 1}, {}, objects)

    cache.save("Train", entry("fresh", timedelta(hours=1), ["s3://b/out/model.tar.gz"]))
    cache.save("Train", entry("old", timedelta(days=2), ["s3://b/out/model.tar.gz"]))
    cache.save("Train", entry("orphan", timedelta(hours=1), ["s3://b/gone/model.tar.gz"]))
    found = cache.lookup("Train", "fresh", timedelta(days=1))
    assert found is not None
    assert (found.properties, found.execution_id) == ({"P": 1}, "exec1")
    assert cache.lookup("Train", "old", timedelta(days=1)) is None
    assert cache.lookup("Train", "old", timedelta.max) is not None
    assert cache.lookup("Train", "orphan", timedelta.max) is None
    assert cache.lookup("Other", "fresh", timedelta.max) is None
