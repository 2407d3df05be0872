"""CloudFormation custom resource: copy one object (the sample dataset) into the data bucket.

Deleting the resource leaves the copy in place: data in the data bucket is never removed by
a stack operation. Only the standard library and boto3 (in the Lambda runtime) are used.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import boto3


def copy(properties: dict[str, Any]) -> str:
    destination = f"s3://{properties['DestinationBucket']}/{properties['DestinationKey']}"
    boto3.client("s3").copy_object(
        CopySource={"Bucket": properties["SourceBucket"], "Key": properties["SourceKey"]},
        Bucket=properties["DestinationBucket"],
        Key=properties["DestinationKey"],
        MetadataDirective="REPLACE",
        ContentType="text/csv",
    )
    return destination


def respond(event: dict[str, Any], status: str, physical_id: str, reason: str = "") -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000] or status,
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": {"Uri": physical_id},
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - the pre-signed https URL from CloudFormation
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310
        pass


def handler(event: dict[str, Any], context: Any) -> None:
    physical_id = event.get("PhysicalResourceId", "sample-copy")
    try:
        if event["RequestType"] in ("Create", "Update"):
            physical_id = copy(event["ResourceProperties"])
        respond(event, "SUCCESS", physical_id)
    except Exception as error:
        respond(event, "FAILED", physical_id, f"{type(error).__name__}: {error}")
