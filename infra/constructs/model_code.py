"""One model's step code as CDK file assets: content-hashed S3 keys, uploaded by
`cdk deploy`, never by the SageMaker SDK, so unchanged code keeps the same URI and
SageMaker's step cache keeps hitting."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import Mapping
from pathlib import Path

from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from pipelines.definition import contract
from pipelines.definition.spec import SPEC_FILE, ModelSpec
from pipelines.files import write_atomically

# Never bundled from a model folder: the spec itself and byte-code caches.
_NOT_BUNDLED = {SPEC_FILE, "__pycache__"}


def deterministic_tarball(files: Mapping[str, Path], directory: Path) -> Path:
    """A tar.gz whose bytes depend only on the files' names and contents (no times, owners),
    named by those bytes: concurrent synths sharing ``directory`` never overwrite each other's."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(files):
            data = files[name].read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    compressed = gzip.compress(buffer.getvalue(), compresslevel=9, mtime=0)
    destination = directory / f"{hashlib.sha256(compressed).hexdigest()}.tar.gz"
    if not destination.exists():
        write_atomically(destination, compressed)
    return destination


def source_files(spec: ModelSpec, model_dir: Path, *, steps_dir: Path) -> dict[str, Path]:
    """What the training and serving containers get: the shipped trainer and serving script,
    or every file of the model's source folder (by relative name)."""
    root = model_dir / spec.training.source_dir
    if spec.training.uses_shipped_trainer:
        # preprocess.py: the fitted transform's code, which the serving script applies.
        shipped = [spec.entry_point, spec.inference_script, contract.SHIPPED_PREPROCESSOR]
        files = {name: steps_dir / name for name in shipped}
        if spec.training.inference is not None:
            files[spec.training.inference] = root / spec.training.inference
        return files
    return {
        path.relative_to(root).as_posix(): path
        for path in sorted(root.rglob("*"))
        if path.is_file() and _bundled(path.relative_to(root), spec)
    }


def _bundled(relative: Path, spec: ModelSpec) -> bool:
    # Hidden files (editor swaps, .DS_Store, notebook checkpoints) and the sample data would
    # make the bundle, and so the definition, differ between machines for no reason.
    if any(part.startswith(".") or part in _NOT_BUNDLED for part in relative.parts):
        return False
    return relative.suffix != ".pyc" and relative.as_posix() != spec.data.sample


class ModelCode(Construct):
    """S3 URIs of one model's processing scripts and of its training/serving source bundle.
    ``steps_dir`` holds the shipped step scripts a model uses unless its folder has its own."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        spec: ModelSpec,
        model_dir: Path,
        steps_dir: Path,
        build_dir: Path,
    ) -> None:
        super().__init__(scope, id_)
        script = spec.preprocessing.script
        preprocess = model_dir / script if script else steps_dir / contract.SHIPPED_PREPROCESSOR
        self.preprocess = s3_assets.Asset(self, "Preprocess", path=str(preprocess))
        self.evaluate: s3_assets.Asset | None = None
        self.source: s3_assets.Asset | None = None
        if spec.training.algorithm is not None:
            return  # A built-in algorithm trains, is judged and serves with its own code.
        self.evaluate = s3_assets.Asset(self, "Evaluate", path=str(steps_dir / "evaluate.py"))
        # The framework container runs `sagemaker_program` from the tar.gz named by
        # `sagemaker_submit_directory`; the endpoint and the evaluator reuse the bundle.
        bundle = deterministic_tarball(
            source_files(spec, model_dir, steps_dir=steps_dir), build_dir / "sources"
        )
        self.source = s3_assets.Asset(self, "Source", path=str(bundle))
