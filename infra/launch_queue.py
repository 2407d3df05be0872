"""The launch queue configuration: a CreateTrainingJob request body for external launchers.

W&B Launch (and similar tools) take this body as their queue config and add the image,
environment and tags per run. The body names the job ``<job_name_prefix>-${run_id}``: W&B's
SageMaker runner substitutes ``${run_id}`` with the run's id and uses ``TrainingJobName`` as
given, but without one it names the job after the bare run id, which the launch-agent role
(scoped to ``training-job/<job_name_prefix>-*``) may not create, describe, stop or tag. Other
launchers must replace ``TrainingJobName`` with their own unique name that starts with
``<job_name_prefix>-``.
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


# W&B Launch fills ${run_id}, ${project_name}, ${entity_name}, ${run_name}, ${image_uri},
# ${author} and the agent's environment variables in a queue config. The run id is the only
# one unique per job, and the ids W&B generates (8 lowercase letters and digits) are valid in a
# SageMaker name; project and run names may hold characters SageMaker rejects.
RUN_ID_MACRO = "${run_id}"


def training_job_name(job_name_prefix: str) -> str:
    """The TrainingJobName of the queue config: the prefix, a hyphen and W&B's run id macro."""
    return f"{job_name_prefix}-{RUN_ID_MACRO}"


def has_instance_storage(instance_type: str) -> bool:
    return _INSTANCE_STORE_FAMILY.match(instance_type) is not None


def training_job_request(
    *,
    settings: LaunchAgentSettings,
    job_name_prefix: str,
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
        "TrainingJobName": training_job_name(job_name_prefix),
        "RoleArn": role_arn,
        "ResourceConfig": resource_config,
        "OutputDataConfig": {"S3OutputPath": output_path, "KmsKeyId": key_arn},
        "StoppingCondition": {"MaxRuntimeInSeconds": settings.max_runtime_seconds},
    }
