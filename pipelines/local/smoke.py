"""The smoke prediction at the end of a run: a few test rows sent to the deployed endpoint,
to show the model answers before the run stops it.

A model that carries its signature (the shipped preprocessor's fitted transform) gets the
rows as an application has them: the data's columns with a header row, text categories and
empty cells, from the test split's raw rows; its answer and the true labels are the data's
label values. Any other model gets the encoded rows its own scripts read."""

from __future__ import annotations

import csv
import io
import json
import tarfile
from pathlib import Path
from typing import Any, NamedTuple

from pipelines.definition import contract
from pipelines.local.deployments import add_example
from pipelines.local.execution import Execution
from pipelines.local.expressions import StepRecord
from pipelines.local.hosting import LocalEndpoint
from pipelines.local.scheduler import Scheduler

SMOKE_ROWS = 3


class Request(NamedTuple):
    body: str
    labels: list[str]  # the true label of each row, as the data writes it when known
    rows: int
    raw: bool


def smoke_prediction(execution: Execution, scheduler: Scheduler) -> dict[str, Any] | None:
    """A few rows of the test split (a processing output named ``test``) sent to the first
    endpoint as text/csv, with the true labels reported beside the answer."""
    endpoints = list(execution.hosting.endpoints.values())
    if not endpoints:
        return None
    endpoint: LocalEndpoint = endpoints[0]
    source = _test_output(scheduler)
    folder = execution.store.path(source) if source else None
    encoded = _encoded_rows(folder)
    if folder is None or not encoded:
        return {
            "endpoint": endpoint.name,
            "status": 200,
            "skipped": "no processing output named 'test' to take rows from",
        }
    request = _request(encoded, folder, _model_signature(execution, endpoint))
    try:
        status, text = endpoint.invoke(request.body.encode(), "text/csv", "application/json")
    except OSError as error:
        return {"endpoint": endpoint.name, "status": None, "error": f"{endpoint.url}: {error}"}
    try:
        response: Any = json.loads(text)
    except json.JSONDecodeError:
        response = text
    kind = "raw test rows with a header" if request.raw else "test rows"
    execution.report(endpoint.name, f"prediction for {request.rows} {kind}: HTTP {status}")
    example = {"content_type": "text/csv", "body": request.body, "status": status}
    add_example(execution.run_dir, endpoint.name, {**example, "response": response})
    return {
        "endpoint": endpoint.name,
        "url": endpoint.url,
        "content_type": "text/csv",
        "rows": request.rows,
        "raw_rows": request.raw,
        "body": request.body,
        "source": source,
        "labels": request.labels,
        "status": status,
        "response": response,
    }


def _test_output(scheduler: Scheduler) -> str | None:
    for name in scheduler.graph.order:
        properties = scheduler.records.get(name, StepRecord()).properties
        for output in (properties.get("ProcessingOutputConfig") or {}).get("Outputs", []):
            if output.get("OutputName") == "test":
                return str(output["S3Output"]["S3Uri"])
    return None


def _encoded_rows(folder: Path | None) -> list[list[str]]:
    """The split's own CSV (label first); not the raw rows in its subfolder."""
    for path in sorted(folder.glob("*.csv")) if folder and folder.is_dir() else []:
        return [line.split(",") for line in path.read_text().splitlines() if line.strip()]
    return []


def _model_signature(execution: Execution, endpoint: LocalEndpoint) -> dict[str, Any] | None:
    """The signature packed into the served model's artifact, if it has one."""
    model = execution.hosting.models.get(endpoint.model_name, {})
    url = (model.get("PrimaryContainer") or {}).get("ModelDataUrl")
    archive = execution.store.path(str(url)) if url else None
    if archive is None or not archive.is_file():
        return None
    with tarfile.open(archive) as tar:
        for name in (contract.SIGNATURE_FILE, f"./{contract.SIGNATURE_FILE}"):
            try:
                member = tar.extractfile(name)
            except KeyError:
                continue
            if member is not None:
                loaded: dict[str, Any] = json.load(member)
                return loaded
    return None


def _request(encoded: list[list[str]], folder: Path, signature: dict[str, Any] | None) -> Request:
    """The body for the chosen rows: raw with a header when the model has a signature and
    the split its raw rows (the same rows, in the same order), else encoded."""
    chosen = _smoke_rows(list(range(len(encoded))), [row[0] for row in encoded])
    raw_file = folder / contract.RAW_TEST_FILE
    if signature is None or not raw_file.is_file():
        body = "\n".join(",".join(encoded[i][1:]) for i in chosen) + "\n"
        return Request(body, [encoded[i][0] for i in chosen], len(chosen), raw=False)
    header, *rows = list(csv.reader(io.StringIO(raw_file.read_text(encoding="utf-8"))))
    if len(rows) != len(encoded):  # not the split's own rows: they cannot be matched
        return _request(encoded, folder, None)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *(rows[i] for i in chosen)])
    values = (signature.get("label") or {}).get("values")
    labels = [str(values[int(float(encoded[i][0]))]) if values else encoded[i][0] for i in chosen]
    return Request(buffer.getvalue(), labels, len(chosen), raw=True)


def _smoke_rows(indices: list[int], labels: list[str]) -> list[int]:
    """The first row of each label, then the next rows, up to SMOKE_ROWS: a smoke test that
    only ever sends one class would not show the model telling them apart."""
    chosen: list[int] = []
    for index in indices:
        if labels[index] not in {labels[picked] for picked in chosen}:
            chosen.append(index)
    chosen = chosen[:SMOKE_ROWS]
    chosen += [index for index in indices if index not in chosen][: SMOKE_ROWS - len(chosen)]
    return chosen
