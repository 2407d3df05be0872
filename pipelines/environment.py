"""Setting environment variables for the span of a block, and putting them back."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping

# The environment is process-wide: a block that changes it and a thread that copies it (to
# start a job) must not interleave, or the copy holds another block's temporary values, or
# fails with "dictionary changed size during iteration". Innermost of every lock that holds it.
_LOCK = threading.RLock()


def environment_snapshot() -> dict[str, str]:
    """A copy of ``os.environ`` taken while no block is changing it."""
    with _LOCK:
        return dict(os.environ)


@contextlib.contextmanager
def temporary_environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) ``values`` in ``os.environ``; restore them afterwards. The
    block holds the environment lock: other threads' snapshots wait for it to end."""

    def apply(settings: Mapping[str, str | None]) -> None:
        for name, value in settings.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    with _LOCK:
        previous = {name: os.environ.get(name) for name in values}
        apply(values)
        try:
            yield
        finally:
            apply(previous)
