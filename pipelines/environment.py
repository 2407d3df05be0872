"""Setting environment variables for the span of a block, and putting them back."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping


@contextlib.contextmanager
def temporary_environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) ``values`` in ``os.environ``; restore them afterwards.

    The environment is process-wide: callers that may run in several threads at once hold
    their own lock around the block.
    """
    previous = {name: os.environ.get(name) for name in values}

    def apply(settings: Mapping[str, str | None]) -> None:
        for name, value in settings.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    apply(values)
    try:
        yield
    finally:
        apply(previous)
