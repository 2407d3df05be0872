"""Offline builds of pipeline definitions, one per example, shared by the whole session.

The spec of the example is the shipped models/breast-cancer one; the other examples are specs
built here for the tasks and frameworks it does not cover. The wiring imitates what the CDK
side passes: markers where CloudFormation tokens go (role, buckets, KMS key, Lambda ARN),
content-hashed asset URIs for the code.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from pipelines.assembly.steps import walk_steps
from pipelines.definition import PipelineWiring, build_definition
from pipelines.definition.spec import ModelSpec, load_model_spec, merge_overrides
from tests.support.offline import no_network

REPO = Path(__file__).resolve().parents[2]


class Inputs(NamedTuple):
    """What one build gets: the model's spec and the platform's wiring."""

    spec: ModelSpec
    wiring: PipelineWiring


def wiring_for(model: str, **changes: Any) -> PipelineWiring:
    """Marker wiring for ``model``, named as the CDK side names it (mlops-dev-<model>-...)."""
    base = f"mlops-dev-{model}"
    wiring = PipelineWiring(
        pipeline_name=f"{base}-pipeline",
        region="us-east-1",
        role_arn="arn:aws:iam::000000000000:role/ROLE_MARKER",
        artifact_bucket="artifact-bucket-marker",
        artifact_prefix=f"pipelines/{model}",
        kms_key_arn="arn:aws:kms:us-east-1:000000000000:key/KMS_KEY_MARKER",
        default_input_uri=f"s3://data-bucket-marker/samples/{model}.csv",
        preprocess_code_uri="s3://cdk-assets-marker/0a1b2c3d.py",
        evaluate_code_uri="s3://cdk-assets-marker/4e5f6a7b.py",
        source_uri="s3://cdk-assets-marker/8c9d0e1f.tar.gz",
        model_package_group=f"{base}-models",
        autoscaling_lambda_arn="arn:aws:lambda:us-east-1:000000000000:function:SCALING_MARKER",
        endpoint_name=f"{base}-endpoint",
        capture_prefix="endpoints",
        approval_status="PendingManualApproval",
        data_capture=False,
    )
    return dataclasses.replace(wiring, **changes)


def changed_spec(spec: ModelSpec, changes: Mapping[str, Any]) -> ModelSpec:
    """``spec`` with nested ``changes`` merged in, validated like a loaded spec."""
    return ModelSpec.model_validate(merge_overrides(spec.model_dump(), changes))


BREAST_CANCER = load_model_spec(REPO / "models" / "breast-cancer")
EXAMPLE = Inputs(BREAST_CANCER, wiring_for("breast-cancer"))
# The other side of every switch: no spot, data capture on.
VARIANT = Inputs(
    changed_spec(BREAST_CANCER, {"training": {"spot": False}}),
    dataclasses.replace(EXAMPLE.wiring, data_capture=True),
)
# No tuning: a spec can say so only in Python (TOML has no null), so the builder's branch is
# still one to keep.
UNTUNED = Inputs(changed_spec(BREAST_CANCER, {"tuning": None}), EXAMPLE.wiring)
# A scikit-learn multiclass model with its own scripts, objective and ranges, and a value
# other than the default for every setting the definition carries.
MULTICLASS = Inputs(
    ModelSpec.model_validate(
        {
            "name": "wine-forest",
            "description": "a random forest with its own scripts",
            "data": {"task": "multiclass", "label": "cultivar", "sample": "sklearn:wine"},
            "preprocessing": {
                "categorical": ("colour", "region"),
                "missing": "impute",
                "validation_fraction": 0.1,
                "test_fraction": 0.2,
                "seed": 7,
                "instance_type": "ml.c5.2xlarge",
                "volume_size_gb": 50,
            },
            "training": {
                "framework": "sklearn",
                "version": "1.2-1",
                "entry_point": "fit.py",
                "inference": "serve.py",
                "source_dir": "src",
                "hyperparameters": {"n_estimators": 150, "criterion": "gini", "max_depth": 8},
                "instance_type": "ml.c5.xlarge",
                "volume_size_gb": 40,
                "max_runtime_seconds": 1800,
                "max_wait_seconds": 3600,
            },
            "tuning": {
                "strategy": "Random",
                "max_jobs": 8,
                "max_parallel_jobs": 4,
                "early_stopping": False,
                "objective": {
                    "metric": "validation:accuracy",
                    "regex": r"validation-accuracy:([0-9\.]+)",
                    "direction": "Maximize",
                },
                "ranges": {
                    "n_estimators": {"type": "integer", "min": 50, "max": 400},
                    "max_features": {
                        "type": "continuous",
                        "min": 0.2,
                        "max": 1.0,
                        "scaling": "Linear",
                    },
                    "criterion": {"type": "categorical", "values": ("gini", "entropy")},
                },
            },
            "evaluation": {"metric": "weighted_f1", "threshold": 0.85},
            "deployment": {
                "instance_type": "ml.c5.large",
                "min_capacity": 2,
                "max_capacity": 5,
                "target_invocations_per_instance": 250,
            },
        }
    ),
    wiring_for("wine-forest", approval_status="Approved"),
)
# A regression with the shipped trainer: every gate and objective default is the task's.
REGRESSION = Inputs(
    ModelSpec.model_validate(
        {
            "name": "diabetes",
            "data": {"task": "regression", "label": "progression", "sample": "sklearn:diabetes"},
            "training": {"hyperparameters": {"max_depth": 3, "eta": 0.1}},
            "evaluation": {"threshold": 60.0},
        }
    ),
    wiring_for("diabetes"),
)

# A built-in algorithm: no script of ours, gated on the best tuning job's own metric.
BUILTIN = Inputs(load_model_spec(REPO / "models" / "cancer-linear"), wiring_for("cancer-linear"))

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
    inputs: Inputs
    text: str
    definition: dict[str, Any]
    attempts: list[str]
    env_before: dict[str, str | None]
    env_after: dict[str, str | None]
    logging_before: tuple[int, int, list[logging.Handler]]
    logging_after: tuple[int, int, list[logging.Handler]]

    @property
    def steps(self) -> dict[str, dict[str, Any]]:
        """All steps by name."""
        return {step["Name"]: step for step in walk_steps(self.definition["Steps"])}


def logging_state() -> tuple[int, int, list[logging.Handler]]:
    root = logging.getLogger()
    return (root.level, logging.root.manager.disable, list(root.handlers))


def offline_build(inputs: Inputs) -> Build:
    env_before = {name: os.environ.get(name) for name in BUILD_ENV}
    logging_before = logging_state()
    with no_network() as attempts:
        text = build_definition(inputs.spec, inputs.wiring)
    return Build(
        inputs=inputs,
        text=text,
        definition=json.loads(text),
        attempts=list(attempts),
        env_before=env_before,
        env_after={name: os.environ.get(name) for name in BUILD_ENV},
        logging_before=logging_before,
        logging_after=logging_state(),
    )


def inputs_json(inputs: Inputs) -> str:
    return json.dumps(
        {"spec": inputs.spec.model_dump(mode="json"), "wiring": dataclasses.asdict(inputs.wiring)}
    )


# Rebuilds the given inputs in a fresh interpreter, offline, and writes the JSON to stdout.
FRESH_BUILD = """
import json, sys
from pipelines.definition import PipelineWiring, build_definition
from pipelines.definition.spec import ModelSpec
from tests.support.offline import no_network
inputs = json.loads(sys.argv[1])
spec = ModelSpec(**inputs["spec"])
wiring = PipelineWiring(**inputs["wiring"])
with no_network() as attempts:
    text = build_definition(spec, wiring)
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
    builds = [
        FreshBuild(
            description,
            subprocess.Popen(
                [sys.executable, "-c", FRESH_BUILD, inputs_json(EXAMPLE)],
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


# The later builds run after `build`, so they are warm (1-2 s each).
@pytest.fixture(scope="session")
def variant_build(build: Build) -> Build:
    return offline_build(VARIANT)


@pytest.fixture(scope="session")
def untuned_build(build: Build) -> Build:
    return offline_build(UNTUNED)


@pytest.fixture(scope="session")
def multiclass_build(build: Build) -> Build:
    return offline_build(MULTICLASS)


@pytest.fixture(scope="session")
def regression_build(build: Build) -> Build:
    return offline_build(REGRESSION)


@pytest.fixture(scope="session")
def builtin_build(build: Build) -> Build:
    return offline_build(BUILTIN)


# Fixture names of every build, for tests that hold for all of them.
ALL_BUILDS = (
    "build",
    "variant_build",
    "untuned_build",
    "multiclass_build",
    "regression_build",
    "builtin_build",
)


@pytest.fixture(scope="session")
def definition(build: Build) -> dict[str, Any]:
    return build.definition


@pytest.fixture(scope="session")
def steps(build: Build) -> dict[str, dict[str, Any]]:
    """All steps of the example by name."""
    return build.steps
