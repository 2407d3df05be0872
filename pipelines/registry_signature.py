"""The signature of a registered model version, found the way an operator would: from the
version the model's endpoint serves (or a version number), through the registry's customer
metadata, to ``signature.json`` in the artifact bucket. Used by `pipelines.cli signature`."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from pipelines.definition.contract import SIGNATURE_METADATA
from pipelines.names import ModelNames

# boto3 ships no type stubs in this project.
Client = Any


class SignatureError(Exception):
    """What stops the lookup, in one line."""


def _packages(sm: Client, group: str) -> list[dict[str, Any]]:
    """The group's versions, newest first."""
    pages = sm.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group, SortBy="CreationTime", SortOrder="Descending"
    )
    return [summary for page in pages for summary in page.get("ModelPackageSummaryList", [])]


def served_model_data(sm: Client, endpoint: str) -> str | None:
    """The model artifact the endpoint serves, or None when there is no endpoint."""
    try:
        config_name = sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ValidationException":
            return None  # SageMaker's answer for an endpoint that does not exist
        raise
    config = sm.describe_endpoint_config(EndpointConfigName=config_name)
    model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    url = (model.get("PrimaryContainer") or {}).get("ModelDataUrl")
    return str(url) if url else None


def _model_data(package: dict[str, Any]) -> str | None:
    containers = (package.get("InferenceSpecification") or {}).get("Containers") or [{}]
    url = containers[0].get("ModelDataUrl")
    return str(url) if url else None


def find_version(sm: Client, names: ModelNames, version: int | None) -> tuple[dict[str, Any], str]:
    """The described package, and why it was chosen: the given version, the endpoint's, or
    (no endpoint) the latest approved one."""
    summaries = _packages(sm, names.model_package_group)
    if not summaries:
        raise SignatureError(f"model package group {names.model_package_group!r} has no versions")
    if version is not None:
        chosen = [s for s in summaries if s.get("ModelPackageVersion") == version]
        if not chosen:
            raise SignatureError(f"{names.model_package_group} has no version {version}")
        return sm.describe_model_package(ModelPackageName=chosen[0]["ModelPackageArn"]), "asked for"
    served = served_model_data(sm, names.endpoint)
    for summary in summaries:
        if served is None and summary.get("ModelApprovalStatus") != "Approved":
            continue
        package = sm.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
        if served is None:
            return package, "latest approved; no endpoint serves one"
        if _model_data(package) == served:
            return package, f"served by {names.endpoint}"
    where = f"{names.endpoint} serves {served}" if served else "none is approved"
    raise SignatureError(f"no version of {names.model_package_group} to show: {where}")


def read_signature(s3: Client, package: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The version's signature and its S3 URI, from the version's customer metadata."""
    number = package.get("ModelPackageVersion", "?")
    uri = (package.get("CustomerMetadataProperties") or {}).get(SIGNATURE_METADATA)
    if not uri:
        raise SignatureError(
            f"version {number} records no signature: its model carries no fitted transform "
            "(its own trainer or preprocessing script, or a built-in algorithm), so requests "
            "are the encoded feature rows its own scripts define"
        )
    location = urlparse(uri)
    try:
        body = s3.get_object(Bucket=location.netloc, Key=location.path.lstrip("/"))["Body"]
        signature: dict[str, Any] = json.loads(body.read())
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise SignatureError(f"version {number}: cannot read {uri}: {code}") from None
    except ValueError:
        raise SignatureError(f"version {number}: {uri} is not JSON") from None
    return signature, uri
