"""Shared fixtures: one offline synth of each environment for the whole session."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.app_factory import build_app
from infra.config import Settings, app_context, load_settings
from tests.support.offline import no_network

# Tests may be run without make: never let botocore probe the instance-metadata endpoint.
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(autouse=True, scope="session")
def _offline() -> Iterator[None]:
    """Every test runs with the network blocked; moto-backed tests stay in-process."""
    with no_network(block_botocore=False):
        yield


@dataclass(frozen=True)
class Assembly:
    directory: Path
    settings: Settings
    # Every socket connect and botocore call the synth attempted (each one was blocked).
    network_attempts: tuple[str, ...] = ()

    def templates(self) -> dict[str, dict[str, Any]]:
        return {
            path.name.removesuffix(".template.json"): json.loads(path.read_text())
            for path in sorted(self.directory.glob("*.template.json"))
        }

    def template(self, stack: str) -> dict[str, Any]:
        return self.templates()[stack]

    @property
    def validation_report(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads((self.directory / "validation-report.json").read_text())
        return report


def synthesize(outdir: Path, **overrides: Any) -> Assembly:
    context = {
        **app_context(cli_context={}),
        "@aws-cdk/core:failSynthOnValidationErrors": False,
        **overrides,
    }
    settings = load_settings(context)
    # Every synth in the suite doubles as proof that synth is offline: AWS calls fail too.
    with no_network() as attempts:
        build_app(settings, context=context, outdir=str(outdir)).synth()
    return Assembly(outdir, settings, tuple(attempts))


# The variants the security checks run on: the default dev app, the prod example, and dev with
# the launcher's image-building permissions switched on.
VARIANTS: dict[str, dict[str, Any]] = {
    "dev": {"env": "dev"},
    "prod": {"env": "prod"},  # with the GitHub OIDC deploy stack
    "dev-image-build": {"env": "dev", "launch_agent.allow_image_build": "true"},
}


@pytest.fixture(scope="session")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Assembly]:
    return {
        name: synthesize(tmp_path_factory.mktemp(f"cdk-{name}"), **overrides)
        for name, overrides in VARIANTS.items()
    }


@pytest.fixture(scope="session")
def dev(assemblies: dict[str, Assembly]) -> Assembly:
    return assemblies["dev"]
