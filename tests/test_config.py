"""Settings: defaults, overrides from the command line, and one clear line per bad value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.config import SETTING_PATHS, ConfigError, app_context, load_settings

ROOT = Path(__file__).resolve().parent.parent


def settings_with(**overrides: Any) -> Any:
    return load_settings({**app_context(cli_context={}), **overrides})


def test_dev_needs_no_account_and_defaults_to_us_east_1() -> None:
    settings = settings_with()
    assert settings.env_name == "dev"
    assert settings.account is None
    assert settings.region == "us-east-1"


def test_env_selects_the_prod_example() -> None:
    settings = settings_with(env="prod")
    assert settings.account == "123456789012"
    assert settings.termination_protection is True


def test_cli_overrides_reach_nested_settings_with_json_values() -> None:
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
]


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUTS, ids=lambda v: str(v)[:40])
def test_bad_value_fails_with_one_line_naming_it(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings_with(**overrides)
    text = str(raised.value)
    assert text.startswith(message), text
    assert "\n" not in text


def run_app(tmp_path: Path, context: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)}
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


def test_cached_botocore_facts_equal_botocore_and_a_damaged_cache_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra import config

    fresh = config._read_botocore_facts()
    monkeypatch.setattr(config, "BUILD_DIR", tmp_path)
    config._botocore_facts.cache_clear()
    try:
        assert config._botocore_facts() == {k: frozenset(v) for k, v in fresh.items()}
        (entry,) = tmp_path.glob("botocore-*-sagemaker-facts.json")
        entry.write_text("{broken")
        config._botocore_facts.cache_clear()
        assert "ml.m5.xlarge" in config._sagemaker_enum("TrainingInstanceType")
        assert "regions" in json.loads(entry.read_text())
    finally:
        config._botocore_facts.cache_clear()
