"""Pre-merge review of an infrastructure change: ``python -m review --base REF``.

Synthesizes the base ref (in a temporary git worktree) and the working tree offline, diffs every
stack's template with the CDK's own diff engine (``tools/review/template-diff.cjs``), diffs the
SageMaker pipeline definition step by step, adds the head's cdk-nag, cfn-lint and checkov
findings, and writes one deterministic Markdown report.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ReviewError(Exception):
    """A problem the user must fix: the message is one line; ``exit_code`` is the CLI's."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
