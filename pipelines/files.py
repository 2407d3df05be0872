"""Writing a file so that readers see the old content or the new, never half of it."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def write_atomically(path: Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a hidden ``.partial`` sibling unique to this process
    and thread.

    Caches under .build/ and the local runner's run directory are shared by concurrent
    processes (parallel test workers, tuning trials) and threads (pipelines run at once);
    a rename is atomic on one filesystem.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
    if isinstance(data, str):
        partial.write_text(data, encoding="utf-8")
    else:
        partial.write_bytes(data)
    partial.replace(path)
    return path
