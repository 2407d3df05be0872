"""Typed, validated settings for the whole app.

The only module that reads CDK context, cdk.json or the environment. Everything downstream
receives a frozen ``Settings`` object; a bad value stops synth here with one line that names
the setting, the value and what is allowed.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, ValidationError, model_validator

from pipelines.definition.catalogue import botocore_facts
from pipelines.definition.fields import ApprovalStatus, Section, TrainingInstanceType, pattern
from pipelines.definition.fields import describe_error as _describe_field
from pipelines.definition.spec import ModelSpec, SpecError, discover_models
from pipelines.names import PROJECT_PREFIX, PROJECT_PREFIX_RULE
from pipelines.project import BUILD_DIR, MODELS_DIR, PROJECT_ROOT

CDK_JSON = PROJECT_ROOT / "cdk.json"
__all__ = [
    "BUILD_DIR",
    "MODELS_DIR",
    "PROJECT_ROOT",
    "ConfigError",
    "Settings",
    "load_settings",
    "profile_target",
]

# Context keys the CDK itself or this loader owns; never treated as setting overrides. Feature
# flags start with "@", the CLI's own keys with "aws:", and lookup results cached in
# cdk.context.json carry colons ("availability-zones:account=...:region=...").
_RESERVED_CONTEXT_KEYS = frozenset(
    {"env", "environments", "cli-telemetry", "acknowledged-issue-numbers"}
)


class ConfigError(Exception):
    """A user mistake in configuration: the message is the one line shown to the user."""


def _check_region(value: str) -> str:
    if value not in botocore_facts()["regions"]:
        raise ValueError(
            "not an AWS region where SageMaker is available (e.g. us-east-1, eu-west-1)"
        )
    return value


ProjectPrefix = Annotated[str, pattern(PROJECT_PREFIX.pattern, PROJECT_PREFIX_RULE)]
AccountId = Annotated[str, pattern(r"\d{12}", "a 12-digit AWS account ID")]
Region = Annotated[str, AfterValidator(_check_region)]
PrincipalArn = Annotated[
    str,
    pattern(
        r"arn:aws(-cn|-us-gov)?:iam::\d{12}:(root|role/[\w+=,.@/-]{1,512}|user/[\w+=,.@/-]{1,512})",
        "an IAM principal ARN: arn:aws:iam::<12 digits>:root, :role/<name> or :user/<name>",
    ),
]
# Launchers name jobs "<prefix>-<run id>" (W&B: an 8-character run id) and SageMaker caps job
# names at 63 characters: 40 leaves room for the hyphen and a run id of up to 22 characters.
SageMakerNamePrefix = Annotated[
    str,
    pattern(
        r"(?=.{1,40}$)[a-zA-Z0-9](-*[a-zA-Z0-9])*",
        "1-40 characters of a SageMaker job name: letters, digits and hyphens, not starting or "
        "ending with a hyphen, so that '<prefix>-<run id>' fits SageMaker's 63-character limit",
    ),
]


class StorageSettings(Section):
    noncurrent_version_expiration_days: int = Field(default=30, ge=1, le=3650)
    abort_incomplete_upload_days: int = Field(default=7, ge=1, le=365)


class RepositorySettings(Section):
    keep_last_images: int = Field(default=20, ge=1, le=1000)
    untagged_expiration_days: int = Field(default=7, ge=1, le=365)


class LaunchAgentSettings(Section):
    # Empty means the deploying account itself: its IAM administrators then decide who may
    # assume the role, which is the safe default for a fresh account.
    trusted_principals: tuple[PrincipalArn, ...] = ()
    job_name_prefix: SageMakerNamePrefix | None = None
    allow_image_build: bool = False
    instance_type: TrainingInstanceType = "ml.m5.xlarge"
    instance_count: int = Field(default=1, ge=1, le=100)
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    max_runtime_seconds: int = Field(default=3600, ge=1, le=2_419_200)


class PipelineConfig(Section):
    """Environment-wide switches of every model's pipeline; what a model trains, tunes, gates
    and deploys is in its spec (models/<name>/model.toml), overridable per environment under
    ``models.<name>``."""

    # The default of each pipeline's ModelApprovalStatus parameter.
    approval_status: ApprovalStatus = "PendingManualApproval"
    data_capture: bool = False


GitHubRepository = Annotated[
    str,
    pattern(
        r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}",
        "<owner>/<repository> on GitHub, e.g. acme/ml-platform",
    ),
]
GitBranch = Annotated[
    str,
    pattern(
        r"(?!refs/)[^\s~^:?*\[\\]{1,255}", "a branch name without refs/heads/ and without wildcards"
    ),
]
GitHubOidcProviderArn = Annotated[
    str,
    pattern(
        r"arn:aws(-cn|-us-gov)?:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com",
        "the ARN of the account's token.actions.githubusercontent.com OIDC provider",
    ),
]


class GitHubSettings(Section):
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


class Settings(Section):
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
    # The declared models (models/<name>/model.toml) with this environment's overrides.
    models: tuple[ModelSpec, ...] = ()

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


SETTING_PATHS = frozenset(_setting_paths(Settings) - {"env_name", "models"})


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


def _is_cdk_key(key: str) -> bool:
    return key in _RESERVED_CONTEXT_KEYS or key.startswith("@") or ":" in key


def _unknown_setting(key: str) -> ConfigError:
    closest = difflib.get_close_matches(key, sorted(SETTING_PATHS), n=3, cutoff=0.6)
    hint = f" (did you mean {' or '.join(closest)}?)" if closest else ""
    return ConfigError(
        f"unknown setting {key!r}{hint}; known settings: {', '.join(sorted(SETTING_PATHS))} "
        "and models.<model>.<spec field>"
    )


def _is_model_override(key: str) -> bool:
    # models.<name>.<field path>: validated against that model's spec when it is loaded.
    return key.startswith("models.") and key.count(".") >= 2


def load_settings(
    context: Mapping[str, Any],
    models_dir: Path = MODELS_DIR,
    *,
    profile: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings of the environment named by ``context['env']`` plus overrides, with
    the model specs found under ``models_dir``.

    ``profile`` is the deploying AWS profile's account and region (``profile_target()``): they
    fill whichever of the two the environment leaves unset. Without it (tests, a synth without
    credentials) an unset account stays environment-agnostic and the region is us-east-1, so
    synth stays offline and deterministic.
    """
    environments = context.get("environments") or {}
    env_name = context.get("env", "dev")
    if env_name not in environments:
        raise ConfigError(
            f"setting env = {env_name!r}: not defined in cdk.json; choose one of "
            f"{', '.join(sorted(environments)) or '(none defined)'}"
        )
    raw: dict[str, Any] = json.loads(json.dumps(environments[env_name]))
    for key in sorted(context):
        if _is_cdk_key(key):
            continue
        # A typo without a dot ("project_prefx") is as much a mistake as one with a dot.
        if key not in SETTING_PATHS and not _is_model_override(key):
            raise _unknown_setting(key)
        _apply_override(raw, key, context[key])
    for key, value in (profile or {}).items():
        raw.setdefault(key, value)
    model_overrides = raw.pop("models", None) or {}
    if not isinstance(model_overrides, dict):
        raise ConfigError(f"setting models = {model_overrides!r}: must be an object per model")
    try:
        models = discover_models(models_dir, model_overrides)
        return Settings(env_name=env_name, models=models, **raw)
    except SpecError as error:
        raise ConfigError(str(error)) from None
    except ValidationError as error:
        raise ConfigError(_describe_field(error.errors()[0], known=SETTING_PATHS)) from None


# What the CDK CLI resolved from the AWS profile and passes to the app; outside the CLI
# (make queue-config), the variables botocore itself reads the region from.
_PROFILE_VARIABLES = {
    "account": ("CDK_DEFAULT_ACCOUNT",),
    "region": ("CDK_DEFAULT_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"),
}


def profile_target(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The deploying profile's account and region, as far as the environment names them: the
    ``profile`` of ``load_settings``, so an environment that pins neither (dev) deploys where
    the user's credentials point, as ``cdk init`` apps do."""
    environ = os.environ if environ is None else environ
    found = {}
    for setting, variables in _PROFILE_VARIABLES.items():
        value = next((environ[name] for name in variables if environ.get(name)), None)
        if value is not None:
            found[setting] = value
    return found


def app_context(cli_context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The context a run of app.py sees, the same whether or not the CDK CLI started it.

    The CLI passes cdk.json's context plus ``-c`` values in CDK_CONTEXT_JSON; a direct
    ``python app.py`` gets nothing, so cdk.json is read here and the CLI's values win.
    """
    file_context = json.loads(CDK_JSON.read_text())["context"]
    if cli_context is None:
        cli_context = json.loads(os.environ.get("CDK_CONTEXT_JSON") or "{}")
    return {**file_context, **cli_context}
