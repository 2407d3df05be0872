"""A folder that stands in for S3: ``s3://<bucket>/<key>`` lives at ``<root>/<bucket>/<key>``.

Downloads follow the SageMaker SDK's local mode (``download_folder``): a URI that names an
object yields that one file under its base name; otherwise the URI is a "directory" prefix and
every object below ``<prefix>/`` lands at its path relative to the prefix. Real S3Prefix
matching is plain string-prefix matching (``.../train`` would also match ``.../train-2/x``); no
step of this pipeline relies on the difference, and the folder view keeps the layout readable.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path, PurePosixPath

from pipelines.files import write_atomically
from pipelines.local.errors import StepError

_SCHEME = "s3://"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of an ``s3://`` URI; the key may be empty."""
    if not isinstance(uri, str) or not uri.startswith(_SCHEME):
        raise StepError(f"not an S3 URI: {uri!r}")
    bucket, _, key = uri[len(_SCHEME) :].partition("/")
    if not bucket:
        raise StepError(f"S3 URI without a bucket: {uri!r}")
    # ``..`` or an absolute part would let a URI address files outside the store.
    parts = PurePosixPath(key).parts
    if "/" in bucket or bucket in (".", "..") or ".." in parts or key.startswith("/"):
        raise StepError(f"S3 URI {uri!r} cannot be mapped into the local object store")
    return bucket, key


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, uri: str) -> Path:
        bucket, key = parse_s3_uri(uri)
        return self.root / bucket / key

    def uri(self, path: Path) -> str:
        relative = path.relative_to(self.root).as_posix()
        return f"{_SCHEME}{relative}"

    def put_bytes(self, uri: str, data: bytes) -> bool:
        """Write an object unless it already holds exactly ``data``; True if written."""
        target = self.path(uri)
        if target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data:
            return False
        write_atomically(target, data)
        return True

    def put_file(self, uri: str, source: Path) -> bool:
        return self.put_bytes(uri, source.read_bytes())

    def read_bytes(self, uri: str) -> bytes:
        target = self.path(uri)
        if not target.is_file():
            raise StepError(f"no object at {uri}")
        return target.read_bytes()

    def is_object(self, uri: str) -> bool:
        return self.path(uri).is_file()

    def exists(self, uri: str) -> bool:
        """An object, or a prefix with at least one object below it."""
        return bool(self._files(uri))

    def _files(self, uri: str) -> list[tuple[str, Path]]:
        """(relative name, local file) of what ``uri`` addresses, sorted by name."""
        target = self.path(uri)
        if target.is_file():
            return [(target.name, target)]
        if not target.is_dir():
            return []
        return sorted(
            (path.relative_to(target).as_posix(), path)
            for path in target.rglob("*")
            if path.is_file() and not path.name.endswith(".partial")
        )

    def download(self, uri: str, destination: Path) -> list[Path]:
        """Copy what ``uri`` addresses into ``destination``; a missing source is an error."""
        files = self._files(uri)
        if not files:
            raise StepError(f"no object found at {uri}")
        destination.mkdir(parents=True, exist_ok=True)
        copied = []
        for relative, source in files:
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            copied.append(target)
        return copied

    def upload_dir(self, source: Path, uri: str) -> list[str]:
        """Put every file below ``source`` at ``<uri>/<relative path>``; the URIs written."""
        prefix = uri.rstrip("/")
        written: list[str] = []
        if not source.is_dir():
            return written
        for path in sorted(source.rglob("*")):
            if path.is_file():
                object_uri = f"{prefix}/{path.relative_to(source).as_posix()}"
                target = self.path(object_uri)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                written.append(object_uri)
        return written

    def digest(self, uri: str) -> str:
        """Content hash of what ``uri`` addresses (names and bytes); "" when nothing is there."""
        files = self._files(uri)
        if not files:
            return ""
        digest = hashlib.sha256()
        for relative, path in files:
            digest.update(f"{relative}\0{file_digest(path)}\0".encode())
        return digest.hexdigest()
