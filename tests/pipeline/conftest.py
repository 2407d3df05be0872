"""One offline build of the pipeline definition per session, with fixed example settings.

The values imitate what the CDK side passes: markers where CloudFormation tokens go (role,
buckets, KMS key, Lambda ARN), content-hashed asset URIs for the code.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from pipelines.definition import PipelineSettings, build_definition
from tests.support.offline import no_network

EXAMPLE = PipelineSettings(
    pipeline_name="mlops-dev-pipeline",
    region="us-east-1",
    role_arn="arn:aws:iam::000000000000:role/ROLE_MARKER",
    artifact_bucket="artifact-bucket-marker",
    artifact_prefix="pipelines",
    kms_key_arn="arn:aws:kms:us-east-1:000000000000:key/KMS_KEY_MARKER",
    default_input_uri="s3://data-bucket-marker/samples/sample.csv",
    preprocess_code_uri="s3://cdk-assets-marker/0a1b2c3d.py",
    evaluate_code_uri="s3://cdk-assets-marker/4e5f6a7b.py",
    training_source_uri="s3://cdk-assets-marker/8c9d0e1f.tar.gz",
    model_package_group="mlops-dev-models",
    autoscaling_lambda_arn="arn:aws:lambda:us-east-1:000000000000:function:SCALING_MARKER",
    endpoint_name="mlops-dev-endpoint",
)
# The other side of every switch the settings have: no spot, data capture on.
VARIANT = replace(EXAMPLE, use_spot=False, data_capture=True)

# What the build changes while it runs and must put back.
BUILD_ENV = (
    "AWS_DEFAULT_REGION",
    "AWS_EC2_METADATA_DISABLED",
    "SAGEMAKER_VALIDATE_ROLE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


@dataclass(frozen=True)
class Build:
    text: str
    definition: dict[str, Any]
    attempts: list[str]
    seconds: float
    env_before: dict[str, str | None]
    env_after: dict[str, str | None]
    logging_before: tuple[int, int, list[logging.Handler]]
    logging_after: tuple[int, int, list[logging.Handler]]


def logging_state() -> tuple[int, int, list[logging.Handler]]:
    root = logging.getLogger()
    return (root.level, logging.root.manager.disable, list(root.handlers))


def offline_build(settings: PipelineSettings) -> Build:
    env_before = {name: os.environ.get(name) for name in BUILD_ENV}
    logging_before = logging_state()
    start = time.perf_counter()
    with no_network() as attempts:
        text = build_definition(settings)
    seconds = time.perf_counter() - start
    return Build(
        text=text,
        definition=json.loads(text),
        attempts=list(attempts),
        seconds=seconds,
        env_before=env_before,
        env_after={name: os.environ.get(name) for name in BUILD_ENV},
        logging_before=logging_before,
        logging_after=logging_state(),
    )


REPO = Path(__file__).resolve().parents[2]

# Builds EXAMPLE in a fresh interpreter, offline, and writes the JSON to stdout.
FRESH_BUILD = """
import json, sys
from pipelines.definition import PipelineSettings, build_definition
from tests.support.offline import no_network
settings = PipelineSettings(**json.loads(sys.argv[1]))
with no_network() as attempts:
    text = build_definition(settings)
assert attempts == [], attempts
sys.stdout.write(text)
"""


@dataclass(frozen=True)
class FreshBuild:
    description: str
    process: subprocess.Popen[bytes]
    credential_process_marker: Path


CREDENTIAL_PROCESS = """#!/bin/sh
touch "$(dirname "$0")/credential-process-ran"
echo '{"Version": 1, "AccessKeyId": "AKIDEXAMPLE", "SecretAccessKey": "secret"}'
"""


@pytest.fixture(scope="session")
def fresh_builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[FreshBuild]]:
    """Two fresh processes building EXAMPLE, started early so they overlap the other tests.

    They differ in PYTHONHASHSEED, TZ, AWS_DEFAULT_REGION and working directory. The second
    runs in a directory holding a SageMaker Studio project file (which must not leak in as
    tags) with an AWS profile whose credential_process must not run.
    """
    studio = tmp_path_factory.mktemp("studio")
    (studio / ".sagemaker-code-config").write_text(
        json.dumps({"sagemakerProjectId": "p-1", "sagemakerProjectName": "leak"})
    )
    credential_process = studio / "credential-process.sh"
    credential_process.write_text(CREDENTIAL_PROCESS)
    credential_process.chmod(0o755)
    (studio / "aws-config").write_text(
        f"[profile synth]\ncredential_process = {credential_process}\n"
    )
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "PYTHON", "SAGEMAKER_"))
    }
    base["PYTHONPATH"] = str(REPO)
    variants = [
        ("seed 0, UTC, repo dir", {"PYTHONHASHSEED": "0", "TZ": "UTC"}, REPO),
        (
            "seed 4242, Pacific/Chatham, eu-west-1, Studio project dir, credential_process",
            {
                "PYTHONHASHSEED": "4242",
                "TZ": "Pacific/Chatham",
                "AWS_DEFAULT_REGION": "eu-west-1",
                "AWS_CONFIG_FILE": str(studio / "aws-config"),
                "AWS_PROFILE": "synth",
            },
            studio,
        ),
    ]
    settings = json.dumps(dataclasses.asdict(EXAMPLE))
    builds = [
        FreshBuild(
            description,
            subprocess.Popen(
                [sys.executable, "-c", FRESH_BUILD, settings],
                cwd=cwd,
                env={**base, **extra},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            ),
            studio / "credential-process-ran",
        )
        for description, extra, cwd in variants
    ]
    yield builds
    for fresh in builds:
        if fresh.process.poll() is None:
            fresh.process.kill()
        fresh.process.communicate()


@pytest.fixture(scope="session")
def build(fresh_builds: list[FreshBuild]) -> Build:
    return offline_build(EXAMPLE)  # while the fresh builds run


@pytest.fixture(scope="session")
def variant_build(build: Build) -> Build:
    return offline_build(VARIANT)  # after `build`, so this one is warm


@pytest.fixture(scope="session")
def definition(build: Build) -> dict[str, Any]:
    return build.definition


def walk_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every step, depth first, condition branches included."""
    found = []
    for step in steps:
        found.append(step)
        for branch in ("IfSteps", "ElseSteps"):
            found.extend(walk_steps(step.get("Arguments", {}).get(branch, [])))
    return found


@pytest.fixture(scope="session")
def steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """All steps by name."""
    return {step["Name"]: step for step in walk_steps(definition["Steps"])}
