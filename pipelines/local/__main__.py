"""``python -m pipelines.local``: see :mod:`pipelines.local.cli`."""

import sys

from pipelines.local.cli import main

if __name__ == "__main__":
    sys.exit(main())
