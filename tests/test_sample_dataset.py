"""SampleDatasets in a bare stack: one copier for every model, one copy per model, and the
copier may write only the sample keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from infra.constructs.sample_dataset import SampleDatasets, sample_key
from infra.stacks.pipeline import SAMPLE_COPY_CODE_DIR

MODELS = ("churn", "wine")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[SampleDatasets, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("samples")
    samples: dict[str, Path] = {}
    for model in MODELS:
        samples[model] = folder / f"{model}.csv"
        samples[model].write_text(f"feature,target\n1,{model}\n")
    stack = Stack(App(), "Bare")
    datasets = SampleDatasets(
        stack,
        "SampleDatasets",
        samples=samples,
        data_bucket=s3.Bucket.from_bucket_name(stack, "Data", "data-bucket"),
        key=kms.Key(stack, "Key"),
        log_group_name="/test/lambda/sample-copy",
        copier_code=SAMPLE_COPY_CODE_DIR,
    )
    resources: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return datasets, resources


def test_one_copier_copies_each_model_to_its_sample_key(
    built: tuple[SampleDatasets, dict[str, Any]],
) -> None:
    datasets, resources = built
    functions = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    copies = [r for r in resources.values() if r["Type"] == "Custom::SampleDatasetCopy"]
    assert len(functions) == 1
    assert sorted(c["Properties"]["DestinationKey"] for c in copies) == [
        sample_key(model) for model in MODELS
    ]
    assert all(c["Properties"]["DestinationBucket"] == "data-bucket" for c in copies)
    assert datasets.uris == {model: f"s3://data-bucket/sample/{model}.csv" for model in MODELS}


def test_the_copier_writes_only_the_sample_keys(
    built: tuple[SampleDatasets, dict[str, Any]],
) -> None:
    _, resources = built
    [policy] = [r for r in resources.values() if r["Type"] == "AWS::IAM::Policy"]
    by_sid = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    write = by_sid["WriteSampleObject"]
    assert write["Action"] == "s3:PutObject"
    assert [r["Fn::Join"][1][-1] for r in write["Resource"]] == [
        f":s3:::data-bucket/{sample_key(model)}" for model in MODELS
    ]
    assert by_sid["EncryptSampleObject"]["Action"] == "kms:GenerateDataKey"


def test_each_copy_waits_for_the_copiers_permissions(
    built: tuple[SampleDatasets, dict[str, Any]],
) -> None:
    _, resources = built
    for copy in (r for r in resources.values() if r["Type"] == "Custom::SampleDatasetCopy"):
        assert any("Role" in dependency for dependency in copy["DependsOn"])
