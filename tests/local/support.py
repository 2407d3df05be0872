"""Helpers for the local-runner tests: run the CLI in-process and capture what it prints, and
write small hand-made cloud assemblies whose steps run a trivial script in milliseconds."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.local.cli import main

REGION = "eu-west-1"
CODE_BUCKET = "code-${AWS::AccountId}-eu-west-1"
CODE_URI = "s3://code-000000000000-eu-west-1/step.py"
DATA_PREFIX = "s3://data-000000000000-eu-west-1/runs"
CODE_DIR = "/opt/ml/processing/input/code"

# A processing script: concatenates --value and the *.txt files of every --input into
# result.txt and writes a JSON report; --fail makes it exit 3 after printing a line, and
# --fail-with REASON exit 1 after printing 'error: REASON', as the step scripts do.
STEP_SCRIPT = """\
import argparse, json, pathlib, sys
parser = argparse.ArgumentParser()
parser.add_argument("--value", default="")
parser.add_argument("--input", action="append", default=[])
parser.add_argument("--output", required=True)
parser.add_argument("--fail", action="store_true")
parser.add_argument("--fail-with", default="")
args = parser.parse_args()
if args.fail_with:
    print("some progress", flush=True)
    print(f"error: {args.fail_with}", file=sys.stderr)
    sys.exit(1)
if args.fail:
    print("step script: failing on purpose", file=sys.stderr)
    sys.exit(3)
files = [path for folder in args.input for path in sorted(pathlib.Path(folder).rglob("*.txt"))]
text = args.value + "".join(path.read_text() for path in files)
out = pathlib.Path(args.output)
out.mkdir(parents=True, exist_ok=True)
(out / "result.txt").write_text(text)
(out / "report.json").write_text(json.dumps({"length": len(text), "text": text}))
print(f"wrote {text!r}")
"""


@dataclass(frozen=True)
class CliRun:
    code: int
    out: str
    err: str
    # With several pipelines in one run, the one whose summary the properties read.
    model: str | None = None

    @property
    def summary_path(self) -> Path:
        out = self.out
        if self.model is not None:
            marker = f"\n== {self.model}\n"
            assert marker in out, out
            out = out.split(marker, 1)[1]
        match = re.search(r"^summary: (.+)$", out, re.MULTILINE)
        assert match, self.out
        return Path(match.group(1))

    def for_model(self, model: str) -> CliRun:
        return dataclasses.replace(self, model=model)

    @property
    def summary(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.summary_path.read_text())
        return document

    def step(self, name: str) -> dict[str, Any]:
        step: dict[str, Any] = next(s for s in self.summary["steps"] if s["name"] == name)
        return step

    def statuses(self) -> dict[str, str]:
        return {step["name"]: step["status"] for step in self.summary["steps"]}


def run_cli(*args: str | Path) -> CliRun:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(arg) for arg in args], out=out, err=err)
    return CliRun(code, out.getvalue(), err.getvalue())


def copy_run_dir(source: Path, destination: Path) -> Path:
    shutil.copytree(source, destination, symlinks=True)
    return destination


def output_uri(step: str, name: str = "out") -> dict[str, Any]:
    return {
        "Std:Join": {
            "On": "/",
            "Values": [DATA_PREFIX, {"Get": "Execution.PipelineExecutionId"}, step, name],
        }
    }


def processing_step(
    name: str,
    *arguments: Any,
    inputs: dict[str, Any] | None = None,
    depends_on: list[str] | None = None,
    cache: bool = True,
) -> dict[str, Any]:
    """A Processing step running STEP_SCRIPT with one output ``out``."""
    local_inputs = [
        {
            "InputName": input_name,
            "S3Input": {
                "LocalPath": f"/opt/ml/processing/input/{input_name}",
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
                "S3Uri": uri,
            },
        }
        for input_name, uri in (inputs or {}).items()
    ]
    input_arguments = [
        item
        for input_name in inputs or {}
        for item in ("--input", f"/opt/ml/processing/input/{input_name}")
    ]
    step: dict[str, Any] = {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {
                "ContainerEntrypoint": ["python3", f"{CODE_DIR}/step.py"],
                "ContainerArguments": [
                    "--output",
                    "/opt/ml/processing/output/out",
                    *input_arguments,
                    *arguments,
                ],
                "ImageUri": "local/test:latest",
            },
            "ProcessingInputs": [
                *local_inputs,
                {
                    "InputName": "code",
                    "S3Input": {
                        "LocalPath": CODE_DIR,
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                        "S3Uri": CODE_URI,
                    },
                },
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "out",
                        "S3Output": {
                            "LocalPath": "/opt/ml/processing/output/out",
                            "S3UploadMode": "EndOfJob",
                            "S3Uri": output_uri(name),
                        },
                    }
                ]
            },
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large"}
            },
            "RoleArn": "arn:aws:iam::000000000000:role/test",
        },
        "PropertyFiles": [
            {"PropertyFileName": "Report", "OutputName": "out", "FilePath": "report.json"}
        ],
    }
    if cache:
        step["CacheConfig"] = {"Enabled": True, "ExpireAfter": "P1D"}
    if depends_on:
        step["DependsOn"] = depends_on
    return step


def step_output(step: str) -> dict[str, str]:
    return {"Get": f"Steps.{step}.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"}


def definition(steps: list[dict[str, Any]], **parameters: str) -> dict[str, Any]:
    return {
        "Version": "2020-12-01",
        "Metadata": {},
        "Parameters": [
            {"Name": name, "Type": "String", "DefaultValue": value}
            for name, value in parameters.items()
        ],
        "Steps": steps,
    }


def write_assembly(
    directory: Path, pipeline_definition: dict[str, Any] | str, *, script: str = STEP_SCRIPT
) -> Path:
    """A cloud assembly with one stack holding the pipeline and STEP_SCRIPT as a file asset."""
    directory.mkdir(parents=True, exist_ok=True)
    body = (
        pipeline_definition
        if isinstance(pipeline_definition, str)
        else json.dumps(pipeline_definition)
    )
    (directory / "asset.step.py").write_text(script)
    manifest = {
        "version": "55.0.0",
        "artifacts": {
            "Stack.assets": {
                "type": "cdk:asset-manifest",
                "properties": {"file": "Stack.assets.json"},
            },
            "Stack": {
                "type": "aws:cloudformation:stack",
                "environment": f"aws://unknown-account/{REGION}",
                "properties": {"templateFile": "Stack.template.json", "stackName": "local-test"},
            },
        },
    }
    assets = {
        "version": "55.0.0",
        "files": {
            "step": {
                "source": {"path": "asset.step.py", "packaging": "file"},
                "destinations": {
                    "current": {"bucketName": CODE_BUCKET, "objectKey": "step.py", "region": REGION}
                },
            }
        },
    }
    template = {
        "Resources": {
            "Pipeline": {
                "Type": "AWS::SageMaker::Pipeline",
                "Properties": {
                    "PipelineName": "local-test-pipeline",
                    "PipelineDefinition": {"PipelineDefinitionBody": body},
                    "RoleArn": "arn:aws:iam::000000000000:role/test",
                },
            }
        }
    }
    for name, document in (
        ("manifest.json", manifest),
        ("Stack.assets.json", assets),
        ("Stack.template.json", template),
    ):
        (directory / name).write_text(json.dumps(document, indent=1))
    return directory
