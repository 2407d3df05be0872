"""The definition cache returns exactly what a build returns, and only for the same inputs:
the spec, the wiring, the builder's source and the SDK versions."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest

from pipelines.definition import cache
from pipelines.definition.context import PipelineWiring
from pipelines.definition.spec import ModelSpec
from tests.pipeline.conftest import EXAMPLE, MULTICLASS, REPO, Build, changed_spec, wiring_for

SPEC = EXAMPLE.spec
WIRING = wiring_for("cached")


def counting_build() -> mock.MagicMock:
    return mock.MagicMock(
        side_effect=lambda spec, wiring: (
            f'{{"Steps": [], "Name": "{wiring.pipeline_name}", "Model": "{spec.name}"}}'
        )
    )


@pytest.fixture
def builds() -> Iterator[mock.MagicMock]:
    with mock.patch.object(cache, "build_definition", counting_build()) as build:
        yield build


def test_second_call_with_same_inputs_does_not_rebuild(tmp_path: Path, builds) -> None:
    first = cache.cached_definition(SPEC, WIRING, tmp_path)
    second = cache.cached_definition(SPEC, WIRING, tmp_path)
    assert first == second
    assert builds.call_count == 1
    assert builds.call_args.args == (SPEC, WIRING)
    assert [path.name for path in tmp_path.iterdir()] == [f"{cache.cache_key(SPEC, WIRING)}.json"]


def test_equal_inputs_from_another_load_hit_the_same_entry(tmp_path: Path, builds) -> None:
    reloaded = ModelSpec.model_validate(SPEC.model_dump())
    copied = PipelineWiring(**dataclasses.asdict(WIRING))
    cache.cached_definition(SPEC, WIRING, tmp_path)
    cache.cached_definition(reloaded, copied, tmp_path)
    assert builds.call_count == 1
    assert cache.cache_key(reloaded, copied) == cache.cache_key(SPEC, WIRING)


# One change in every section of the spec, nested values included.
SPEC_CHANGES: list[dict[str, Any]] = [
    {"description": "another"},
    {"data": {"label": "diagnosis"}},
    {"data": {"input_uri": "s3://my-data/breast-cancer/"}},
    {"preprocessing": {"categorical": ("colour",)}},
    {"preprocessing": {"test_fraction": 0.2}},
    {"preprocessing": {"instance_type": "ml.m5.2xlarge"}},
    {"training": {"version": "1.7-1"}},
    {"training": {"hyperparameters": {"max_depth": 6}}},
    {"training": {"spot": False}},
    {"training": {"max_wait_seconds": 7201}},
    {"tuning": {"max_jobs": 3, "max_parallel_jobs": 1}},
    {"tuning": {"ranges": {"eta": {"min": 0.05, "max": 0.2}}}},
    {"tuning": {"ranges": {"eta": {"min": 0.05, "max": 0.2, "scaling": "Logarithmic"}}}},
    {"tuning": None},
    {"evaluation": {"threshold": 0.95}},
    {"evaluation": {"metric": "f1"}},
    {"deployment": {"target_invocations_per_instance": 71}},
]


@pytest.mark.parametrize("changes", SPEC_CHANGES, ids=lambda changes: str(changes)[:50])
def test_a_change_to_any_spec_field_rebuilds(tmp_path: Path, builds, changes) -> None:
    changed = changed_spec(SPEC, changes)
    assert changed != SPEC
    cache.cached_definition(SPEC, WIRING, tmp_path)
    cache.cached_definition(changed, WIRING, tmp_path)
    assert builds.call_count == 2
    assert cache.cache_key(SPEC, WIRING) != cache.cache_key(changed, WIRING)


def test_another_model_s_spec_has_another_key() -> None:
    assert cache.cache_key(MULTICLASS.spec, WIRING) != cache.cache_key(SPEC, WIRING)


def _changed_value(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    assert isinstance(value, str)
    return f"{value}-2"


@pytest.mark.parametrize("field", [field.name for field in dataclasses.fields(PipelineWiring)])
def test_a_change_to_any_wiring_field_rebuilds(tmp_path: Path, builds, field: str) -> None:
    value = getattr(WIRING, field)
    changed = dataclasses.replace(WIRING, **{field: _changed_value(value)})
    assert changed != WIRING
    cache.cached_definition(SPEC, WIRING, tmp_path)
    cache.cached_definition(SPEC, changed, tmp_path)
    assert builds.call_count == 2
    assert cache.cache_key(SPEC, WIRING) != cache.cache_key(SPEC, changed)


PACKAGE_FILES = sorted(path.name for path in (REPO / "pipelines/definition").glob("*.py"))


@pytest.fixture
def package_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The fingerprint reads a copy of pipelines/definition/, so a test may change it."""
    copy = tmp_path / "definition"
    shutil.copytree(REPO / "pipelines/definition", copy, ignore=shutil.ignore_patterns("__py*"))
    monkeypatch.setattr(cache, "PACKAGE_DIR", copy)
    cache._builder_fingerprint.cache_clear()
    yield copy
    cache._builder_fingerprint.cache_clear()


def test_the_fingerprint_reads_every_file_of_the_package() -> None:
    assert cache.PACKAGE_DIR == REPO / "pipelines/definition"
    assert {"builder.py", "cache.py", "spec.py", "training.py", "sdk.py"} <= set(PACKAGE_FILES)


@pytest.mark.parametrize("name", PACKAGE_FILES)
def test_a_change_to_any_file_of_the_builder_package_rebuilds(
    tmp_path: Path, builds, package_copy: Path, name: str
) -> None:
    cache_dir = tmp_path / "cache"
    before = cache.cache_key(SPEC, WIRING)
    cache.cached_definition(SPEC, WIRING, cache_dir)
    with (package_copy / name).open("a") as source:
        source.write("\n# changed\n")
    cache._builder_fingerprint.cache_clear()
    assert cache.cache_key(SPEC, WIRING) != before
    cache.cached_definition(SPEC, WIRING, cache_dir)
    assert builds.call_count == 2


def test_a_new_file_in_the_builder_package_rebuilds(package_copy: Path) -> None:
    before = cache.cache_key(SPEC, WIRING)
    (package_copy / "extra.py").write_text("X = 1\n")
    cache._builder_fingerprint.cache_clear()
    assert cache.cache_key(SPEC, WIRING) != before


def test_another_sdk_version_rebuilds(monkeypatch: pytest.MonkeyPatch, package_copy: Path) -> None:
    before = cache.cache_key(SPEC, WIRING)
    real = metadata

    def version(package: str) -> str:
        return "0.0.1" if package == "sagemaker-core" else real.version(package)

    monkeypatch.setattr(
        cache,
        "metadata",
        SimpleNamespace(version=version, PackageNotFoundError=real.PackageNotFoundError),
    )
    cache._builder_fingerprint.cache_clear()
    assert cache.cache_key(SPEC, WIRING) != before


@pytest.mark.parametrize("damage", ['{"Steps": [', "[]", '{"Steps": {}}', ""])
def test_damaged_entry_is_rebuilt_not_trusted(tmp_path: Path, builds, damage: str) -> None:
    entry = tmp_path / f"{cache.cache_key(SPEC, WIRING)}.json"
    entry.write_text(damage)
    text = cache.cached_definition(SPEC, WIRING, tmp_path)
    assert builds.call_count == 1
    assert text.startswith('{"Steps": []')
    assert entry.read_text() == text  # and the entry is repaired


def test_cached_text_equals_a_real_build(tmp_path: Path, build: Build) -> None:
    """The session's real build, stored and read back, is byte-identical."""
    with mock.patch.object(cache, "build_definition", return_value=build.text) as stored_build:
        stored = cache.cached_definition(*EXAMPLE, tmp_path)
    assert stored_build.call_args.args == tuple(EXAMPLE)
    with mock.patch.object(cache, "build_definition", side_effect=AssertionError("rebuilt")):
        assert cache.cached_definition(*EXAMPLE, tmp_path) == stored == build.text
