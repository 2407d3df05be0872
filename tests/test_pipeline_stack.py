"""The pipeline stack: one embedded definition, registry, role and set of assets per model,
the sample data, the shared Lambdas."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipelines.assembly.manifest import read_assembly, read_json
from pipelines.mermaid import definition_to_mermaid
from tests.conftest import Assembly

ROOT = Path(__file__).resolve().parent.parent


def resources_of_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def pipelines_by_model(assembly: Assembly) -> dict[str, dict[str, Any]]:
    found = resources_of_type(assembly.template("Pipeline"), "AWS::SageMaker::Pipeline")
    return {
        next(t["Value"] for t in p["Properties"]["Tags"] if t["Key"] == "model"): p for p in found
    }


def embedded_definition(
    assembly: Assembly, model: str = "breast-cancer"
) -> tuple[dict[str, Any], list[Any]]:
    """The definition with every CloudFormation token replaced by the text ``TOKEN``."""
    pipeline = pipelines_by_model(assembly)[model]
    body = pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
    delimiter, parts = body["Fn::Join"]
    assert delimiter == ""
    text = "".join(part if isinstance(part, str) else "TOKEN" for part in parts)
    return json.loads(text), [part for part in parts if not isinstance(part, str)]


@pytest.fixture(scope="module")
def definition(dev: Assembly) -> dict[str, Any]:
    return embedded_definition(dev)[0]


def test_every_model_gets_its_own_pipeline_named_from_prefix_and_model(dev: Assembly) -> None:
    template = dev.template("Pipeline")
    pipelines = pipelines_by_model(dev)
    assert sorted(pipelines) == sorted(spec.name for spec in dev.settings.models)
    roles = set()
    for model, pipeline in pipelines.items():
        assert pipeline["Properties"]["PipelineName"] == f"mlops-dev-{model}-pipeline"
        role_id = pipeline["Properties"]["RoleArn"]["Fn::GetAtt"][0]
        description = template["Resources"][role_id]["Properties"]["Description"]
        assert description == (
            f"Assumed by SageMaker Pipelines to run the pipeline of pipelines/{model}"
        )
        roles.add(role_id)
    assert len(roles) == len(pipelines)


def test_each_definition_writes_under_its_own_model_prefix(dev: Assembly) -> None:
    for spec in dev.settings.models:
        definition, _ = embedded_definition(dev, spec.name)
        text = json.dumps(definition)
        others = [other.name for other in dev.settings.models if other.name != spec.name]
        assert f"/pipelines/{spec.name}/models" in text
        for other in others:
            assert f"/pipelines/{other}/" not in text


def test_definition_has_no_stand_in_left_and_resolves_tokens_at_deploy(dev: Assembly) -> None:
    definition, tokens = embedded_definition(dev)
    assert "standin" not in json.dumps(definition)
    outputs = {t["Fn::GetStackOutput"]["OutputName"] for t in tokens if "Fn::GetStackOutput" in t}
    assert any("ExecutionRole" in name for name in outputs)
    assert any("DataKey" in name for name in outputs)
    assert any("Fn::GetAtt" in t for t in tokens)  # the autoscaling Lambda's ARN


def test_step_code_comes_from_content_hashed_assets(
    dev: Assembly, definition: dict[str, Any]
) -> None:
    asset_manifest = read_assembly(dev.directory, nested=False).by_id()["Pipeline"].asset_manifest
    assert asset_manifest is not None
    manifest = read_json(asset_manifest)
    code_keys = [
        destination["objectKey"]
        for asset in manifest["files"].values()
        if asset["displayName"].startswith("Model-breast-cancer/Code/")
        for destination in asset["destinations"].values()
    ]
    text = json.dumps(definition)
    assert len(code_keys) == 3
    for key in code_keys:
        assert re.fullmatch(r"[0-9a-f]{64}\.[a-z.]+", key), key
        assert key in text, f"asset {key} not referenced by the definition"


def test_default_input_is_the_shipped_sample_in_the_data_bucket(
    dev: Assembly, definition: dict[str, Any]
) -> None:
    parameters = {p["Name"]: p for p in definition["Parameters"]}
    assert parameters["InputDataUri"]["DefaultValue"] == (
        "s3://mlops-dev-data-TOKEN-us-east-1/sample/breast-cancer.csv"
    )
    copies = resources_of_type(dev.template("Pipeline"), "Custom::SampleDatasetCopy")
    assert sorted(copy["Properties"]["DestinationKey"] for copy in copies) == sorted(
        f"sample/{spec.name}.csv" for spec in dev.settings.models
    )
    for copy in copies:
        assert copy["Properties"]["DestinationBucket"] == {
            "Fn::Join": ["", ["mlops-dev-data-", {"Ref": "AWS::AccountId"}, "-us-east-1"]]
        }


def test_approval_default_follows_the_environment(assemblies: dict[str, Assembly]) -> None:
    defaults = {}
    for name in ("dev", "prod"):
        definition, _ = embedded_definition(assemblies[name])
        parameters = {p["Name"]: p for p in definition["Parameters"]}
        defaults[name] = parameters["ModelApprovalStatus"]["DefaultValue"]
    assert defaults == {"dev": "Approved", "prod": "PendingManualApproval"}


def test_every_model_registry_is_retained(dev: Assembly) -> None:
    groups = resources_of_type(dev.template("Pipeline"), "AWS::SageMaker::ModelPackageGroup")
    for group in groups:
        assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain"
    assert sorted(g["Properties"]["ModelPackageGroupName"] for g in groups) == sorted(
        f"mlops-dev-{spec.name}-models" for spec in dev.settings.models
    )


def test_lambdas_use_the_newest_python_runtime_and_own_log_groups(dev: Assembly) -> None:
    functions = resources_of_type(dev.template("Pipeline"), "AWS::Lambda::Function")
    # The sample copier and one autoscaling Lambda per model.
    assert len(functions) == 1 + len(dev.settings.models)
    for function in functions:
        assert function["Properties"]["Runtime"] == "python3.14"
        assert "LoggingConfig" in function["Properties"]


def test_readme_diagram_is_generated_from_the_synthesized_definition(
    definition: dict[str, Any],
) -> None:
    readme = (ROOT / "README.md").read_text()
    diagram = definition_to_mermaid(json.dumps(definition))
    assert f"```mermaid\n{diagram.strip()}\n```" in readme


def test_a_builtin_algorithm_model_ships_only_its_preprocessing_script(dev: Assembly) -> None:
    # No evaluator and no source bundle: the algorithm trains, is judged and serves itself.
    # (Read from the construct tree: the asset manifest merges files with equal content.)
    tree_file = read_assembly(dev.directory, nested=False).tree_file
    assert tree_file is not None
    tree = read_json(tree_file)
    models = tree["tree"]["children"]["Pipeline"]["children"]

    def code_assets(model: str) -> list[str]:
        return sorted(models[f"Model-{model}"]["children"]["Code"]["children"])

    assert code_assets("cancer-linear") == ["Preprocess"]
    assert code_assets("wine") == ["Evaluate", "Preprocess", "Source"]
