"""The SageMaker SDK, made to build a definition offline and deterministically.

While a build runs, ``offline_sdk()`` sets a few environment variables and patches three SDK
functions, and it puts all of them back afterwards (so it is not thread-safe): no AWS or
network call, no SDK or Studio config read from the machine, no log noise. ``session()`` gives
a PipelineSession whose default bucket never probes S3.
"""

# sagemaker (2 s, 250 MB to import) is imported inside the build only, never at import time.
# ruff: noqa: PLC0415

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from collections.abc import Iterator
from typing import Any

from pipelines.environment import temporary_environment

# The SDK's own config, passed explicitly so no ~/.config/sagemaker/config.yaml is read, with
# telemetry (an STS call plus an HTTPS GET per run()/train()/build()/register()) turned off.
SDK_CONFIG: dict[str, Any] = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}

# The environment during a build (None = unset). sagemaker.mlops/serve create boto3 clients in
# class bodies at import (NoRegionError without a region), and every client resolves
# credentials when it is created: without this a build would probe the EC2 metadata service,
# run a profile's credential_process, or fail on an AWS_PROFILE that does not exist here. The
# definition needs no credentials, so the build gets dummy ones and no AWS config files. The
# role check (ModelTrainer, ModelBuilder) would call iam:SimulatePrincipalPolicy.
_OFFLINE_ENV: dict[str, str | None] = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "SAGEMAKER_VALIDATE_ROLE": "false",
    "AWS_ACCESS_KEY_ID": "offline-build",
    "AWS_SECRET_ACCESS_KEY": "offline-build",
    "AWS_SESSION_TOKEN": None,
    "AWS_PROFILE": None,
    "AWS_DEFAULT_PROFILE": None,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}

# Expected, harmless warnings of a declarative build: "no job is started" (once per captured
# run/train/tune/build/register) and "the Lambda is not updated" (we pass an existing ARN).
_SDK_WARNINGS = (
    r"Running within a PipelineSession",
    r"Lambda function won't be updated",
)


# The SDK's loggers: besides INFO chatter ("Applied value from config key ...", "Not applying
# SDK defaults ...") they warn about things a declarative build does on purpose.
_SDK_LOGGERS = ("sagemaker", "sagemaker.config")


@contextlib.contextmanager
def _quiet_sdk() -> Iterator[None]:
    """Silence the SDK's warnings and logging; restore the logging state afterwards.

    Importing sagemaker runs ``logging.basicConfig(level=INFO)`` on the root logger (only the
    first import in a process does anything), ``sagemaker.config`` sets itself to INFO unless a
    level is already set, and botocore logs INFO about credentials. During the build, records
    of INFO and below are dropped everywhere and the SDK's loggers pass only errors.
    """
    root = logging.getLogger()
    root_handlers, root_level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in _SDK_LOGGERS}
    disabled = logging.root.manager.disable
    with warnings.catch_warnings():
        for message in _SDK_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        # The SDK's own modules still import each other's deprecated paths.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"sagemaker\.")
        logging.disable(max(disabled, logging.INFO))
        for name in _SDK_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
        try:
            yield
        finally:
            logging.disable(disabled)
            root.handlers[:] = root_handlers
            root.setLevel(root_level)
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)


# Modules that bind sagemaker.core.config.config.validate_sagemaker_config under that name.
_CONFIG_VALIDATOR_MODULES = (
    "sagemaker.core.config.config",
    "sagemaker.core.config",
    "sagemaker.core.helper.session_helper",
    "sagemaker.core.local.local_session",
)


# Configs (as canonical JSON) that passed each validator, kept across builds in this process.
_VALIDATED: dict[str, set[str]] = {"class": set(), "function": set()}


@contextlib.contextmanager
def _memoized_config_validation() -> Iterator[None]:
    """Validate each distinct SDK config once instead of on every lookup; undo afterwards.

    With a non-empty ``sagemaker_config`` the SDK re-runs jsonschema (including a check of the
    schema itself, ~0.17 s) on every config lookup, ~80 times per build. The memo only skips
    repeats of a config that already passed, so the output is unchanged. Imports sagemaker,
    so it runs only inside ``build_definition``.
    """
    import importlib

    from sagemaker.core.config.config_manager import SageMakerConfig

    def memoize(validate: Any, validated: set[str]) -> Any:
        def memoized(sagemaker_config: dict[str, Any] | None = None) -> None:
            key = json.dumps(sagemaker_config, sort_keys=True, default=repr)
            if key not in validated:
                validate(sagemaker_config)
                validated.add(key)

        return memoized

    static = SageMakerConfig.__dict__["validate_sagemaker_config"]
    modules = [importlib.import_module(name) for name in _CONFIG_VALIDATOR_MODULES]
    name = "validate_sagemaker_config"
    function = getattr(modules[0], name)
    bound = [module for module in modules if getattr(module, name, None) is function]
    SageMakerConfig.validate_sagemaker_config = staticmethod(
        memoize(static.__func__, _VALIDATED["class"])
    )
    memoized_function = memoize(function, _VALIDATED["function"])
    for module in bound:
        setattr(module, name, memoized_function)
    try:
        yield
    finally:
        SageMakerConfig.validate_sagemaker_config = static
        for module in bound:
            setattr(module, name, function)


@contextlib.contextmanager
def _no_studio_project_tags() -> Iterator[None]:
    """Ignore a SageMaker Studio ``.sagemaker-code-config`` in the cwd or any parent.

    The SDK turns one into ``sagemaker:project-id/name`` Tags on jobs and endpoints, which would
    make the definition depend on where synth runs.
    """
    from sagemaker.core import _studio

    original = _studio._find_config

    def no_config(working_dir: str | None = None) -> None:
        return None

    _studio._find_config = no_config
    try:
        yield
    finally:
        _studio._find_config = original


@contextlib.contextmanager
def offline_sdk(region: str) -> Iterator[None]:
    """Everything a build needs around it, undone afterwards."""
    with (
        temporary_environment({**_OFFLINE_ENV, "AWS_DEFAULT_REGION": region}),
        _quiet_sdk(),
        _memoized_config_validation(),
        _no_studio_project_tags(),
    ):
        yield


def session(*, bucket: str, region: str) -> Any:
    """A PipelineSession that only captures requests; call inside ``offline_sdk``."""
    import boto3
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    class OfflinePipelineSession(PipelineSession):
        """A PipelineSession whose default bucket is the given name, never probed in S3."""

        def __init__(self, bucket: str, **kwargs: Any) -> None:
            super().__init__(default_bucket=bucket, **kwargs)
            self._offline_bucket = bucket

        def default_bucket(self) -> str:
            return self._offline_bucket

    return OfflinePipelineSession(
        bucket=bucket,
        boto_session=boto3.Session(region_name=region),
        sagemaker_config=SDK_CONFIG,
    )
