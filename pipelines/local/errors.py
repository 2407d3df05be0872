"""The error kinds of a local run and the exit code each one maps to."""

from __future__ import annotations

from pathlib import Path


class LocalRunError(Exception):
    """Something about the input stops the run before any step: exit code 2, one line."""

    exit_code = 2


class AssemblyError(LocalRunError):
    """The cloud assembly is missing, unreadable, or uses a CloudFormation feature we cannot
    resolve locally."""


class DefinitionError(LocalRunError):
    """The pipeline definition is malformed or uses a step kind this runner does not support."""


class NotRunnableLocallyError(DefinitionError):
    """A valid definition this machine cannot run: a built-in algorithm or a custom image
    whose code is not ours to run. With several pipelines, that one is reported and skipped."""


class ParameterError(LocalRunError):
    """A ``--param`` override names an unknown parameter or has the wrong type or value."""


class StepError(Exception):
    """A step failed while running: the execution stops and the run exits with code 1.

    ``log`` is the step's log file (if it has one) so the caller can show its tail.
    """

    def __init__(self, message: str, *, log: Path | None = None) -> None:
        super().__init__(message)
        self.log = log


class FailStepError(Exception):
    """A Fail step ran: the execution fails with the step's (resolved) error message."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step
