"""The end-of-run summary: the JSON document a run writes (:func:`build_summary`) and the same
content as text (:func:`render`): a table of steps with their key outputs, then the selected
model, its metrics and the endpoint's answer."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines.local.execution import Execution
from pipelines.local.scheduler import DONE, Failure, Scheduler

_COLUMNS = ("STEP", "TYPE", "STATUS", "TIME")
# Keys that only make sense in the JSON (long lists, paths on this machine).
_MAX_DEPTH = 3
_HIDDEN = frozenset({"evaluated", "registry_entry", "handler"})


def build_summary(
    *,
    execution: Execution,
    parameters: Mapping[str, Any],
    scheduler: Scheduler,
    failure: Failure | None,
    prediction: dict[str, Any] | None,
    assembly: Path,
    use_cache: bool,
    seconds: float,
) -> dict[str, Any]:
    """The summary JSON: the execution, each step's report, the registered model and the
    smoke prediction."""
    reports = sorted(scheduler.reports.values(), key=lambda r: r.index)
    registered = [
        scheduler.records[r.name].properties
        for r in reports
        if r.type == "RegisterModel" and r.status in DONE
    ]
    selected = None
    if registered:
        package = registered[-1]
        container = package["InferenceSpecification"]["Containers"][0]
        selected = {
            "model_package_arn": package["ModelPackageArn"],
            "approval": package["ModelApprovalStatus"],
            "model_data": container.get("ModelDataUrl"),
            "metrics": _model_metrics(package),
        }
    return {
        "pipeline": execution.pipeline_name,
        "execution_id": execution.id,
        "execution_arn": execution.arn,
        "status": "Succeeded" if failure is None else "Failed",
        "failure": None if failure is None else dataclasses.asdict(failure),
        "started": execution.started.isoformat(),
        "duration_seconds": round(seconds, 2),
        "assembly": str(assembly.resolve()),
        "run_dir": str(execution.run_dir),
        "cache": "on" if use_cache else "off",
        "parameters": dict(parameters),
        "steps": [report.to_json() for report in reports],
        "selected_model": selected,
        "prediction": prediction,
    }


def write_summary(path: Path, summary: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n")


def _model_metrics(package: Mapping[str, Any]) -> dict[str, Any]:
    """Metric values of SageMaker's model-quality JSON (``*_metrics: {name: {value}}``)."""
    values: dict[str, Any] = {}

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            content = node.get("Content")
            if isinstance(content, Mapping):
                for group, metrics in content.items():
                    if str(group).endswith("_metrics") and isinstance(metrics, Mapping):
                        for metric, value in metrics.items():
                            if isinstance(value, Mapping) and "value" in value:
                                values[metric] = value["value"]
                    if group == "selected_model" and isinstance(metrics, Mapping):
                        values["selected_model"] = metrics.get("name", dict(metrics))
            for item in node.values():
                walk(item)

    walk(package.get("ModelMetrics") or {})
    return values


def render(summary: Mapping[str, Any]) -> str:
    steps = summary["steps"]
    rows = [
        (step["name"], step["type"], _status(step), _seconds(step["duration_seconds"]))
        for step in steps
    ]
    widths = [max(len(str(row[i])) for row in [_COLUMNS, *rows]) for i in range(len(_COLUMNS))]
    lines = ["", _row(_COLUMNS, widths), _row(tuple("-" * w for w in widths), widths)]
    for step, row in zip(steps, rows, strict=True):
        lines.append(_row(row, widths))
        indent = " " * 4
        if step["status"] in ("Failed", "Skipped", "NotStarted") and step.get("message"):
            lines.append(f"{indent}{step['message']}")
        for key, value in step["outputs"].items():
            if key not in _HIDDEN:
                lines.append(f"{indent}{key}: {_value(value)}")
        for name, document in (step.get("property_files") or {}).items():
            leaves = ", ".join(f"{path}={_value(value)}" for path, value in _leaves(document))
            lines.append(f"{indent}{name}: {leaves}")

    lines.append("")
    selected = summary.get("selected_model")
    if selected:
        lines.append(f"selected model: {selected['model_data']}")
        lines.append(f"  package: {selected['model_package_arn']} ({selected['approval']})")
        metrics = selected.get("metrics") or {}
        shown = ", ".join(f"{name}={_value(value)}" for name, value in metrics.items())
        lines.append(f"  metrics: {shown or 'none registered'}")
    else:
        lines.append("selected model: none registered in this execution")
    prediction = summary.get("prediction")
    if prediction and "response" in prediction:
        lines.append(
            f"prediction: endpoint {prediction['endpoint']} ({prediction['url']}), "
            f"{prediction['rows']} test rows as {prediction['content_type']} -> "
            f"HTTP {prediction['status']}"
        )
        lines.append(f"  response: {_value(prediction['response'])}")
        lines.append(f"  true labels: {', '.join(prediction['labels'])}")
    elif prediction:
        lines.append(f"prediction: {prediction.get('skipped')}")
    else:
        lines.append("prediction: no endpoint was deployed in this execution")
    failure = summary.get("failure")
    status = summary["status"]
    if failure:
        lines.append(f"execution {summary['execution_id']}: {status} at {failure['step']}")
        lines.append(f"  {failure['message']}")
    else:
        lines.append(
            f"execution {summary['execution_id']}: {status} in {summary['duration_seconds']:.1f}s"
        )
    return "\n".join(lines)


def _leaves(node: Any, path: str = "", depth: int = 0) -> list[tuple[str, Any]]:
    """Scalar leaves of a property file as ``a.b=value``. A ``{"value", "standard_deviation"}``
    pair (SageMaker's metric layout) reads as its value; long strings (URIs, shown elsewhere)
    and deep nesting are left to the JSON summary."""
    if isinstance(node, Mapping):
        if "value" in node and set(node) <= {"value", "standard_deviation"}:
            return _leaves(node["value"], path, depth)
        if depth >= _MAX_DEPTH:
            return []
        found: list[tuple[str, Any]] = []
        for key, value in node.items():
            found.extend(_leaves(value, f"{path}.{key}" if path else str(key), depth + 1))
        return found
    if isinstance(node, (int, float, bool)) or (isinstance(node, str) and len(node) <= 40):
        return [(path, node)]
    return []


def _status(step: Mapping[str, Any]) -> str:
    status = str(step["status"])
    if status == "Cached":
        return f"Cached ({step['cached_from_execution']})"
    return status


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def _row(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True))


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)
