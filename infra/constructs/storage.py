"""The project's buckets: data in, artifacts out, and the access-log sink for both."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import StorageSettings


class Storage(Construct):
    """Three buckets sharing one set of security defaults, applied in ``_bucket`` only."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        settings: StorageSettings,
        key: kms.IKey,
        names: Mapping[str, str],
    ) -> None:
        super().__init__(scope, id_)
        self._settings = settings
        self._names = names
        # S3 server access logging can only deliver to a bucket encrypted with S3-managed
        # keys, so this one bucket cannot use the project key.
        self.access_log_bucket = self._bucket(
            "AccessLogBucket",
            name=names["access-logs"],
            encryption=s3.BucketEncryption.S3_MANAGED,
            key=None,
            log_to=None,
        )
        self.data_bucket = self._bucket(
            "DataBucket",
            name=names["data"],
            encryption=s3.BucketEncryption.KMS,
            key=key,
            log_to=self.access_log_bucket,
        )
        self.artifact_bucket = self._bucket(
            "ArtifactBucket",
            name=names["artifacts"],
            encryption=s3.BucketEncryption.KMS,
            key=key,
            log_to=self.access_log_bucket,
        )
        self._skip_scanner_checks_on_log_bucket()
        for bucket, name in (
            (self.access_log_bucket, names["access-logs"]),
            (self.data_bucket, names["data"]),
            (self.artifact_bucket, names["artifacts"]),
        ):
            self._retain_policy(bucket, name)

    @staticmethod
    def _retain_policy(bucket: s3.Bucket, name: str) -> None:
        """A retained bucket keeps its protections: TLS only, TLS 1.2, and (on the log bucket)
        the grant S3 delivers access logs with. Deleting the policy with the stack would leave
        the bucket accepting plain HTTP and the log bucket refusing deliveries.

        The policy names its bucket by the bucket's static name, not by a Ref: CloudFormation
        adopts an existing resource on deploy only if the template names it statically.
        """
        assert bucket.policy is not None  # enforce_ssl always creates it
        bucket.policy.apply_removal_policy(RemovalPolicy.RETAIN)
        cfn_policy = bucket.policy.node.default_child
        assert isinstance(cfn_policy, s3.CfnBucketPolicy)
        cfn_policy.add_property_override("Bucket", name)

    def _bucket(
        self,
        id_: str,
        *,
        name: str,
        encryption: s3.BucketEncryption,
        key: kms.IKey | None,
        log_to: s3.IBucket | None,
    ) -> s3.Bucket:
        return s3.Bucket(
            self,
            id_,
            bucket_name=name,
            encryption=encryption,
            encryption_key=key,
            bucket_key_enabled=key is not None,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            server_access_logs_bucket=log_to,
            server_access_logs_prefix=f"{id_}/" if log_to is not None else None,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="AbortIncompleteUploads",
                    abort_incomplete_multipart_upload_after=Duration.days(
                        self._settings.abort_incomplete_upload_days
                    ),
                ),
                s3.LifecycleRule(
                    id="ExpireNoncurrentVersions",
                    noncurrent_version_expiration=Duration.days(
                        self._settings.noncurrent_version_expiration_days
                    ),
                ),
            ],
        )

    def _skip_scanner_checks_on_log_bucket(self) -> None:
        cfn_bucket = self.access_log_bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        cfn_bucket.add_metadata(
            "checkov",
            {
                "skip": [
                    {
                        "id": "CKV_AWS_18",
                        "comment": "The access-log sink does not log itself: that would log its "
                        "own log deliveries without end",
                    },
                ]
            },
        )
