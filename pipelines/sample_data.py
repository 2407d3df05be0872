"""Sample inputs for the models: scikit-learn's bundled data sets written as CSV.

Imported at CDK synth time, so module import stays cheap and free of side effects; scikit-learn
is imported only when a file is written.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import re
import sys
from importlib import metadata
from pathlib import Path

from pipelines.files import write_atomically

LABEL_COLUMN = "target"
DEFAULT_DATASET = "breast_cancer"


def snake_case(name: str) -> str:
    """``"mean radius"`` -> ``"mean_radius"``."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def _cell(value: float) -> str:
    # %.10g round-trips every value of these data sets and does not vary by platform.
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:.10g}"


def write_sample_csv(
    path: Path, dataset: str = DEFAULT_DATASET, *, label: str = LABEL_COLUMN
) -> Path:
    """Write scikit-learn's ``load_<dataset>()`` data to ``path``: snake_case feature columns
    and the label last, named ``label``. The bytes are deterministic: floats use a fixed
    format and the row order is the data set's."""
    # Deferred: importing scikit-learn would slow down every CDK synth that imports this module.
    datasets = importlib.import_module("sklearn.datasets")
    bunch = getattr(datasets, f"load_{dataset}")()
    header = [snake_case(str(name)) for name in bunch.feature_names] + [label]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for features, target in zip(bunch.data.tolist(), bunch.target.tolist(), strict=True):
        writer.writerow([f"{value:.10g}" for value in features] + [_cell(target)])
    return write_atomically(path, buffer.getvalue())


def cached_sample_csv(
    directory: Path, dataset: str = DEFAULT_DATASET, *, label: str = LABEL_COLUMN
) -> Path:
    """The sample CSV under ``directory``, written once per scikit-learn version.

    Its bytes depend only on the scikit-learn release that ships the data (and the label's
    name), so a file named after them is reused as is and later synths skip the 2-3 s
    scikit-learn import.
    """
    version = metadata.version("scikit-learn")
    path = directory / f"{dataset.replace('_', '-')}-{label}-sklearn-{version}.csv"
    return path if path.exists() else write_sample_csv(path, dataset, label=label)


def sample_file(sample: str, *, label: str, model_dir: Path, cache_dir: Path) -> Path:
    """The CSV a spec's ``data.sample`` names: a bundled scikit-learn data set (written once
    into ``cache_dir``) or a file in the model folder."""
    if sample.startswith("sklearn:"):
        return cached_sample_csv(cache_dir, sample.removeprefix("sklearn:"), label=label)
    return model_dir / sample


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a scikit-learn sample data set as CSV.")
    parser.add_argument("output", type=Path, help="CSV file to write")
    parser.add_argument("--dataset", default=DEFAULT_DATASET, help="e.g. breast_cancer, wine")
    parser.add_argument("--label", default=LABEL_COLUMN, help="name of the label column")
    args = parser.parse_args(argv)
    print(write_sample_csv(args.output, args.dataset, label=args.label))
    return 0


if __name__ == "__main__":
    sys.exit(main())
