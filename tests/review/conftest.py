"""Three real assemblies for the review tests, synthesized once per session.

- ``base``: dev defaults;
- ``broadened``: the launcher may build images (its policy gains ECR push) and the
  breast-cancer model trains on ml.m5.2xlarge;
- ``renamed``: another project prefix, which renames buckets, repositories and the model
  registry, so CloudFormation replaces them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from review.assembly import Assembly, load_assembly
from tests.conftest import Assembly as TestAssembly
from tests.conftest import synthesize

BROADENED = {
    "launch_agent.allow_image_build": "true",
    "models.breast-cancer.training.instance_type": "ml.m5.2xlarge",
}
RENAMED = {"project_prefix": "mlops-dev2"}


@pytest.fixture(scope="session")
def review_dirs(
    tmp_path_factory: pytest.TempPathFactory, assemblies: dict[str, TestAssembly]
) -> dict[str, Path]:
    # The base is the dev defaults the whole suite already synthesized once.
    dirs = {"base": assemblies["dev"].directory}
    for name, overrides in (("broadened", BROADENED), ("renamed", RENAMED)):
        directory = tmp_path_factory.mktemp(f"review-{name}")
        synthesize(directory, env="dev", **overrides)
        dirs[name] = directory
    return dirs


@pytest.fixture(scope="session")
def review_assemblies(review_dirs: dict[str, Path]) -> dict[str, Assembly]:
    return {name: load_assembly(directory) for name, directory in review_dirs.items()}
