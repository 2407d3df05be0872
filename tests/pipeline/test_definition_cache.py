"""The definition cache returns exactly what a build returns, and only for the same inputs."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from unittest import mock

from pipelines import definition_cache
from pipelines.definition import PipelineSettings
from tests.pipeline.conftest import Build

SETTINGS = PipelineSettings(
    pipeline_name="p",
    region="us-east-1",
    role_arn="arn:aws:iam::000000000000:role/r",
    artifact_bucket="b",
    artifact_prefix="pipelines",
    kms_key_arn="arn:aws:kms:us-east-1:000000000000:key/k",
    default_input_uri="s3://d/sample.csv",
    preprocess_code_uri="s3://a/pre.py",
    evaluate_code_uri="s3://a/eval.py",
    training_source_uri="s3://a/src.tar.gz",
    model_package_group="g",
    autoscaling_lambda_arn="arn:aws:lambda:us-east-1:000000000000:function:f",
    endpoint_name="e",
)


def counting_build() -> mock.MagicMock:
    return mock.MagicMock(side_effect=lambda s: f'{{"Steps": [], "Name": "{s.pipeline_name}"}}')


def test_second_call_with_same_settings_does_not_rebuild(tmp_path: Path) -> None:
    with mock.patch.object(definition_cache, "build_definition", counting_build()) as build:
        first = definition_cache.cached_definition(SETTINGS, tmp_path)
        second = definition_cache.cached_definition(SETTINGS, tmp_path)
    assert first == second
    assert build.call_count == 1


def test_changed_setting_rebuilds(tmp_path: Path) -> None:
    changed = dataclasses.replace(SETTINGS, tuning_max_jobs=3, tuning_max_parallel_jobs=1)
    with mock.patch.object(definition_cache, "build_definition", counting_build()) as build:
        definition_cache.cached_definition(SETTINGS, tmp_path)
        definition_cache.cached_definition(changed, tmp_path)
    assert build.call_count == 2
    assert definition_cache.cache_key(SETTINGS) != definition_cache.cache_key(changed)


def test_damaged_entry_is_rebuilt_not_trusted(tmp_path: Path) -> None:
    (tmp_path / f"{definition_cache.cache_key(SETTINGS)}.json").write_text('{"Steps": [')
    with mock.patch.object(definition_cache, "build_definition", counting_build()) as build:
        text = definition_cache.cached_definition(SETTINGS, tmp_path)
    assert build.call_count == 1
    assert text.startswith('{"Steps": []')


def test_cached_text_equals_a_real_build(tmp_path: Path, build: Build) -> None:
    """The session's real build, stored and read back, is byte-identical."""
    entry_settings = dataclasses.replace(SETTINGS, pipeline_name="cached")
    definition_json = build.text
    with mock.patch.object(definition_cache, "build_definition", return_value=definition_json):
        stored = definition_cache.cached_definition(entry_settings, tmp_path)
    assert definition_cache.cached_definition(entry_settings, tmp_path) == stored == definition_json
