"""The sample data set written for the pipeline's input."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from pipelines import sample_data
from tests.support.imports import packages_loaded_by


def test_writes_snake_case_header_and_a_binary_target(sample_csv: Path) -> None:
    with sample_csv.open(newline="") as handle:
        header, *rows = list(csv.reader(handle))

    assert header[0] == "mean_radius"
    assert header[-1] == "target"
    assert all(re.fullmatch(r"[a-z0-9_]+", name) for name in header)
    assert len(header) == 31
    assert len(rows) == 569
    assert {row[-1] for row in rows} == {"0", "1"}


def test_writes_identical_bytes_every_time(sample_csv: Path, tmp_path: Path) -> None:
    again = sample_data.write_sample_csv(tmp_path / "nested" / "again.csv")

    assert again.read_bytes() == sample_csv.read_bytes()


def test_cli_writes_the_file_and_prints_its_path(
    sample_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "cli.csv"

    assert sample_data.main([str(target)]) == 0
    assert target.read_bytes() == sample_csv.read_bytes()
    assert capsys.readouterr().out.strip() == str(target)


def test_importing_the_module_does_not_import_scikit_learn() -> None:
    # CDK synth imports this module; scikit-learn would add seconds to every synth.
    loaded, _ = packages_loaded_by("pipelines.sample_data")

    assert "sklearn" not in loaded


def test_cached_sample_is_written_once_per_sklearn_version(tmp_path: Path) -> None:
    from pipelines.sample_data import cached_sample_csv

    first = cached_sample_csv(tmp_path)
    assert first.name.startswith("breast-cancer-target-sklearn-")
    first.write_text("stale\n")
    assert cached_sample_csv(tmp_path).read_text() == "stale\n"
    assert list(tmp_path.iterdir()) == [first]


@pytest.mark.parametrize(
    ("fixture", "rows", "columns", "labels"),
    [
        ("wine_csv", 178, 14, {"0", "1", "2"}),
        ("diabetes_csv", 442, 11, None),
    ],
)
def test_other_data_sets_are_written_with_the_label_last(
    fixture: str,
    rows: int,
    columns: int,
    labels: set[str] | None,
    request: pytest.FixtureRequest,
) -> None:
    path: Path = request.getfixturevalue(fixture)
    with path.open(newline="") as handle:
        header, *body = list(csv.reader(handle))

    assert (len(body), len(header), header[-1]) == (rows, columns, "target")
    found = {row[-1] for row in body}
    if labels is not None:
        assert found == labels
    else:
        # A regression target: many distinct whole numbers, written without ".0".
        assert len(found) > 100
        assert all(re.fullmatch(r"\d+", value) for value in found)
