"""Step caching, like SageMaker's ``CacheConfig``: a step whose arguments and inputs match an
earlier successful run reuses that run's outputs instead of running again.

The key is a hash of the step's type, the arguments SageMaker documents as its cache key for
that type ("Default cache key attributes by pipeline step type": e.g. a processing step's
AppSpecification, Environment and ProcessingInputs, but not its instance type or output
location) resolved with the execution variables left as placeholders, and the content hashes
of the objects the step reads (code, data, models). Masking the execution variables is an
assumption: the baseline training step's checkpoint URI carries the execution ID, and whether
the service compares such values resolved is not documented; masked, a re-run can reuse it.
A hit hands back the earlier run's properties, so the step's consumers read the earlier
outputs, as in SageMaker. An entry is only used while every object it produced still exists
and it is younger than the step's ``ExpireAfter``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipelines.files import write_atomically
from pipelines.local.errors import DefinitionError
from pipelines.local.objectstore import ObjectStore

# Bump when the entry layout or key recipe changes, so stale entries are never misread.
FORMAT = 2
# The request attributes SageMaker compares to decide on a cache hit, by step type.
KEY_ATTRIBUTES = {
    "Processing": ("AppSpecification", "Environment", "ProcessingInputs"),
    "Training": (
        "AlgorithmSpecification",
        "CheckpointConfig",
        "DebugHookConfig",
        "DebugRuleConfigurations",
        "Environment",
        "HyperParameters",
        "InputDataConfig",
    ),
    "Tuning": ("HyperParameterTuningJobConfig", "TrainingJobDefinition", "TrainingJobDefinitions"),
}
# Of a tuning step's TrainingJobDefinition, only these children count.
TUNING_DEFINITION_ATTRIBUTES = (
    "AlgorithmSpecification",
    "HyperParameterRanges",
    "InputDataConfig",
    "StaticHyperParameters",
    "TuningObjective",
)
_DURATION = re.compile(
    r"P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)


@dataclass(frozen=True)
class CacheEntry:
    key: str
    execution_id: str
    created: datetime
    properties: dict[str, Any]
    outputs: dict[str, Any]
    objects: list[str]


def cache_config(step: Mapping[str, Any]) -> timedelta | None:
    """How long the step's results stay reusable; None when caching is off for the step."""
    config = step.get("CacheConfig") or {}
    if not config.get("Enabled"):
        return None
    expire_after = config.get("ExpireAfter")
    if expire_after is None:
        return timedelta.max
    return parse_duration(str(expire_after), step.get("Name", "?"))


def parse_duration(text: str, step: str) -> timedelta:
    # SageMaker's guide also writes durations as "30d" or "T16m"; read those as P30D, PT16M.
    normalized = text.upper() if text.upper().startswith("P") else f"P{text.upper()}"
    match = _DURATION.fullmatch(normalized)
    if match is None or normalized in ("P", "PT") or normalized.endswith("T"):
        raise DefinitionError(
            f"malformed definition: step {step}: ExpireAfter {text!r} is not an ISO 8601 duration"
        )
    parts = {name: int(value) for name, value in match.groupdict().items() if value}
    # ISO 8601 years and months have no fixed length; a cache bound does not need one.
    days = parts.get("years", 0) * 365 + parts.get("months", 0) * 30 + parts.get("days", 0)
    return timedelta(
        weeks=parts.get("weeks", 0),
        days=days,
        hours=parts.get("hours", 0),
        minutes=parts.get("minutes", 0),
        seconds=parts.get("seconds", 0),
    )


def key_arguments(step_type: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a step's arguments that decides a cache hit."""
    selected = {name: arguments[name] for name in KEY_ATTRIBUTES[step_type] if name in arguments}
    definition = selected.get("TrainingJobDefinition")
    if step_type == "Tuning" and isinstance(definition, Mapping):
        selected["TrainingJobDefinition"] = {
            name: definition[name] for name in TUNING_DEFINITION_ATTRIBUTES if name in definition
        }
    return selected


def cache_key(
    step_type: str, masked_arguments: Mapping[str, Any], input_digests: Mapping[str, str]
) -> str:
    material = json.dumps(
        {
            "format": FORMAT,
            "type": step_type,
            "arguments": key_arguments(step_type, masked_arguments),
            "inputs": dict(sorted(input_digests.items())),
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(material.encode()).hexdigest()


class StepCache:
    def __init__(self, directory: Path, store: ObjectStore) -> None:
        self.directory = directory
        self.store = store

    def _path(self, step: str, key: str) -> Path:
        return self.directory / step / f"{key}.json"

    def lookup(self, step: str, key: str, max_age: timedelta) -> CacheEntry | None:
        path = self._path(step, key)
        try:
            raw = json.loads(path.read_text())
            entry = CacheEntry(
                key=raw["key"],
                execution_id=raw["execution_id"],
                created=datetime.fromisoformat(raw["created"]),
                properties=raw["properties"],
                outputs=raw["outputs"],
                objects=list(raw["objects"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if max_age != timedelta.max and datetime.now(UTC) - entry.created > max_age:
            return None
        if not all(self.store.exists(uri) for uri in entry.objects):
            return None
        return entry

    def save(self, step: str, entry: CacheEntry) -> None:
        path = self._path(step, entry.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "key": entry.key,
            "execution_id": entry.execution_id,
            "created": entry.created.isoformat(),
            "properties": entry.properties,
            "outputs": entry.outputs,
            "objects": entry.objects,
        }
        write_atomically(path, json.dumps(document, indent=1, default=str))
