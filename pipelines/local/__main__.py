"""``python -m pipelines.local``: see :mod:`pipelines.local.cli`."""

import os
import sys

from pipelines.local.cli import main

if __name__ == "__main__":
    code = main()
    # A run leaves 800-odd modules loaded (moto, botocore, the SDKs its steps imported);
    # tearing them down took 0.7 s of a 5 s cached re-run, after every file was written and
    # every endpoint and job process had stopped. The fork server and its resource tracker
    # exit by themselves when their pipe from this process closes.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
