"""What SageMaker offers, read offline from the pinned SDKs: instance types and regions from
botocore's service model, framework image versions from the SageMaker SDK's image catalogue.

Both are versioned with the pinned packages, so the allowed values are the service's own.
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from importlib import metadata
from pathlib import Path

from pipelines.files import write_atomically
from pipelines.project import BUILD_DIR

ENUM_SHAPES = ("TrainingInstanceType", "ProcessingInstanceType", "ProductionVariantInstanceType")


def _read_botocore_facts() -> dict[str, list[str]]:
    import botocore.session  # noqa: PLC0415 - 0.5 s with the model: only on a cache miss

    session = botocore.session.get_session()
    model = session.get_service_model("sagemaker")
    facts = {shape: sorted(model.shape_for(shape).enum) for shape in ENUM_SHAPES}
    facts["regions"] = sorted(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("sagemaker", partition_name=partition)
    )
    return facts


@cache
def botocore_facts() -> dict[str, frozenset[str]]:
    """The enums and regions, cached per botocore version under .build/ (any change to the
    pinned botocore reads its model afresh; a damaged cache entry is rebuilt)."""
    entry = BUILD_DIR / f"botocore-{metadata.version('botocore')}-sagemaker-facts.json"
    try:
        facts = json.loads(entry.read_text())
        if not set(ENUM_SHAPES) | {"regions"} <= facts.keys():
            raise ValueError(entry)
    except (OSError, ValueError):
        facts = _read_botocore_facts()
        write_atomically(entry, json.dumps(facts, indent=0))
    return {name: frozenset(values) for name, values in facts.items()}


def _image_catalogue(name: str) -> dict[str, object]:
    # Located without importing sagemaker (2 s): find_spec of a top-level package runs nothing.
    spec = importlib.util.find_spec("sagemaker")
    roots = list(spec.submodule_search_locations or []) if spec else []
    for root in roots:
        path = Path(root, "core", "image_uri_config", f"{name}.json")
        if path.is_file():
            catalogue: dict[str, object] = json.loads(path.read_text())
            return catalogue
    raise FileNotFoundError(f"the SageMaker SDK's image catalogue has no {name}.json")


@cache
def framework_versions(framework: str) -> tuple[str, ...]:
    """Versions with both a training and an inference image: a script-mode model is served by
    the image that trained it."""
    catalogue = _image_catalogue(framework)

    def versions(scope: str) -> set[str]:
        section = catalogue.get(scope)
        found = section.get("versions") if isinstance(section, dict) else None
        return set(found) if isinstance(found, dict) else set()

    # "1" and "latest" map to legacy images with another layout.
    usable = (versions("training") & versions("inference")) - {"1", "latest"}
    return tuple(sorted(usable, key=_version_key))


def py_version(framework: str, version: str, scope: str) -> str | None:
    """The newest Python of a framework image, where the catalogue lists several."""
    section = _image_catalogue(framework).get(scope)
    versions = section.get("versions") if isinstance(section, dict) else None
    entry = versions.get(version) if isinstance(versions, dict) else None
    found = entry.get("py_versions") if isinstance(entry, dict) else None
    return str(found[-1]) if isinstance(found, list) and found else None


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.replace("-", ".").split(".") if part.isdigit())
