"""Stopping a local run on SIGINT (Ctrl-C) or SIGTERM without leaving a result another run
would trust.

The signal handler only records the signal and stops the job processes this run started; the
threads running steps notice (``stop_requested``) and wind down: no new step or tuning trial
starts, and a step that was running when the signal came ends as Stopped, never as a success
with a cache entry. What a step finished before the signal stays, as it would in SageMaker.
The run then ends with one line and exit code 130.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Protocol

from pipelines.local.errors import LocalRunError

_stop = threading.Event()
_signal_name = ""
_children_lock = threading.Lock()
_children: set[Stoppable] = set()


class Stoppable(Protocol):
    def terminate(self) -> None: ...


class RunInterruptedError(LocalRunError):
    """The run stopped on a signal: exit code 130, as a shell reports an interrupted command."""

    exit_code = 130


class StepInterruptedError(Exception):
    """A step ended because the run was stopped; its result is discarded."""


def stop_requested() -> bool:
    return _stop.is_set()


def interrupted_error() -> RunInterruptedError:
    return RunInterruptedError(
        f"interrupted by {_signal_name or 'a signal'}: running steps were stopped and none of "
        "them was cached; steps that had finished are reused by the next run"
    )


def request_stop(name: str) -> None:
    """Stop every job process of this run and tell the step threads to wind down."""
    global _signal_name  # noqa: PLW0603 - one run per process listens for signals
    _signal_name = _signal_name or name
    _stop.set()
    with _children_lock:
        children = list(_children)
    for child in children:
        with contextlib.suppress(OSError):
            child.terminate()


@contextlib.contextmanager
def tracked(process: Stoppable) -> Iterator[None]:
    """Register a job process for the duration of the block; one started after a stop was
    requested is stopped at once."""
    with _children_lock:
        _children.add(process)
    try:
        if _stop.is_set():
            process.terminate()
        yield
    finally:
        with _children_lock:
            _children.discard(process)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Install the SIGINT and SIGTERM handlers for one run (main thread only), and clear what
    an earlier run in this process left."""
    global _signal_name  # noqa: PLW0603
    _stop.clear()
    _signal_name = ""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if _stop.is_set():
            # A second signal while the steps wind down: stop waiting for them.
            raise KeyboardInterrupt
        request_stop(signal.Signals(signum).name)

    previous = {number: signal.signal(number, handle) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
