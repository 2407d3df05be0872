"""One model's step code as CDK file assets: content-hashed S3 keys, uploaded by
`cdk deploy`, never by the SageMaker SDK, so unchanged code keeps the same URI and
SageMaker's step cache keeps hitting."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Mapping
from pathlib import Path

from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from pipelines.definition.spec import SPEC_FILE, ModelSpec
from pipelines.files import write_atomically

STEPS_DIR = Path(__file__).resolve().parents[2] / "pipelines" / "steps"
# Never bundled from a model folder: the spec itself and byte-code caches.
_NOT_BUNDLED = {SPEC_FILE, "__pycache__"}


def deterministic_tarball(files: Mapping[str, Path], destination: Path) -> Path:
    """A tar.gz whose bytes depend only on the files' names and contents (no times, owners)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(files):
            data = files[name].read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    compressed = gzip.compress(buffer.getvalue(), compresslevel=9, mtime=0)
    if not destination.exists() or destination.read_bytes() != compressed:
        write_atomically(destination, compressed)
    return destination


def source_files(spec: ModelSpec, model_dir: Path) -> dict[str, Path]:
    """What the training and serving containers get: the shipped trainer and serving script,
    or every file of the model's source folder (by relative name)."""
    if spec.training.uses_shipped_trainer:
        shipped = [spec.entry_point, spec.inference_script]
        files = {name: STEPS_DIR / name for name in shipped}
        if spec.training.inference is not None:
            files[spec.training.inference] = model_dir / spec.training.inference
        return files
    root = model_dir / spec.training.source_dir
    return {
        path.relative_to(root).as_posix(): path
        for path in sorted(root.rglob("*"))
        if path.is_file()
        and not _NOT_BUNDLED & set(path.relative_to(root).parts)
        and path.suffix != ".pyc"
    }


class ModelCode(Construct):
    """S3 URIs of one model's processing scripts and of its training/serving source bundle."""

    def __init__(
        self, scope: Construct, id_: str, *, spec: ModelSpec, model_dir: Path, build_dir: Path
    ) -> None:
        super().__init__(scope, id_)
        script = spec.preprocessing.script
        preprocess = model_dir / script if script else STEPS_DIR / "preprocess.py"
        self.preprocess = s3_assets.Asset(self, "Preprocess", path=str(preprocess))
        self.evaluate = s3_assets.Asset(self, "Evaluate", path=str(STEPS_DIR / "evaluate.py"))
        # The framework container runs `sagemaker_program` from the tar.gz named by
        # `sagemaker_submit_directory`; the endpoint and the evaluator reuse the bundle.
        bundle = deterministic_tarball(
            source_files(spec, model_dir), build_dir / "sources" / f"{spec.name}.tar.gz"
        )
        self.source = s3_assets.Asset(self, "Source", path=str(bundle))

    @property
    def assets(self) -> list[s3_assets.Asset]:
        return [self.preprocess, self.evaluate, self.source]
