"""The pipeline's step code as CDK file assets: content-hashed S3 keys, uploaded by
`cdk deploy`, never by the SageMaker SDK, so unchanged code keeps the same URI and
SageMaker's step cache keeps hitting."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from infra.config import BUILD_DIR, PROJECT_ROOT
from pipelines.files import write_atomically

STEPS_DIR = PROJECT_ROOT / "pipelines" / "steps"
TRAINING_SOURCE_FILES = ("train.py", "inference.py")


def deterministic_tarball(files: list[Path], destination: Path) -> Path:
    """A tar.gz whose bytes depend only on the files' names and contents (no times, owners)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(files, key=lambda p: p.name):
            data = path.read_bytes()
            info = tarfile.TarInfo(path.name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    compressed = gzip.compress(buffer.getvalue(), compresslevel=9, mtime=0)
    if not destination.exists() or destination.read_bytes() != compressed:
        write_atomically(destination, compressed)
    return destination


class StepCode(Construct):
    """S3 URIs of the processing scripts and of the training/inference source bundle."""

    def __init__(self, scope: Construct, id_: str) -> None:
        super().__init__(scope, id_)
        self.preprocess = s3_assets.Asset(self, "Preprocess", path=str(STEPS_DIR / "preprocess.py"))
        self.evaluate = s3_assets.Asset(self, "Evaluate", path=str(STEPS_DIR / "evaluate.py"))
        # The XGBoost container runs `sagemaker_program` from the tar.gz named by
        # `sagemaker_submit_directory`; the endpoint reuses the bundle for inference.py.
        bundle = deterministic_tarball(
            [STEPS_DIR / name for name in TRAINING_SOURCE_FILES],
            BUILD_DIR / "training-source.tar.gz",
        )
        self.training_source = s3_assets.Asset(self, "TrainingSource", path=str(bundle))

    @property
    def assets(self) -> list[s3_assets.Asset]:
        return [self.preprocess, self.evaluate, self.training_source]
