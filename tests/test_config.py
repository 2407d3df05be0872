"""Settings: defaults, overrides from the command line, per-environment model overrides, and
one clear line per bad value."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from infra import config
from infra.config import (
    SETTING_PATHS,
    ConfigError,
    PipelineConfig,
    app_context,
    load_settings,
    profile_target,
)
from pipelines.definition import catalogue

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models/ folder with only the shipped example, so these tests do not depend on the
    other models' state."""
    models = tmp_path_factory.mktemp("models")
    shutil.copytree(ROOT / "models" / "breast-cancer", models / "breast-cancer")
    return models


@pytest.fixture
def settings_with(models_dir: Path) -> Any:
    def load(**overrides: Any) -> Any:
        return load_settings({**app_context(cli_context={}), **overrides}, models_dir)

    return load


def test_dev_needs_no_account_and_defaults_to_us_east_1(settings_with) -> None:
    settings = settings_with()
    assert settings.env_name == "dev"
    assert settings.account is None
    assert settings.region == "us-east-1"


def test_dev_deploys_to_the_profile_s_account_and_region_prod_stays_pinned(
    models_dir: Path,
) -> None:
    profile = {"account": "111122223333", "region": "eu-central-1"}
    context = app_context(cli_context={})
    dev = load_settings(context, models_dir, profile=profile)
    assert (dev.account, dev.region) == ("111122223333", "eu-central-1")
    prod = load_settings({**context, "env": "prod"}, models_dir, profile=profile)
    assert (prod.account, prod.region) == ("123456789012", "eu-west-1")
    # A -c override still beats the profile.
    pinned = load_settings({**context, "region": "us-west-2"}, models_dir, profile=profile)
    assert pinned.region == "us-west-2"


def test_the_profile_is_what_the_cdk_cli_resolved_else_botocore_s_region_variables() -> None:
    assert profile_target({}) == {}
    assert profile_target(
        {
            "CDK_DEFAULT_ACCOUNT": "111122223333",
            "CDK_DEFAULT_REGION": "eu-central-1",
            "AWS_REGION": "us-west-2",
        }
    ) == {"account": "111122223333", "region": "eu-central-1"}
    assert profile_target({"AWS_DEFAULT_REGION": "us-west-2"}) == {"region": "us-west-2"}


def test_env_selects_the_prod_example(settings_with) -> None:
    settings = settings_with(env="prod")
    assert settings.account == "123456789012"
    assert settings.termination_protection is True


def test_cli_overrides_reach_nested_settings_with_json_values(settings_with) -> None:
    settings = settings_with(
        **{
            "region": "eu-west-1",
            "storage.noncurrent_version_expiration_days": "45",
            "launch_agent.allow_image_build": "true",
            "launch_agent.trusted_principals": '["arn:aws:iam::111122223333:role/agent"]',
        }
    )
    assert settings.region == "eu-west-1"
    assert settings.storage.noncurrent_version_expiration_days == 45
    assert settings.launch_agent.allow_image_build is True
    assert settings.launch_agent.trusted_principals == ("arn:aws:iam::111122223333:role/agent",)


def test_every_documented_setting_is_overridable() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [path for path in sorted(SETTING_PATHS) if f"`{path}`" not in readme]
    assert missing == [], f"settings missing from the README table: {missing}"


def test_every_setting_the_readme_table_lists_exists() -> None:
    """The other direction: a setting that moved into the model specs is not still listed."""
    sections = {path.split(".")[0] for path in SETTING_PATHS if "." in path}
    rows = re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", (ROOT / "README.md").read_text(), re.M)
    listed = [row for row in rows if row.split(".")[0] in sections]
    assert listed  # the table is still there
    assert [row for row in listed if row not in SETTING_PATHS] == []


# -- the pipeline switches and the models ---------------------------------------------------------


def test_the_pipeline_section_holds_only_the_environment_switches(settings_with) -> None:
    assert set(PipelineConfig.model_fields) == {"approval_status", "data_capture"}
    assert {path for path in SETTING_PATHS if path.startswith("pipeline.")} == {
        "pipeline.approval_status",
        "pipeline.data_capture",
    }
    dev, prod = settings_with(), settings_with(env="prod")
    assert (dev.pipeline.approval_status, dev.pipeline.data_capture) == ("Approved", False)
    assert (prod.pipeline.approval_status, prod.pipeline.data_capture) == (
        "PendingManualApproval",
        True,
    )


def test_settings_carry_the_loaded_model_specs(settings_with, models_dir: Path) -> None:
    from pipelines.definition.spec import load_model_spec

    settings = settings_with()
    assert [spec.name for spec in settings.models] == ["breast-cancer"]
    assert settings.models[0] == load_model_spec(models_dir / "breast-cancer")
    assert "models" not in SETTING_PATHS  # set per model, never as one value


def test_an_environment_s_model_overrides_apply_to_that_model(settings_with) -> None:
    (dev,) = settings_with().models
    (prod,) = settings_with(env="prod").models
    assert dev.tuning is not None
    assert prod.tuning is not None
    assert (dev.tuning.max_jobs, dev.tuning.max_parallel_jobs) == (6, 2)
    assert (prod.tuning.max_jobs, prod.tuning.max_parallel_jobs) == (20, 4)  # cdk.json's prod
    assert (dev.deployment.max_capacity, prod.deployment.max_capacity) == (2, 4)
    assert prod.data == dev.data  # what prod does not override stays the file's


def test_cli_model_overrides_merge_with_the_environment_s(settings_with) -> None:
    (spec,) = settings_with(
        **{
            "env": "prod",
            "models.breast-cancer.tuning.max_parallel_jobs": "5",
            "models.breast-cancer.training.spot": "false",
            "models.breast-cancer.preprocessing.categorical": '["colour", "region"]',
            "models.breast-cancer.evaluation": '{"metric": "f1", "threshold": 0.8}',
        }
    ).models
    assert spec.tuning is not None
    assert (spec.tuning.max_jobs, spec.tuning.max_parallel_jobs) == (20, 5)
    assert spec.training.spot is False
    assert spec.preprocessing.categorical == ("colour", "region")
    assert (spec.gate_metric, spec.gate_threshold) == ("f1", 0.8)


def test_models_of_an_environment_must_be_an_object(settings_with) -> None:
    environments = {"dev": {"models": ["breast-cancer"]}}
    with pytest.raises(ConfigError) as raised:
        settings_with(environments=environments)
    assert str(raised.value) == "setting models = ['breast-cancer']: must be an object per model"


BAD_INPUTS = [
    (
        {"env": "staging"},
        "setting env = 'staging': not defined in cdk.json; choose one of dev, prod",
    ),
    ({"account": "12345"}, "setting account = '12345': must be a 12-digit AWS account ID"),
    ({"region": "us-east-9"}, "setting region = 'us-east-9': not an AWS region"),
    ({"project_prefix": "ML_Platform"}, "setting project_prefix = 'ML_Platform': must be 3-20"),
    ({"project_prefix": "a-very-long-project-prefix"}, "setting project_prefix = 'a-very-long"),
    (
        {"launch_agent.instance_type": "ml.m5.huge"},
        "setting launch_agent.instance_type = 'ml.m5.huge': not a SageMaker training instance",
    ),
    (
        {"launch_agent.instance_type": "ml.t2.medium"},
        "setting launch_agent.instance_type = 'ml.t2.medium': not a SageMaker training",
    ),
    (
        {"launch_agent.instance_count": "0"},
        "setting launch_agent.instance_count = '0': Input should",
    ),
    (
        {"launch_agent.max_runtime_seconds": "3000000"},
        "setting launch_agent.max_runtime_seconds = '3000000': Input should be less than or equal",
    ),
    (
        {"storage.noncurrent_version_expiration_days": "-1"},
        "setting storage.noncurrent_version_expiration_days = '-1': Input should be greater",
    ),
    (
        {"repositories.keep_last_images": "many"},
        "setting repositories.keep_last_images = 'many': Input should be a valid integer",
    ),
    (
        {"launch_agent.trusted_principals": '["arn:aws:iam::123:role/x"]'},
        "setting launch_agent.trusted_principals.0 = 'arn:aws:iam::123:role/x': must be an IAM",
    ),
    (
        {"launch_agent.job_name_prefix": "-bad-"},
        "setting launch_agent.job_name_prefix = '-bad-': must be 1-40 characters",
    ),
    (
        {"launch_agent.job_name_prefix": "a" * 41},
        f"setting launch_agent.job_name_prefix = '{'a' * 41}': must be 1-40 characters of a "
        "SageMaker job name: letters, digits and hyphens, not starting or ending with a hyphen, "
        "so that '<prefix>-<run id>' fits SageMaker's 63-character limit",
    ),
    ({"storage.versioning": "false"}, "unknown setting 'storage.versioning'; known settings:"),
    (
        {"launch_agent.allow_image_build": "maybe"},
        "setting launch_agent.allow_image_build = 'maybe': Input should be a valid boolean",
    ),
    (
        {"pipeline.approval_status": "Rejected"},
        "setting pipeline.approval_status = 'Rejected': must be Approved or PendingManualApproval",
    ),
    # Settings that moved into the model specs are unknown here now.
    (
        {"pipeline.tuning_max_jobs": "3"},
        "unknown setting 'pipeline.tuning_max_jobs'; known settings:",
    ),
    (
        {"pipeline.target_invocations_per_instance": "100"},
        "unknown setting 'pipeline.target_invocations_per_instance'; known settings:",
    ),
    # Per-model overrides: models.<model>.<spec field>.
    (
        {"models.breast-cancer.tuning.max_jobs": "0"},
        "models/breast-cancer/model.toml with override models.breast-cancer: "
        "setting tuning.max_jobs = '0': Input should be greater than or equal to 1",
    ),
    (
        {"models.breast-cancer.tuning.max_parallel_jobs": "9"},
        "models/breast-cancer/model.toml with override models.breast-cancer: "
        "tuning.max_parallel_jobs (9) must be <= tuning.max_jobs (6)",
    ),
    (
        {"models.breast-cancer.training.instance_type": "ml.m5.huge"},
        "models/breast-cancer/model.toml with override models.breast-cancer: "
        "setting training.instance_type = 'ml.m5.huge': not a SageMaker training instance type",
    ),
    (
        {"models.breast-cancer.training.spotty": "true"},
        "models/breast-cancer/model.toml with override models.breast-cancer: "
        "unknown setting 'training.spotty'",
    ),
    (
        {"models.breast-cancer.name": "other"},
        "models/breast-cancer/model.toml: unknown setting 'name'; a model is named by its folder",
    ),
    (
        {"models.nope.x": "1"},
        "setting models.nope: no such model folder; models are breast-cancer",
    ),
    ({"models.breast-cancer": "x"}, "unknown setting 'models.breast-cancer'; known settings:"),
    # A typo without a dot is refused like one with a dot, with the closest names.
    (
        {"project_prefx": "team-a"},
        "unknown setting 'project_prefx' (did you mean project_prefix?); known settings:",
    ),
    ({"regoin": "eu-west-1"}, "unknown setting 'regoin' (did you mean region?); known settings:"),
    ({"approval": "Approved"}, "unknown setting 'approval'; known settings:"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUTS, ids=lambda v: str(v)[:40])
def test_bad_value_fails_with_one_line_naming_it(
    settings_with, overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        settings_with(**overrides)
    text = str(raised.value)
    assert text.startswith(message), text
    assert "\n" not in text


def test_the_unknown_setting_line_says_how_to_override_a_model(settings_with) -> None:
    with pytest.raises(ConfigError) as raised:
        settings_with(**{"pipeline.use_spot": "false"})
    assert str(raised.value).endswith("and models.<model>.<spec field>")
    assert "pipeline.approval_status, pipeline.data_capture" in str(raised.value)


def test_cdk_owned_context_keys_are_not_settings(settings_with) -> None:
    settings = settings_with(
        **{
            "cli-telemetry": "false",
            "acknowledged-issue-numbers": "[1234]",
            "@aws-cdk/core:newStyleStackSynthesis": "true",
            "aws:cdk:enable-path-metadata": "true",
            "availability-zones:account=123456789012:region=us-east-1": '["us-east-1a"]',
        }
    )
    assert settings.project_prefix == "mlops-dev"


# As the Makefile exports it: jsii's end-of-life banner for the pinned Node would otherwise
# precede the error line when the tests run without make.
NODE_BANNER = re.search(
    r"^export (JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION) := (\S+)$",
    (ROOT / "Makefile").read_text(),
    re.M,
)


PROFILE_VARIABLES = (
    "CDK_DEFAULT_ACCOUNT",
    "CDK_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


def run_app(
    tmp_path: Path, context: dict[str, str], profile: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # The machine's own profile variables must not change what the app under test sees.
    env = {k: v for k, v in os.environ.items() if k not in PROFILE_VARIABLES}
    env.update(profile or {})
    env.update(CDK_CONTEXT_JSON=json.dumps(context), CDK_OUTDIR=str(tmp_path))
    if NODE_BANNER:
        env.setdefault(NODE_BANNER.group(1), NODE_BANNER.group(2))
    return subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def test_app_rejects_bad_setting_with_one_line_no_traceback_and_writes_nothing(
    tmp_path: Path,
) -> None:
    outdir = tmp_path / "out"
    result = run_app(outdir, {"launch_agent.volume_size_gb": "0"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: setting launch_agent.volume_size_gb = '0': "
        "Input should be greater than or equal to 1"
    ]
    assert "Traceback" not in result.stderr
    assert not outdir.exists()


def test_app_takes_dev_s_region_from_the_cdk_cli_and_names_it_when_it_is_bad(
    tmp_path: Path,
) -> None:
    result = run_app(tmp_path / "out", {}, profile={"CDK_DEFAULT_REGION": "us-east-9"})
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        .splitlines()[0]
        .startswith("error: setting region = 'us-east-9': not an AWS region")
    )


# -- botocore facts and framework versions (pipelines.definition.catalogue) -----------------------


def test_config_uses_the_catalogue_s_facts_and_keeps_no_copy() -> None:
    assert vars(config)["botocore_facts"] is catalogue.botocore_facts
    assert not hasattr(config, "_read_botocore_facts")
    assert not hasattr(config, "_botocore_facts")


def test_cached_botocore_facts_equal_botocore_and_a_damaged_cache_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = catalogue._read_botocore_facts()
    monkeypatch.setattr(catalogue, "BUILD_DIR", tmp_path)
    catalogue.botocore_facts.cache_clear()
    try:
        assert catalogue.botocore_facts() == {k: frozenset(v) for k, v in fresh.items()}
        (entry,) = tmp_path.glob("botocore-*-sagemaker-facts.json")
        assert entry.name == f"botocore-{metadata.version('botocore')}-sagemaker-facts.json"
        for damage in ("{broken", json.dumps({"regions": ["us-east-1"]})):
            entry.write_text(damage)
            catalogue.botocore_facts.cache_clear()
            assert "ml.m5.xlarge" in catalogue.botocore_facts()["TrainingInstanceType"]
            assert set(json.loads(entry.read_text())) == set(fresh)
    finally:
        catalogue.botocore_facts.cache_clear()


def test_a_cached_entry_is_used_without_reading_botocore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = tmp_path / f"botocore-{metadata.version('botocore')}-sagemaker-facts.json"
    shapes = {shape: ["ml.fake.large"] for shape in catalogue.ENUM_SHAPES}
    entry.write_text(json.dumps({**shapes, "regions": ["xx-test-1"]}))
    monkeypatch.setattr(catalogue, "BUILD_DIR", tmp_path)

    def unexpected() -> dict[str, list[str]]:
        raise AssertionError("botocore read despite a valid cache entry")

    monkeypatch.setattr(catalogue, "_read_botocore_facts", unexpected)
    catalogue.botocore_facts.cache_clear()
    try:
        assert catalogue.botocore_facts()["regions"] == frozenset({"xx-test-1"})
    finally:
        catalogue.botocore_facts.cache_clear()


def test_framework_versions_come_from_the_sdk_s_image_catalogue_sorted() -> None:
    versions = catalogue.framework_versions("xgboost")
    assert "3.0-5" in versions
    assert "1.7-1" in versions
    assert not {"1", "latest"} & set(versions)
    assert list(versions) == sorted(versions, key=catalogue._version_key)
    assert versions.index("1.7-1") < versions.index("3.0-5")
    assert "1.2-1" in catalogue.framework_versions("sklearn")
