"""An asset manifest's file assets: the source in the assembly, its packaging, and the S3 URI
of each destination in its stack's environment."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.assembly.assets import FileAsset, file_assets
from pipelines.assembly.resolve import Stack

STACK = Stack("Pipeline", "mlops-dev-pipeline", "eu-west-1", "111122223333", {})
BUCKET = "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"


def test_each_destination_is_published_in_its_stack_s_environment(tmp_path: Path) -> None:
    manifest = tmp_path / "Pipeline.assets.json"
    destination = {"bucketName": BUCKET, "objectKey": "abc.zip"}
    manifest.write_text(
        json.dumps(
            {
                "files": {
                    "abc": {
                        "source": {"path": "asset.abc", "packaging": "zip"},
                        "destinations": {
                            "here": destination,
                            "there": {**destination, "region": "us-east-1"},
                        },
                    },
                    "def": {
                        "source": {"path": "asset.def.py"},
                        "destinations": {"here": {"bucketName": BUCKET, "objectKey": "def.py"}},
                    },
                }
            }
        )
    )
    assert list(file_assets(manifest, [STACK])) == [
        FileAsset(
            tmp_path / "asset.abc",
            "zip",
            "s3://cdk-hnb659fds-assets-111122223333-eu-west-1/abc.zip",
        ),
        FileAsset(
            tmp_path / "asset.abc",
            "zip",
            "s3://cdk-hnb659fds-assets-111122223333-us-east-1/abc.zip",
        ),
        # Packaging defaults to a single file.
        FileAsset(
            tmp_path / "asset.def.py",
            "file",
            "s3://cdk-hnb659fds-assets-111122223333-eu-west-1/def.py",
        ),
    ]
