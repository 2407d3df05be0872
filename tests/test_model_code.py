"""ModelCode: what a model's source bundle holds, that its bytes depend only on those files,
and which assets a model ships (in a bare stack)."""

from __future__ import annotations

import tarfile
from pathlib import Path

from aws_cdk import App, Stack

from infra.config import MODELS_DIR
from infra.constructs.model_code import ModelCode, deterministic_tarball, source_files
from infra.stacks.pipeline import STEPS_DIR
from pipelines.definition.spec import load_model_spec

SPEC = """
[data]
task = "multiclass"
sample = "data.csv"
[training]
framework = "sklearn"
entry_point = "train.py"
inference = "serve.py"
source_dir = "src"
[tuning.objective]
metric = "validation:accuracy"
regex = "validation-accuracy:([0-9.]+)"
direction = "Maximize"
[tuning.ranges]
depth = { type = "integer", min = 2, max = 8 }
"""


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_own_scripts_are_bundled_from_the_source_dir_without_hidden_files(
    tmp_path: Path,
) -> None:
    folder = write(
        tmp_path / "churn",
        {
            "model.toml": SPEC,
            "data.csv": "a,target\n1,0\n",
            "src/train.py": "# train\n",
            "src/serve.py": "# serve\n",
            "src/helpers/features.py": "# helper\n",
            "src/.DS_Store": "junk",
            "src/.ipynb_checkpoints/train-checkpoint.py": "# old\n",
            "src/__pycache__/train.cpython-311.pyc": "bytecode",
        },
    )
    files = source_files(load_model_spec(folder), folder, steps_dir=STEPS_DIR)
    assert sorted(files) == ["helpers/features.py", "serve.py", "train.py"]


def test_the_shipped_trainer_takes_an_own_serving_script_from_the_source_dir(
    tmp_path: Path,
) -> None:
    folder = write(
        tmp_path / "scored",
        {
            "model.toml": '[data]\ntask = "binary"\nsample = "sklearn:breast_cancer"\n'
            '[training]\ninference = "serve.py"\nsource_dir = "src"\n',
            "src/serve.py": "# serve\n",
        },
    )
    files = source_files(load_model_spec(folder), folder, steps_dir=STEPS_DIR)
    assert files == {
        "train.py": STEPS_DIR / "train.py",
        "preprocess.py": STEPS_DIR / "preprocess.py",  # the fitted transform's code
        "serve.py": folder / "src" / "serve.py",
    }


def test_the_bundle_is_named_by_its_bytes_and_reproducible(tmp_path: Path) -> None:
    one = write(tmp_path / "one", {"train.py": "a\n", "serve.py": "b\n"})
    first = deterministic_tarball({"train.py": one / "train.py"}, tmp_path / "out")
    again = deterministic_tarball({"train.py": one / "train.py"}, tmp_path / "out")
    other = deterministic_tarball({"serve.py": one / "serve.py"}, tmp_path / "out")
    assert first == again != other
    assert first.read_bytes() == again.read_bytes()
    with tarfile.open(first) as archive:
        (member,) = archive.getmembers()
    assert (member.name, member.mtime, member.uid) == ("train.py", 0, 0)


def test_a_built_in_algorithm_ships_only_its_preprocessing(tmp_path: Path) -> None:
    model_dir = MODELS_DIR / "cancer-linear"
    code = ModelCode(
        Stack(App(), "Bare"),
        "Code",
        spec=load_model_spec(model_dir),
        model_dir=model_dir,
        steps_dir=STEPS_DIR,
        build_dir=tmp_path,
    )
    assert code.evaluate is None
    assert code.source is None
    assert not (tmp_path / "sources").exists()


def test_a_framework_model_ships_its_evaluation_and_a_source_bundle(tmp_path: Path) -> None:
    model_dir = MODELS_DIR / "breast-cancer"
    code = ModelCode(
        Stack(App(), "Bare"),
        "Code",
        spec=load_model_spec(model_dir),
        model_dir=model_dir,
        steps_dir=STEPS_DIR,
        build_dir=tmp_path,
    )
    assert code.evaluate is not None
    assert code.source is not None
    assert [bundle.suffixes for bundle in (tmp_path / "sources").iterdir()] == [[".tar", ".gz"]]
