"""ECR repositories for training and inference images."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import RepositorySettings


class ImageRepositories(Construct):
    """Two repositories with the same scanning, immutability, encryption and lifecycle."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        settings: RepositorySettings,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, id_)
        self._settings = settings
        self._key = key
        # Physical names: users and launchers push to these, so they must be predictable.
        self.training = self._repository("TrainingRepository", f"{name_prefix}/training")
        self.inference = self._repository("InferenceRepository", f"{name_prefix}/inference")

    def _repository(self, id_: str, name: str) -> ecr.Repository:
        return ecr.Repository(
            self,
            id_,
            repository_name=name,
            image_scan_on_push=True,
            # A tag names one image forever, so a model registered against a tag cannot drift.
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.KMS,
            encryption_key=self._key,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    description="Expire untagged images",
                    tag_status=ecr.TagStatus.UNTAGGED,
                    max_image_age=Duration.days(self._settings.untagged_expiration_days),
                    rule_priority=1,
                ),
                ecr.LifecycleRule(
                    description="Keep the most recent images",
                    tag_status=ecr.TagStatus.ANY,
                    max_image_count=self._settings.keep_last_images,
                    rule_priority=2,
                ),
            ],
            empty_on_delete=False,
        )
