"""What importing a module costs, seen from a fresh interpreter: the top-level packages it
loaded (a module that stays light must not pull in the CDK, the SageMaker SDK or
scikit-learn) and what it printed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def packages_loaded_by(*modules: str) -> tuple[set[str], str]:
    """(top-level package names in sys.modules after importing ``modules``, stderr)."""
    code = (
        f"import sys, {', '.join(modules)}\n"
        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(result.stdout.split()), result.stderr
