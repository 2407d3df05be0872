"""Loading a cloud assembly for the local run: resolved definition, assets, the sample data copy,
Lambda code, and the reader's errors as the run's one-line AssemblyError."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from pipelines.local.assembly import list_pipelines, load_assembly, populate_store
from pipelines.local.errors import AssemblyError
from pipelines.local.objectstore import ObjectStore
from tests.local.support import definition, processing_step, write_assembly


def test_the_real_assembly_resolves_to_local_values(small_assembly: Path, tmp_path: Path) -> None:
    assembly = load_assembly(small_assembly, "mlops-dev-breast-cancer-pipeline")
    text = json.dumps(assembly.definition)
    assert assembly.pipeline_name == "mlops-dev-breast-cancer-pipeline"
    assert (assembly.region, assembly.account) == ("us-east-1", "000000000000")
    for token in ("Fn::", "${", '"Ref"'):
        assert token not in text
    assert "arn:aws:iam::000000000000:role/mlops-dev-foundation-executionrole" in text
    assert "arn:aws:kms:us-east-1:000000000000:key/" in text
    lambda_step = assembly.definition["Steps"][-1]["Arguments"]["IfSteps"][1]["Arguments"]
    function_arn = lambda_step["IfSteps"][-1]["FunctionArn"]
    function = assembly.functions[function_arn]
    assert function.handler == "endpoint_autoscaling.handler"
    assert function.code_dir is not None
    project = Path(__file__).resolve().parents[2]
    handler_source = project / "pipelines" / "lambdas" / "endpoint_autoscaling.py"
    assert (
        function.code_dir / "endpoint_autoscaling.py"
    ).read_bytes() == handler_source.read_bytes()

    store = ObjectStore(tmp_path / "s3")
    populate_store(assembly, store)
    default_input = assembly.definition["Parameters"][0]["DefaultValue"]
    assert default_input == "s3://mlops-dev-data-000000000000-us-east-1/sample/breast-cancer.csv"
    (source, destination) = assembly.copies[0]
    assert destination == default_input
    sample = next(asset for asset in assembly.assets if asset.uri == source)
    assert store.read_bytes(default_input) == sample.source.read_bytes()
    for asset in assembly.assets:
        assert store.is_object(asset.uri), asset
    zipped = next(
        a for a in assembly.assets if a.packaging == "zip" and a.source == function.code_dir
    )
    with zipfile.ZipFile(store.path(zipped.uri)) as archive:
        assert "endpoint_autoscaling.py" in archive.namelist()
    # Publishing again changes nothing (same bytes, zips included).
    before = {
        path: path.stat().st_mtime_ns for path in (tmp_path / "s3").rglob("*") if path.is_file()
    }
    populate_store(assembly, store)
    after = {
        path: path.stat().st_mtime_ns for path in (tmp_path / "s3").rglob("*") if path.is_file()
    }
    assert before == after


def test_a_directory_without_manifest_is_not_an_assembly(tmp_path: Path) -> None:
    with pytest.raises(AssemblyError, match="not a cloud assembly"):
        load_assembly(tmp_path)


def test_an_unresolvable_token_is_a_one_line_assembly_error(tmp_path: Path) -> None:
    assembly = write_assembly(tmp_path / "cdk.out", definition([processing_step("Only")]))
    template_file = assembly / "Stack.template.json"
    template = json.loads(template_file.read_text())
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::SageMaker::Pipeline":
            resource["Properties"]["PipelineName"] = {"Fn::If": ["Cond", "a", "b"]}
    template_file.write_text(json.dumps(template))
    with pytest.raises(AssemblyError, match="Fn::If is not supported locally"):
        list_pipelines(assembly)
