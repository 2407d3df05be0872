"""The package reads files only: importing it must not load the CDK (jsii starts a node
process), the SageMaker SDK or botocore, so every consumer can afford it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_the_assembly_package_imports_no_cdk_sdk_or_botocore():
    code = (
        "import sys, pipelines.assembly.manifest, pipelines.assembly.resolve, "
        "pipelines.assembly.steps; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('aws_cdk', 'jsii', 'constructs', 'sagemaker', 'botocore', 'boto3')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"
