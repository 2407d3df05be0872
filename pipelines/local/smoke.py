"""The smoke prediction at the end of a run: a few test rows sent to the deployed endpoint,
to show the model answers before the run stops it."""

from __future__ import annotations

import json
from typing import Any

from pipelines.local.deployments import add_example
from pipelines.local.execution import Execution
from pipelines.local.expressions import StepRecord
from pipelines.local.hosting import LocalEndpoint
from pipelines.local.scheduler import Scheduler

SMOKE_ROWS = 3


def smoke_prediction(execution: Execution, scheduler: Scheduler) -> dict[str, Any] | None:
    """A few rows of the test split sent to the first endpoint as text/csv.

    The rows come from a processing output named ``test``; in the SageMaker XGBoost CSV
    layout the pipeline writes, the label is the first column, so it is dropped from the
    request and reported next to the predictions instead.
    """
    endpoints = list(execution.hosting.endpoints.values())
    if not endpoints:
        return None
    endpoint: LocalEndpoint = endpoints[0]
    rows: list[str] = []
    source = None
    for name in scheduler.graph.order:
        properties = scheduler.records.get(name, StepRecord()).properties
        for output in (properties.get("ProcessingOutputConfig") or {}).get("Outputs", []):
            if output.get("OutputName") == "test" and not rows:
                source = str(output["S3Output"]["S3Uri"])
                folder = execution.store.path(source)
                for path in sorted(folder.rglob("*.csv")) if folder.is_dir() else []:
                    rows = [line for line in path.read_text().splitlines() if line.strip()]
                    break
    if not rows:
        return {
            "endpoint": endpoint.name,
            "status": 200,
            "skipped": "no processing output named 'test' to take rows from",
        }
    cells = _smoke_rows([row.split(",") for row in rows])
    body = "\n".join(",".join(row[1:]) for row in cells) + "\n"
    try:
        status, text = endpoint.invoke(body.encode(), "text/csv", "application/json")
    except OSError as error:
        return {"endpoint": endpoint.name, "status": None, "error": f"{endpoint.url}: {error}"}
    try:
        response: Any = json.loads(text)
    except json.JSONDecodeError:
        response = text
    result = {
        "endpoint": endpoint.name,
        "url": endpoint.url,
        "content_type": "text/csv",
        "rows": len(cells),
        "source": source,
        "labels": [row[0] for row in cells],
        "status": status,
        "response": response,
    }
    execution.report(endpoint.name, f"prediction for {len(cells)} test rows: HTTP {status}")
    example = {"content_type": "text/csv", "body": body, "status": status, "response": response}
    add_example(execution.run_dir, endpoint.name, example)
    return result


def _smoke_rows(rows: list[list[str]]) -> list[list[str]]:
    """The first row of each label, then the next rows, up to SMOKE_ROWS: a smoke test that
    only ever sends one class would not show the model telling them apart."""
    chosen: list[list[str]] = []
    for row in rows:
        if row[0] not in {picked[0] for picked in chosen}:
            chosen.append(row)
    chosen = chosen[:SMOKE_ROWS]
    chosen += [row for row in rows if row not in chosen][: SMOKE_ROWS - len(chosen)]
    return chosen
