"""Model specs: loading models/<name>/model.toml, one-line errors that name the file, the field,
the value and what is allowed, the values derived from a spec, and model discovery."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from pipelines.definition import contract
from pipelines.definition.catalogue import botocore_facts, framework_versions
from pipelines.definition.spec import (
    DEFAULT_VERSIONS,
    XGBOOST_HYPERPARAMETERS,
    ModelSpec,
    Range,
    SpecError,
    TuningSpec,
    discover_models,
    load_model_spec,
)
from tests.pipeline.conftest import REPO

BINARY = '[data]\ntask = "binary"\nsample = "sklearn:breast_cancer"\n'
# A scikit-learn model with its own scripts: everything such a spec must say.
OWN_SCRIPTS = """
[data]
task = "multiclass"
sample = "sklearn:wine"

[training]
framework = "sklearn"
entry_point = "train.py"
inference = "serve.py"

[training.hyperparameters]
n_estimators = 100

[tuning.objective]
metric = "validation:accuracy"
regex = "validation-accuracy:([0-9\\\\.]+)"
direction = "Maximize"

[tuning.ranges]
n_estimators = { type = "integer", min = 50, max = 400 }
"""
SCRIPTS = ("train.py", "serve.py")


def model_folder(
    root: Path, toml: str, *, name: str = "my-model", files: tuple[str, ...] = ()
) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "model.toml").write_text(toml)
    for relative in files:
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text("# a script\n")
    return folder


def spec_error(folder: Path, overrides: dict[str, Any] | None = None) -> str:
    with pytest.raises(SpecError) as raised:
        load_model_spec(folder, overrides)
    text = str(raised.value)
    assert "\n" not in text, text
    assert "Traceback" not in text
    return text


# -- loading ---------------------------------------------------------------------------------------


def test_the_shipped_spec_loads_with_its_values_and_defaults_for_the_rest():
    spec = load_model_spec(REPO / "models" / "breast-cancer")
    assert spec.name == "breast-cancer"
    assert spec.description.startswith("Breast-cancer diagnosis")
    assert (spec.data.task, spec.data.label, spec.data.sample) == (
        "binary",
        "target",
        "sklearn:breast_cancer",
    )
    assert (spec.evaluation.metric, spec.evaluation.threshold) == ("auc", 0.9)
    # Everything else is a default.
    assert spec.training == type(spec.training)()
    assert spec.tuning == TuningSpec()
    assert spec.preprocessing == type(spec.preprocessing)()
    assert spec.deployment == type(spec.deployment)()


def test_a_minimal_spec_needs_only_the_task_and_the_sample(tmp_path: Path):
    spec = load_model_spec(model_folder(tmp_path, BINARY))
    assert spec.name == "my-model"
    assert spec.data.label == "target"
    assert spec.data.input_uri is None
    assert spec.training.framework == "xgboost"
    assert spec.training.image_version == DEFAULT_VERSIONS["xgboost"]
    assert spec.training.uses_shipped_trainer
    assert (spec.entry_point, spec.inference_script) == (
        contract.SHIPPED_TRAINER,
        contract.SHIPPED_INFERENCE,
    )


def test_a_spec_with_its_own_scripts_loads_when_the_files_exist(tmp_path: Path):
    spec = load_model_spec(model_folder(tmp_path, OWN_SCRIPTS, files=SCRIPTS))
    assert not spec.training.uses_shipped_trainer
    assert (spec.entry_point, spec.inference_script) == ("train.py", "serve.py")
    assert spec.training.image_version == DEFAULT_VERSIONS["sklearn"]
    assert spec.hyperparameters == {"n_estimators": 100}
    assert set(spec.ranges) == {"n_estimators"}


def test_scripts_are_looked_up_under_the_source_dir(tmp_path: Path):
    toml = OWN_SCRIPTS.replace(
        'inference = "serve.py"', 'inference = "serve.py"\nsource_dir = "src"'
    )
    folder = model_folder(tmp_path, toml, files=("src/train.py", "src/serve.py"))
    assert load_model_spec(folder).training.source_dir == "src"
    (folder / "src" / "serve.py").unlink()
    text = spec_error(folder)
    assert "training.inference" in text
    assert "src/serve.py" in text


def test_a_spec_without_a_tuning_section_is_tuned_with_the_defaults(tmp_path: Path):
    spec = load_model_spec(model_folder(tmp_path, BINARY))
    assert spec.tuning == TuningSpec()
    assert (spec.tuning.strategy, spec.tuning.max_jobs, spec.tuning.max_parallel_jobs) == (
        "Bayesian",
        6,
        2,
    )
    empty = load_model_spec(model_folder(tmp_path, BINARY + "[tuning]\n", name="empty-tuning"))
    assert empty.tuning == TuningSpec()


def test_no_tuning_is_possible_in_python_only():
    # TOML has no null; the builder's untuned branch is reachable from Python.
    spec = ModelSpec.model_validate(
        {"name": "untuned", "data": {"task": "binary", "sample": "sklearn:iris"}, "tuning": None}
    )
    assert spec.tuning is None
    # The baseline still reports the trainer's validation metric.
    assert spec.objective.metric == "validation:auc"
    assert set(spec.ranges) == {"eta", "max_depth", "min_child_weight", "subsample", "num_round"}


# -- one-line errors -----------------------------------------------------------------------------

SKLEARN_VERSION = OWN_SCRIPTS.replace(
    'framework = "sklearn"', 'framework = "sklearn"\nversion = "0.1"'
)

LINEAR = BINARY + '[training]\nalgorithm = "linear-learner"\n'
LINEAR_RANGES = "[tuning.ranges]\nwd = { min = 0.001, max = 1.0 }\n"
BAD_SPECS = [
    (
        "writes_transform without an own script",
        BINARY + "[preprocessing]\nwrites_transform = true\n",
        (),
        ["preprocessing.writes_transform is for your own preprocessing.script"],
    ),
    (
        "writes_transform with an own trainer",
        OWN_SCRIPTS.replace(
            "[training]\n",
            '[preprocessing]\nscript = "prep.py"\nwrites_transform = true\n\n[training]\n',
        ),
        (*SCRIPTS, "prep.py"),
        ["writes_transform = true needs the shipped trainer"],
    ),
    (
        "own objective without a regex",
        BINARY + '[tuning.objective]\nmetric = "validation:f1"\ndirection = "Maximize"\n',
        (),
        ["tuning.objective.regex is required: it reads the objective from the job's log"],
    ),
    (
        "logarithmic range from zero",
        BINARY + '[tuning.ranges]\neta = { min = 0, max = 0.3, scaling = "Logarithmic" }\n',
        (),
        ["a Logarithmic range needs min > 0, got 0"],
    ),
    (
        "reverse-logarithmic range beyond 1",
        BINARY
        + '[tuning.ranges]\nsubsample = { min = 0.5, max = 1.0, scaling = "ReverseLogarithmic" }\n',
        (),
        ["a ReverseLogarithmic range must be continuous within [0, 1)"],
    ),
    (
        "label listed as categorical",
        BINARY + '[preprocessing]\ncategorical = ["target"]\n',
        (),
        ["preprocessing.categorical lists the label 'target'"],
    ),
    (
        "sample outside the folder",
        '[data]\ntask = "binary"\nsample = "../other/data.csv"\n',
        (),
        ["data.sample = '../other/data.csv': must be sklearn:<data set> or a .csv file"],
    ),
    (
        "multiclass built-in without num_classes",
        '[data]\ntask = "multiclass"\nsample = "sklearn:wine"\n'
        '[training]\nalgorithm = "linear-learner"\n'
        + LINEAR_RANGES
        + '[evaluation]\nmetric = "validation:multiclass_accuracy"\nthreshold = 0.8\n',
        (),
        ["training.hyperparameters.num_classes is required for a multiclass linear-learner"],
    ),
    (
        "built-in algorithm gated on an evaluator metric",
        LINEAR + LINEAR_RANGES + '[evaluation]\nmetric = "auc"\nthreshold = 0.9\n',
        (),
        [
            "evaluation.metric = 'auc': a linear-learner model is gated on one of its own binary "
            "metrics; allowed: validation:objective_loss, validation:binary_classification_accuracy"
        ],
    ),
    (
        "built-in algorithm without ranges",
        LINEAR + '[evaluation]\nmetric = "validation:objective_loss"\nthreshold = 0.3\n',
        (),
        ["training.algorithm = 'linear-learner': set tuning.ranges (max_jobs may be 1)"],
    ),
    (
        "built-in algorithm with a script",
        BINARY + '[training]\nalgorithm = "linear-learner"\nentry_point = "train.py"\n',
        (),
        ["runs the algorithm's own image: remove training.entry_point"],
    ),
    (
        "bad task",
        '[data]\ntask = "ranking"\nsample = "sklearn:breast_cancer"\n',
        (),
        [
            "setting data.task = 'ranking'",
            "'binary', 'multiclass' or 'regression'",
        ],
    ),
    (
        "bad xgboost version",
        BINARY + '[training]\nversion = "9.9"\n',
        (),
        [
            "training.version = '9.9'",
            f"allowed: {', '.join(framework_versions('xgboost'))}",
        ],
    ),
    (
        "bad sklearn version",
        SKLEARN_VERSION,
        SCRIPTS,
        ["training.version = '0.1'", f"allowed: {', '.join(framework_versions('sklearn'))}"],
    ),
    (
        "bad framework",
        BINARY + '[training]\nframework = "tensorflow"\n',
        (),
        ["setting training.framework = 'tensorflow'", "'xgboost', 'sklearn' or 'pytorch'"],
    ),
    ("unknown top-level field", 'colour = "red"\n' + BINARY, (), ["unknown setting 'colour'"]),
    ("unknown section", BINARY + "[serving]\nport = 1\n", (), ["unknown setting 'serving'"]),
    (
        "unknown field in a section",
        BINARY + "[training]\nspotty = true\n",
        (),
        ["unknown setting 'training.spotty'"],
    ),
    (
        "unknown field in a range",
        BINARY + "[tuning.ranges]\neta = { min = 0.1, max = 0.2, step = 0.01 }\n",
        (),
        ["unknown setting 'tuning.ranges.eta.step'"],
    ),
    (
        "name in the file",
        'name = "other"\n' + BINARY,
        (),
        ["unknown setting 'name'", "named by its folder"],
    ),
    (
        "bad training instance type",
        BINARY + '[training]\ninstance_type = "ml.m5.huge"\n',
        (),
        [
            "setting training.instance_type = 'ml.m5.huge'",
            "not a SageMaker training instance type",
            "botocore's TrainingInstanceType",
        ],
    ),
    (
        "bad processing instance type",
        BINARY + '[preprocessing]\ninstance_type = "ml.t2.medium"\n',
        (),
        ["setting preprocessing.instance_type = 'ml.t2.medium'", "ProcessingInstanceType"],
    ),
    (
        "bad endpoint instance type",
        BINARY + '[deployment]\ninstance_type = "ml.m5.huge"\n',
        (),
        ["setting deployment.instance_type = 'ml.m5.huge'", "ProductionVariantInstanceType"],
    ),
    (
        "sklearn without scripts",
        BINARY + '[training]\nframework = "sklearn"\n',
        (),
        ["training.framework = 'sklearn'", "training.entry_point", "training.inference"],
    ),
    (
        "pytorch without a serving script",
        BINARY + '[training]\nframework = "pytorch"\nentry_point = "train.py"\n',
        ("train.py",),
        ["training.framework = 'pytorch'", "training.inference"],
    ),
    (
        "own entry point without objective and ranges",
        BINARY + '[training]\nentry_point = "train.py"\n',
        ("train.py",),
        ["tuning.objective and tuning.ranges are required", "training.entry_point"],
    ),
    (
        "missing entry point",
        OWN_SCRIPTS,
        ("serve.py",),
        ["setting training.entry_point", "train.py' not found in models/my-model/"],
    ),
    (
        "missing serving script",
        OWN_SCRIPTS,
        ("train.py",),
        ["setting training.inference", "serve.py' not found in models/my-model/"],
    ),
    (
        "missing preprocessing script",
        BINARY + '[preprocessing]\nscript = "prep.py"\n',
        (),
        ["setting preprocessing.script", "'prep.py' not found"],
    ),
    (
        "missing sample file",
        '[data]\ntask = "binary"\nsample = "data.csv"\n',
        (),
        ["setting data.sample", "'data.csv' not found"],
    ),
    (
        "unknown bundled sample",
        '[data]\ntask = "binary"\nsample = "sklearn:mnist"\n',
        (),
        ["data.sample = 'sklearn:mnist'", "allowed: sklearn:breast_cancer, sklearn:diabetes"],
    ),
    (
        "sample neither bundled nor csv",
        '[data]\ntask = "binary"\nsample = "data.parquet"\n',
        (),
        ["data.sample = 'data.parquet'", "sklearn:<data set> or a .csv file"],
    ),
    (
        "script outside the folder",
        BINARY + '[preprocessing]\nscript = "../other/prep.py"\n',
        (),
        ["setting preprocessing.script = '../other/prep.py'", "no '..'"],
    ),
    (
        "absolute script path",
        BINARY + '[training]\nentry_point = "/opt/train.py"\n',
        (),
        ["setting training.entry_point = '/opt/train.py'", "no leading '/'"],
    ),
    (
        "input not in S3",
        BINARY.replace("[data]\n", '[data]\ninput_uri = "https://example.com/x.csv"\n'),
        (),
        ["setting data.input_uri = 'https://example.com/x.csv'", "an s3:// URI"],
    ),
    (
        "metric of another task",
        BINARY + '[evaluation]\nmetric = "rmse"\n',
        (),
        ["evaluation.metric = 'rmse'", "not a binary metric", "allowed: auc, accuracy"],
    ),
    (
        "regression without a threshold",
        '[data]\ntask = "regression"\nsample = "sklearn:diabetes"\n',
        (),
        ["evaluation.threshold is required for a regression"],
    ),
    (
        "negative naive margin",
        BINARY + "[evaluation]\nnaive_margin = -0.01\n",
        (),
        ["evaluation.naive_margin", "greater than or equal to 0"],
    ),
    (
        "naive margin of a built-in algorithm",
        LINEAR
        + LINEAR_RANGES
        + '[evaluation]\nmetric = "validation:binary_f_beta"\nthreshold = 0.9\n'
        + "naive_margin = 0.05\n",
        (),
        ["evaluation.naive_margin: a linear-learner model is gated on its tuning job's objective"],
    ),
    (
        "parallel jobs above jobs",
        BINARY + "[tuning]\nmax_jobs = 2\nmax_parallel_jobs = 3\n",
        (),
        ["tuning.max_parallel_jobs (3) must be <= tuning.max_jobs (2)"],
    ),
    (
        "spot waiting less than running",
        BINARY + "[training]\nmax_runtime_seconds = 7200\nmax_wait_seconds = 3600\n",
        (),
        ["training.max_wait_seconds (3600) must be >= training.max_runtime_seconds (7200)"],
    ),
    (
        "minimum above maximum capacity",
        BINARY + "[deployment]\nmin_capacity = 3\nmax_capacity = 2\n",
        (),
        ["deployment.min_capacity (3) must be <= deployment.max_capacity (2)"],
    ),
    (
        "value out of range",
        BINARY + "[preprocessing]\ntest_fraction = 0.6\n",
        (),
        ["setting preprocessing.test_fraction = 0.6", "less than 0.5"],
    ),
    (
        "wrong type",
        BINARY + '[tuning]\nmax_jobs = "many"\n',
        (),
        ["setting tuning.max_jobs = 'many'", "valid integer"],
    ),
    (
        "objective regex without a group",
        BINARY + '[tuning.objective]\nmetric = "m"\nregex = "m=[0-9.]+"\ndirection = "Maximize"\n',
        (),
        ["tuning.objective.regex must capture the value in exactly one group, has 0"],
    ),
    (
        "objective regex that does not compile",
        BINARY + '[tuning.objective]\nmetric = "m"\nregex = "m=(["\ndirection = "Maximize"\n',
        (),
        ["tuning.objective.regex is not a regular expression"],
    ),
    (
        "empty range",
        BINARY + "[tuning.ranges]\neta = { min = 0.3, max = 0.1 }\n",
        (),
        ["tuning.ranges.eta", "needs min < max, got 0.3..0.1"],
    ),
    (
        "fractional integer range",
        BINARY + '[tuning.ranges]\ndepth = { type = "integer", min = 1.5, max = 4 }\n',
        (),
        ["tuning.ranges.depth", "whole-number min and max"],
    ),
    (
        "categorical range with bounds",
        BINARY + '[tuning.ranges]\nc = { type = "categorical", values = ["a"], min = 1 }\n',
        (),
        ["tuning.ranges.c", "values = [...] and no min/max"],
    ),
]


@pytest.mark.parametrize(
    ("toml", "files", "expected"),
    [case[1:] for case in BAD_SPECS],
    ids=[case[0] for case in BAD_SPECS],
)
def test_a_bad_spec_fails_with_one_line_naming_file_field_value_and_what_is_allowed(
    tmp_path: Path, toml: str, files: tuple[str, ...], expected: list[str]
):
    text = spec_error(model_folder(tmp_path, toml, files=files))
    assert text.startswith("models/my-model/model.toml: "), text
    for part in expected:
        assert part in text, (part, text)


def test_instance_type_errors_offer_botocore_s_values():
    allowed = sorted(botocore_facts()["TrainingInstanceType"])
    with pytest.raises(ValidationError) as raised:
        ModelSpec.model_validate(
            {
                "name": "x",
                "data": {"task": "binary", "sample": "sklearn:iris"},
                "training": {"instance_type": "ml.m5.huge"},
            }
        )
    assert f"{len(allowed)} values" in str(raised.value)
    assert ", ".join(allowed[:3]) in str(raised.value)


def test_invalid_toml_names_the_file_and_the_position(tmp_path: Path):
    text = spec_error(model_folder(tmp_path, BINARY + "[training\n"))
    assert text.startswith("models/my-model/model.toml: not valid TOML: ")
    assert "line 4" in text


def test_a_folder_without_model_toml_is_named(tmp_path: Path):
    (tmp_path / "no-spec").mkdir()
    assert spec_error(tmp_path / "no-spec") == (
        "models/no-spec/model.toml: not found; every folder under models/ needs one"
    )


@pytest.mark.parametrize(
    "name", ["Breast", "x", "wine_2", "a--b", "-wine", "wine-", "2wine", "abcdefghijklmnopq"]
)
def test_a_bad_folder_name_is_rejected_before_the_file_is_read(tmp_path: Path, name: str):
    folder = tmp_path / name
    folder.mkdir()  # no model.toml: the name is checked first
    text = spec_error(folder)
    assert text.startswith(f"models/{name}/model.toml: model folder name {name!r} must be ")
    assert "2-16 characters" in text


@pytest.mark.parametrize("name", ["ab", "wine", "breast-cancer", "m2-v3", "abcdefghijklmnop"])
def test_good_folder_names_are_accepted(tmp_path: Path, name: str):
    assert load_model_spec(model_folder(tmp_path, BINARY, name=name)).name == name


# -- overrides from the environment --------------------------------------------------------------


def test_overrides_are_merged_into_the_file_s_sections(tmp_path: Path):
    folder = model_folder(tmp_path, BINARY + "[tuning]\nmax_jobs = 10\n")
    spec = load_model_spec(
        folder, {"tuning": {"max_parallel_jobs": 5}, "deployment": {"max_capacity": 4}}
    )
    assert spec.tuning is not None
    assert (spec.tuning.max_jobs, spec.tuning.max_parallel_jobs) == (10, 5)
    assert spec.deployment.max_capacity == 4
    assert spec.data.task == "binary"  # untouched sections stay


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"tuning": {"max_jobs": 0}}, "setting tuning.max_jobs = 0"),
        ({"data": {"task": "ranking"}}, "setting data.task = 'ranking'"),
        ({"training": {"spotty": True}}, "unknown setting 'training.spotty'"),
        ({"training": {"version": "9.9"}}, "training.version = '9.9'"),
        ({"tuning": {"max_parallel_jobs": 9}}, "tuning.max_parallel_jobs (9) must be <="),
    ],
)
def test_an_error_from_an_override_names_the_environment_s_models_entry(
    tmp_path: Path, overrides: dict[str, Any], expected: str
):
    text = spec_error(model_folder(tmp_path, BINARY), overrides)
    assert text.startswith("models/my-model/model.toml with override models.my-model: "), text
    assert expected in text


def test_an_error_in_the_file_does_not_blame_an_unrelated_override(tmp_path: Path):
    folder = model_folder(tmp_path, BINARY + '[training]\ninstance_type = "ml.m5.huge"\n')
    text = spec_error(folder, {"deployment": {"max_capacity": 4}})
    assert text.startswith("models/my-model/model.toml: setting training.instance_type"), text


def test_an_override_cannot_rename_the_model(tmp_path: Path):
    # -c models.<name>.name=other: one line, not a TypeError from the constructor.
    text = spec_error(model_folder(tmp_path, BINARY), {"name": "other"})
    assert "unknown setting 'name'; a model is named by its folder" in text


# -- derived values ------------------------------------------------------------------------------


def spec_of(task: str, **sections: Any) -> ModelSpec:
    sample = {"binary": "breast_cancer", "multiclass": "wine", "regression": "diabetes"}[task]
    evaluation = sections.pop("evaluation", {"threshold": 50.0} if task == "regression" else {})
    return ModelSpec.model_validate(
        {
            "name": "derived",
            "data": {"task": task, "sample": f"sklearn:{sample}"},
            "evaluation": evaluation,
            **sections,
        }
    )


@pytest.mark.parametrize(
    ("task", "metric", "direction", "threshold"),
    [
        ("binary", "auc", "Maximize", 0.9),
        ("multiclass", "accuracy", "Maximize", 0.8),
        ("regression", "rmse", "Minimize", 50.0),
    ],
)
def test_the_gate_defaults_per_task(task, metric, direction, threshold):
    spec = spec_of(task)
    assert (spec.gate_metric, spec.gate_direction, spec.gate_threshold) == (
        metric,
        direction,
        threshold,
    )
    # Strictly better than the naive predictor unless the spec asks for a margin.
    assert spec.evaluation.naive_margin == 0.0
    assert contract.DEFAULT_GATE_METRIC[task] == metric


@pytest.mark.parametrize(
    ("task", "metric", "direction"),
    [
        ("binary", "f1", "Maximize"),
        ("multiclass", "weighted_recall", "Maximize"),
        ("regression", "r2", "Maximize"),
        ("regression", "mae", "Minimize"),
    ],
)
def test_the_gate_direction_follows_the_chosen_metric(task, metric, direction):
    spec = spec_of(task, evaluation={"metric": metric, "threshold": 0.5})
    assert (spec.gate_metric, spec.gate_direction, spec.gate_threshold) == (metric, direction, 0.5)


@pytest.mark.parametrize(
    ("task", "metric", "direction"),
    [
        ("binary", "auc", "Maximize"),
        ("multiclass", "mlogloss", "Minimize"),
        ("regression", "rmse", "Minimize"),
    ],
)
def test_the_objective_defaults_to_the_shipped_trainer_s_validation_metric(task, metric, direction):
    objective = spec_of(task).objective
    assert objective.metric == f"validation:{metric}"
    assert objective.regex == contract.metric_regex(metric)
    assert objective.direction == direction
    assert contract.TRAINER_METRIC[task] == (metric, direction)


def test_an_objective_of_the_spec_replaces_the_default():
    objective = {"metric": "val:f1", "regex": r"f1=([0-9.]+)", "direction": "Maximize"}
    spec = spec_of("binary", tuning={"objective": objective})
    assert spec.objective.model_dump() == objective


def test_the_shipped_trainer_s_hyperparameters_are_its_defaults_the_task_and_the_spec_s():
    spec = spec_of("multiclass", training={"hyperparameters": {"max_depth": 8, "gamma": 0.5}})
    assert spec.hyperparameters == {
        **XGBOOST_HYPERPARAMETERS,
        "task": "multiclass",
        "max_depth": 8,
        "gamma": 0.5,
    }
    assert XGBOOST_HYPERPARAMETERS["max_depth"] == 5  # the spec's value won
    assert spec_of("binary").hyperparameters == {**XGBOOST_HYPERPARAMETERS, "task": "binary"}


def test_own_scripts_get_only_the_spec_s_hyperparameters_and_ranges():
    spec = ModelSpec.model_validate(
        {
            "name": "own",
            "data": {"task": "multiclass", "sample": "sklearn:wine"},
            "training": {
                "framework": "pytorch",
                "entry_point": "train.py",
                "inference": "serve.py",
                "hyperparameters": {"epochs": 5},
            },
            "tuning": {
                "objective": {"metric": "val:acc", "regex": r"acc=(\d+)", "direction": "Maximize"},
                "ranges": {"lr": {"min": 0.001, "max": 0.1, "scaling": "Logarithmic"}},
            },
        }
    )
    assert spec.hyperparameters == {"epochs": 5}
    assert spec.ranges == {"lr": Range(min=0.001, max=0.1, scaling="Logarithmic")}
    assert spec.training.image_version == DEFAULT_VERSIONS["pytorch"]


def test_the_shipped_trainer_s_ranges_are_the_default_and_a_spec_s_replace_them():
    defaults = spec_of("binary").ranges
    assert {name: (r.type, r.min, r.max) for name, r in defaults.items()} == {
        "eta": ("continuous", 0.01, 0.3),
        "max_depth": ("integer", 3, 10),
        "min_child_weight": ("continuous", 1, 10),
        "subsample": ("continuous", 0.5, 1.0),
        "num_round": ("integer", 50, 300),
    }
    own = spec_of("binary", tuning={"ranges": {"eta": {"min": 0.1, "max": 0.2}}}).ranges
    assert set(own) == {"eta"}


def test_every_default_version_is_in_the_sdk_s_catalogue():
    for framework, version in DEFAULT_VERSIONS.items():
        assert version in framework_versions(framework), framework


def test_specs_are_frozen_and_compare_by_value():
    spec = spec_of("binary")
    assert spec == spec_of("binary")
    with pytest.raises(ValidationError, match="frozen"):
        spec.description = "changed"


def test_the_fingerprint_is_canonical_json_of_every_field():
    spec = spec_of("binary", training={"hyperparameters": {"b": 1, "a": 2}})
    reordered = spec_of("binary", training={"hyperparameters": {"a": 2, "b": 1}})
    assert spec.fingerprint() == reordered.fingerprint()
    assert json.loads(spec.fingerprint()) == spec.model_dump(mode="json")
    changed = spec_of("binary", training={"hyperparameters": {"b": 1, "a": 3}})
    assert changed.fingerprint() != spec.fingerprint()


# -- discovery -----------------------------------------------------------------------------------


def test_discover_models_finds_every_folder_sorted_and_skips_hidden_ones(tmp_path: Path):
    for name in ("wine", "breast-cancer", "diabetes"):
        model_folder(tmp_path, BINARY, name=name)
    (tmp_path / ".cache").mkdir()
    (tmp_path / "_drafts").mkdir()
    (tmp_path / "README.md").write_text("not a model\n")
    specs = discover_models(tmp_path)
    assert [spec.name for spec in specs] == ["breast-cancer", "diabetes", "wine"]


def test_discover_models_applies_each_model_s_overrides_to_that_model_only(tmp_path: Path):
    for name in ("aa", "bb"):
        model_folder(tmp_path, BINARY, name=name)
    aa, bb = discover_models(tmp_path, {"bb": {"deployment": {"max_capacity": 7}}})
    assert (aa.deployment.max_capacity, bb.deployment.max_capacity) == (2, 7)


def test_an_override_for_an_unknown_model_names_it_and_the_known_ones(tmp_path: Path):
    for name in ("wine", "breast-cancer"):
        model_folder(tmp_path, BINARY, name=name)
    with pytest.raises(SpecError) as raised:
        discover_models(tmp_path, {"nope": {"x": 1}})
    assert str(raised.value) == (
        "setting models.nope: no such model folder; models are breast-cancer, wine"
    )


@pytest.mark.parametrize("kind", ["empty", "missing"])
def test_no_model_at_all_is_an_error(tmp_path: Path, kind: str):
    models = tmp_path / "models"
    if kind == "empty":
        models.mkdir()
    with pytest.raises(SpecError, match=r"no model folder under .*models: add models/<name>/"):
        discover_models(models)


def test_one_bad_model_stops_discovery_naming_that_model(tmp_path: Path):
    model_folder(tmp_path, BINARY, name="good")
    model_folder(tmp_path, BINARY + "[tuning]\nmax_jobs = 0\n", name="bad")
    with pytest.raises(SpecError, match=r"^models/bad/model.toml: setting tuning.max_jobs = 0"):
        discover_models(tmp_path)


def test_the_repository_s_models_include_the_shipped_example():
    folders = sorted(
        path.name
        for path in (REPO / "models").iterdir()
        if path.is_dir() and not path.name.startswith((".", "_"))
    )
    assert "breast-cancer" in folders
    assert (REPO / "models" / "breast-cancer" / "model.toml").is_file()


def test_model_names_that_differ_only_in_hyphens_are_refused(tmp_path: Path) -> None:
    # Their stack outputs (PipelineName<Model>) would be the same.
    for name in ("churn-2", "churn2"):
        model_folder(tmp_path, BINARY, name=name)
    with pytest.raises(SpecError) as raised:
        discover_models(tmp_path)
    assert str(raised.value) == (
        "models/churn2: its name differs from models/churn-2 only in hyphens, so their stack "
        "outputs would collide; rename one"
    )


# -- reading the spec and the files it names ---------------------------------------------------


def test_a_spec_file_that_is_not_utf8_is_one_line_naming_the_line(tmp_path: Path):
    folder = model_folder(tmp_path, BINARY)
    (folder / "model.toml").write_bytes(BINARY.encode() + b"# caf\xe9\n")
    assert spec_error(folder) == (
        "models/my-model/model.toml: line 4 has byte 0xe9, which is not UTF-8; TOML files are UTF-8"
    )


def test_a_spec_file_that_is_a_directory_is_one_line(tmp_path: Path):
    (tmp_path / "my-model" / "model.toml").mkdir(parents=True)
    assert spec_error(tmp_path / "my-model") == (
        "models/my-model/model.toml: is a directory; it must be a TOML file"
    )


def test_a_symlink_out_of_the_model_folder_is_refused_naming_the_link(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0\n")
    folder = model_folder(tmp_path, OWN_SCRIPTS, files=SCRIPTS)
    (folder / "train.py").unlink()
    (folder / "train.py").symlink_to(secret)
    assert spec_error(folder) == (
        f"models/my-model/model.toml: models/my-model/train.py is a symlink to {secret}, "
        "outside the model folder; copy the file in instead"
    )


def test_a_symlink_out_of_the_folder_is_refused_even_when_no_field_names_it(tmp_path: Path):
    # Own scripts bundle every file of the source folder, named or not.
    folder = model_folder(tmp_path, OWN_SCRIPTS, files=SCRIPTS)
    (folder / "lib").symlink_to(tmp_path, target_is_directory=True)
    assert "models/my-model/lib is a symlink to" in spec_error(folder)


def test_a_symlink_inside_the_model_folder_is_fine(tmp_path: Path):
    folder = model_folder(tmp_path, OWN_SCRIPTS, files=("serve.py", "real_train.py"))
    (folder / "train.py").symlink_to(folder / "real_train.py")
    assert load_model_spec(folder).entry_point == "train.py"


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('entry_point = "train.py"', 'entry_point = "../train.py"', "training.entry_point"),
        ('sample = "sklearn:wine"', 'sample = "../data.csv"', "data.sample"),
        ('inference = "serve.py"', 'inference = "serve.py"\nsource_dir = ".."', "source_dir"),
    ],
)
def test_a_path_that_leaves_the_model_folder_is_refused(
    tmp_path: Path, old: str, new: str, field: str
):
    for name in (*SCRIPTS, "data.csv"):
        (tmp_path / name).write_text("a,target\n1,0\n")
    folder = model_folder(tmp_path, OWN_SCRIPTS.replace(old, new), files=SCRIPTS)
    text = spec_error(folder)
    assert field in text
    assert "model folder" in text or "inside models/my-model/" in text


def test_a_description_longer_than_the_pipeline_api_allows_is_refused(tmp_path: Path):
    toml = f'description = "{"d" * 3001}"\n' + BINARY
    text = spec_error(model_folder(tmp_path, toml))
    assert "description" in text
    assert "at most 3000 characters" in text


@pytest.mark.parametrize(
    ("preprocessing", "carries"),
    [
        ("", True),
        ('script = "prep.py"\n', False),
        ('script = "prep.py"\nwrites_transform = true\n', True),
    ],
    ids=["shipped preprocessor", "own script", "own script writing the transform"],
)
def test_an_own_preprocessing_script_declares_whether_its_transform_is_served(
    tmp_path: Path, preprocessing: str, carries: bool
):
    toml = BINARY + "[preprocessing]\n" + preprocessing
    spec = load_model_spec(model_folder(tmp_path, toml, files=("prep.py",)))
    assert spec.carries_transform is carries
