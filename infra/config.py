"""Typed, validated settings for the whole app.

The only module that reads CDK context, cdk.json or the environment. Everything downstream
receives a frozen ``Settings`` object; a bad value stops synth here with one line that names
the setting, the value and what is allowed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from pipelines.files import write_atomically

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = PROJECT_ROOT / "cdk.json"

# Context keys the CDK itself or this loader owns; never treated as setting overrides.
_RESERVED_CONTEXT_KEYS = frozenset({"env", "environments"})


class ConfigError(Exception):
    """A user mistake in configuration: the message is the one line shown to the user."""


ENUM_SHAPES = ("TrainingInstanceType", "ProcessingInstanceType", "ProductionVariantInstanceType")
BUILD_DIR = PROJECT_ROOT / ".build"


def _read_botocore_facts() -> dict[str, list[str]]:
    # botocore ships the SageMaker API model and the endpoint data, so the allowed values are
    # the service's own, versioned with the pinned botocore, and read without a network call.
    import botocore.session  # noqa: PLC0415 - 0.5 s with the model: only on a cache miss

    session = botocore.session.get_session()
    model = session.get_service_model("sagemaker")
    facts = {shape: sorted(model.shape_for(shape).enum) for shape in ENUM_SHAPES}
    facts["regions"] = sorted(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("sagemaker", partition_name=partition)
    )
    return facts


@cache
def _botocore_facts() -> dict[str, frozenset[str]]:
    """The enums and regions, cached per botocore version under .build/ (any change to the
    pinned botocore reads its model afresh; a damaged cache entry is rebuilt)."""
    entry = BUILD_DIR / f"botocore-{metadata.version('botocore')}-sagemaker-facts.json"
    try:
        facts = json.loads(entry.read_text())
        if not set(ENUM_SHAPES) | {"regions"} <= facts.keys():
            raise ValueError(entry)
    except (OSError, ValueError):
        facts = _read_botocore_facts()
        write_atomically(entry, json.dumps(facts, indent=0))
    return {name: frozenset(values) for name, values in facts.items()}


def _sagemaker_enum(shape_name: str) -> frozenset[str]:
    return _botocore_facts()[shape_name]


def _known_regions() -> frozenset[str]:
    return _botocore_facts()["regions"]


def _instance_type_validator(shape_name: str, use: str) -> AfterValidator:
    def check(value: str) -> str:
        allowed = _sagemaker_enum(shape_name)
        if value not in allowed:
            raise ValueError(
                f"not a SageMaker {use} instance type; allowed: {len(allowed)} values of "
                f"botocore's {shape_name}, e.g. {', '.join(sorted(allowed)[:3])}"
            )
        return value

    return AfterValidator(check)


def _check_region(value: str) -> str:
    if value not in _known_regions():
        raise ValueError(
            "not an AWS region where SageMaker is available (e.g. us-east-1, eu-west-1)"
        )
    return value


def _pattern(regex: str, allowed: str) -> AfterValidator:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"must be {allowed}")
        return value

    return AfterValidator(check)


# One prefix names every physical resource a user must know; it has to satisfy the strictest
# of the S3, ECR and SageMaker naming rules at once, with room for suffixes.
ProjectPrefix = Annotated[
    str,
    _pattern(
        r"(?=.{3,20}$)[a-z][a-z0-9]*(-[a-z0-9]+)*",
        "3-20 characters: lowercase letters, digits and single inner hyphens, "
        "starting with a letter",
    ),
]
AccountId = Annotated[str, _pattern(r"\d{12}", "a 12-digit AWS account ID")]
Region = Annotated[str, AfterValidator(_check_region)]
PrincipalArn = Annotated[
    str,
    _pattern(
        r"arn:aws(-cn|-us-gov)?:iam::\d{12}:(root|role/[\w+=,.@/-]{1,512}|user/[\w+=,.@/-]{1,512})",
        "an IAM principal ARN: arn:aws:iam::<12 digits>:root, :role/<name> or :user/<name>",
    ),
]
# Launchers name jobs "<prefix>-<run id>" (W&B: an 8-character run id) and SageMaker caps job
# names at 63 characters: 40 leaves room for the hyphen and a run id of up to 22 characters.
SageMakerNamePrefix = Annotated[
    str,
    _pattern(
        r"(?=.{1,40}$)[a-zA-Z0-9](-*[a-zA-Z0-9])*",
        "1-40 characters of a SageMaker job name: letters, digits and hyphens, not starting or "
        "ending with a hyphen, so that '<prefix>-<run id>' fits SageMaker's 63-character limit",
    ),
]
TrainingInstanceType = Annotated[str, _instance_type_validator("TrainingInstanceType", "training")]
ProcessingInstanceType = Annotated[
    str, _instance_type_validator("ProcessingInstanceType", "processing")
]
EndpointInstanceType = Annotated[
    str, _instance_type_validator("ProductionVariantInstanceType", "endpoint")
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageSettings(_Section):
    noncurrent_version_expiration_days: int = Field(default=30, ge=1, le=3650)
    abort_incomplete_upload_days: int = Field(default=7, ge=1, le=365)


class RepositorySettings(_Section):
    keep_last_images: int = Field(default=20, ge=1, le=1000)
    untagged_expiration_days: int = Field(default=7, ge=1, le=365)


class LaunchAgentSettings(_Section):
    # Empty means the deploying account itself: its IAM administrators then decide who may
    # assume the role, which is the safe default for a fresh account.
    trusted_principals: tuple[PrincipalArn, ...] = ()
    job_name_prefix: SageMakerNamePrefix | None = None
    allow_image_build: bool = False
    instance_type: TrainingInstanceType = "ml.m5.xlarge"
    instance_count: int = Field(default=1, ge=1, le=100)
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    max_runtime_seconds: int = Field(default=3600, ge=1, le=2_419_200)


class PipelineConfig(_Section):
    """Defaults of the SageMaker pipeline; most are pipeline parameters a run may override."""

    processing_instance_type: ProcessingInstanceType = "ml.m5.xlarge"
    training_instance_type: TrainingInstanceType = "ml.m5.xlarge"
    endpoint_instance_type: EndpointInstanceType = "ml.m5.large"
    # The SDK takes tuning budgets and spot only as plain values, not pipeline parameters.
    tuning_max_jobs: int = Field(default=6, ge=1, le=500)
    tuning_max_parallel_jobs: int = Field(default=2, ge=1, le=100)
    use_spot: bool = True
    max_runtime_seconds: int = Field(default=3600, ge=60, le=2_419_200)
    max_wait_seconds: int = Field(default=7200, ge=60, le=2_419_200)
    approval_status: Annotated[
        str,
        _pattern(
            "Approved|PendingManualApproval",
            "Approved or PendingManualApproval (a new model is never registered as Rejected)",
        ),
    ] = "PendingManualApproval"
    quality_threshold: float = Field(default=0.9, ge=0.5, le=1.0)
    data_capture: bool = False
    autoscaling_min_capacity: int = Field(default=1, ge=1, le=100)
    autoscaling_max_capacity: int = Field(default=2, ge=1, le=100)
    target_invocations_per_instance: int = Field(default=70, ge=1, le=100_000)

    @model_validator(mode="after")
    def _consistent(self) -> PipelineConfig:
        if self.tuning_max_parallel_jobs > self.tuning_max_jobs:
            raise ValueError(
                f"pipeline.tuning_max_parallel_jobs ({self.tuning_max_parallel_jobs}) must be "
                f"<= pipeline.tuning_max_jobs ({self.tuning_max_jobs})"
            )
        if self.use_spot and self.max_wait_seconds < self.max_runtime_seconds:
            raise ValueError(
                f"pipeline.max_wait_seconds ({self.max_wait_seconds}) must be >= "
                f"pipeline.max_runtime_seconds ({self.max_runtime_seconds}) with spot training"
            )
        if self.autoscaling_min_capacity > self.autoscaling_max_capacity:
            raise ValueError(
                f"pipeline.autoscaling_min_capacity ({self.autoscaling_min_capacity}) must be "
                f"<= pipeline.autoscaling_max_capacity ({self.autoscaling_max_capacity})"
            )
        return self


GitHubRepository = Annotated[
    str,
    _pattern(
        r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}",
        "<owner>/<repository> on GitHub, e.g. acme/ml-platform",
    ),
]
GitBranch = Annotated[
    str,
    _pattern(
        r"(?!refs/)[^\s~^:?*\[\\]{1,255}", "a branch name without refs/heads/ and without wildcards"
    ),
]
GitHubOidcProviderArn = Annotated[
    str,
    _pattern(
        r"arn:aws(-cn|-us-gov)?:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com",
        "the ARN of the account's token.actions.githubusercontent.com OIDC provider",
    ),
]


class GitHubSettings(_Section):
    """Deploy from GitHub Actions with OIDC: a role only the configured branch can assume."""

    enabled: bool = False
    repository: GitHubRepository | None = None
    branch: GitBranch = "main"
    # Must match deploy.yml's `environment:`, which becomes the token's subject claim.
    environment: str | None = "production"
    # An account can hold one provider per URL: import an existing one instead of creating.
    create_oidc_provider: bool = True
    oidc_provider_arn: GitHubOidcProviderArn | None = None

    @model_validator(mode="after")
    def _consistent(self) -> GitHubSettings:
        if self.enabled and self.repository is None:
            raise ValueError("github.repository is required when github.enabled is true")
        if self.create_oidc_provider and self.oidc_provider_arn is not None:
            raise ValueError(
                "github.oidc_provider_arn imports an existing provider: "
                "set github.create_oidc_provider to false with it"
            )
        if self.enabled and not self.create_oidc_provider and self.oidc_provider_arn is None:
            raise ValueError(
                "github.oidc_provider_arn is required when github.create_oidc_provider is false"
            )
        return self


class Settings(_Section):
    """Every setting of one environment. Field docs live in the README's configuration table."""

    env_name: str = "dev"
    project_prefix: ProjectPrefix = "mlops"
    account: AccountId | None = None
    region: Region = "us-east-1"
    termination_protection: bool = False
    storage: StorageSettings = StorageSettings()
    repositories: RepositorySettings = RepositorySettings()
    launch_agent: LaunchAgentSettings = LaunchAgentSettings()
    pipeline: PipelineConfig = PipelineConfig()
    github: GitHubSettings = GitHubSettings()

    @property
    def training_job_prefix(self) -> str:
        return self.launch_agent.job_name_prefix or f"{self.project_prefix}-launch"

    def stack_name(self, component: str) -> str:
        return f"{self.project_prefix}-{component}"


def _setting_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths |= _setting_paths(annotation, f"{prefix}{name}.")
        else:
            paths.add(f"{prefix}{name}")
    return paths


SETTING_PATHS = frozenset(_setting_paths(Settings) - {"env_name"})


def _parse_cli_value(raw: Any) -> Any:
    # `cdk -c key=value` always delivers strings. Lists and objects are read as JSON
    # (`-c 'launch_agent.trusted_principals=["arn:..."]'`); scalars stay strings and the model
    # converts "45" or "true" itself, so an account ID like "012345678901" keeps its zero.
    if isinstance(raw, str) and raw.lstrip().startswith(("[", "{")):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _apply_override(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = target
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"setting {dotted!r}: {part!r} is not a section")
    node[leaf] = _parse_cli_value(value)


def _is_override_key(key: str) -> bool:
    if key in _RESERVED_CONTEXT_KEYS or key.startswith(("@", "aws:", "cdk")):
        return False
    return "." in key or key in SETTING_PATHS


def _describe(error: ErrorDetails) -> str:
    location = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "value_error" and isinstance(error["input"], dict):
        # A rule across several settings of one section: the message names them itself.
        return f"settings {location or '(top level)'}: {message}"
    if error["type"] == "extra_forbidden":
        return f"unknown setting {location!r}; known settings: {', '.join(sorted(SETTING_PATHS))}"
    return f"setting {location} = {error['input']!r}: {message}"


def load_settings(context: Mapping[str, Any]) -> Settings:
    """Build the settings of the environment named by ``context['env']`` plus overrides."""
    environments = context.get("environments") or {}
    env_name = context.get("env", "dev")
    if env_name not in environments:
        raise ConfigError(
            f"setting env = {env_name!r}: not defined in cdk.json; choose one of "
            f"{', '.join(sorted(environments)) or '(none defined)'}"
        )
    raw: dict[str, Any] = json.loads(json.dumps(environments[env_name]))
    for key in sorted(context):
        if not _is_override_key(key):
            continue
        if key not in SETTING_PATHS:
            raise ConfigError(
                f"unknown setting {key!r}; known settings: {', '.join(sorted(SETTING_PATHS))}"
            )
        _apply_override(raw, key, context[key])
    try:
        return Settings(env_name=env_name, **raw)
    except ValidationError as error:
        raise ConfigError(_describe(error.errors()[0])) from None


def app_context(cli_context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The context a run of app.py sees, the same whether or not the CDK CLI started it.

    The CLI passes cdk.json's context plus ``-c`` values in CDK_CONTEXT_JSON; a direct
    ``python app.py`` gets nothing, so cdk.json is read here and the CLI's values win.
    """
    file_context = json.loads(CDK_JSON.read_text())["context"]
    if cli_context is None:
        cli_context = json.loads(os.environ.get("CDK_CONTEXT_JSON") or "{}")
    return {**file_context, **cli_context}
