"""Sample input for the pipeline: scikit-learn's bundled breast-cancer data set as a CSV.

Imported at CDK synth time, so module import stays cheap and free of side effects; scikit-learn
is imported only when a file is written.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from importlib import metadata
from pathlib import Path

from pipelines.files import write_atomically

LABEL_COLUMN = "target"


def snake_case(name: str) -> str:
    """``"mean radius"`` -> ``"mean_radius"``."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def write_sample_csv(path: Path) -> Path:
    """Write the breast-cancer data (569 rows, 30 features, binary ``target``) to ``path``.

    The bytes are deterministic: floats use a fixed format and the row order is the data set's.
    """
    # Deferred: importing scikit-learn would slow down every CDK synth that imports this module.
    from sklearn.datasets import load_breast_cancer  # noqa: PLC0415

    dataset = load_breast_cancer()
    header = [snake_case(str(name)) for name in dataset.feature_names] + [LABEL_COLUMN]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for features, label in zip(dataset.data.tolist(), dataset.target.tolist(), strict=True):
        # %.10g round-trips every value in this data set and does not vary by platform.
        writer.writerow([f"{value:.10g}" for value in features] + [int(label)])
    return write_atomically(path, buffer.getvalue())


def cached_sample_csv(directory: Path) -> Path:
    """The sample CSV under ``directory``, written once per scikit-learn version.

    Its bytes depend only on the scikit-learn release that ships the data, so a file named after
    that version is reused as is and later synths skip the 2-3 s scikit-learn import.
    """
    path = directory / f"breast-cancer-sklearn-{metadata.version('scikit-learn')}.csv"
    return path if path.exists() else write_sample_csv(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the sample breast-cancer CSV.")
    parser.add_argument("output", type=Path, help="CSV file to write")
    args = parser.parse_args(argv)
    print(write_sample_csv(args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
