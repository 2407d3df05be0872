"""The launch queue configuration: a CreateTrainingJob request body for external launchers.

W&B Launch (and similar tools) take this body as their queue config and fill in the image,
job name and hyperparameters per run.
"""

from __future__ import annotations

import re
from typing import Any

from infra.config import LaunchAgentSettings

# Instance families with local NVMe instance storage: SageMaker rejects VolumeKmsKeyId for
# them because their training volume is the instance store, encrypted by the hardware.
_INSTANCE_STORE_FAMILY = re.compile(
    r"ml\.("
    r"[a-z]+\d+[a-z]*d[a-z]*"  # the "d" families: c5d, m5d, r5d, g4dn, p4d, p4de, p3dn, m6id...
    r"|g5|g6|g6e|g7|g7e|gr6|p5|p5e|p5en|p6-b200|p6-b300|p6e-gb200|trn1|trn1n|trn2|inf2"
    r")\."
)


def has_instance_storage(instance_type: str) -> bool:
    return _INSTANCE_STORE_FAMILY.match(instance_type) is not None


def training_job_request(
    *,
    settings: LaunchAgentSettings,
    role_arn: str,
    output_path: str,
    key_arn: str,
) -> dict[str, Any]:
    """The CreateTrainingJob fields the platform decides; the launcher adds the rest."""
    resource_config: dict[str, Any] = {
        "InstanceType": settings.instance_type,
        "InstanceCount": settings.instance_count,
        "VolumeSizeInGB": settings.volume_size_gb,
    }
    if not has_instance_storage(settings.instance_type):
        resource_config["VolumeKmsKeyId"] = key_arn
    return {
        "RoleArn": role_arn,
        "ResourceConfig": resource_config,
        "OutputDataConfig": {"S3OutputPath": output_path, "KmsKeyId": key_arn},
        "StoppingCondition": {"MaxRuntimeInSeconds": settings.max_runtime_seconds},
    }
