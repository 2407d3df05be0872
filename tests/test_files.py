"""Atomic writes: readers never see half a file, and concurrent writers never collide."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipelines.files import write_atomically


def test_threads_writing_the_same_file_at_once_all_succeed(tmp_path: Path) -> None:
    # Pipelines running at once publish the same assets into one object store; with a
    # per-process partial name, one thread's rename took the others' partial file away.
    target = tmp_path / "shared" / "asset.json"
    payloads = [f"{index}\n".encode() * 10_000 for index in range(8)]

    def write(payload: bytes) -> Path:
        for _ in range(20):
            write_atomically(target, payload)
        return target

    with ThreadPoolExecutor(len(payloads)) as executor:
        list(executor.map(write, payloads))
    assert target.read_bytes() in payloads
    assert [path.name for path in target.parent.iterdir()] == ["asset.json"]
