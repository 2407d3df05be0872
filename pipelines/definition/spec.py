"""Model specs: one folder per model under ``models/``, each with a declarative ``model.toml``.

A spec says what to train and how to judge it; everything the platform decides (names, roles,
buckets, keys) is added by the CDK side. Every field has a default except the data's task and
sample and, for a regression, the gate's threshold, so a spec stays short. A bad spec stops
synth with one line naming the file, the field, the value and what is allowed.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from pipelines.definition import contract
from pipelines.definition.catalogue import framework_versions
from pipelines.definition.fields import (
    Capacity,
    EndpointInstanceType,
    InstanceCount,
    InvocationsTarget,
    ProcessingInstanceType,
    Section,
    TrainingInstanceType,
    describe_error,
    pattern,
)
from pipelines.names import MODEL_NAME, MODEL_NAME_RULE

SPEC_FILE = "model.toml"
# scikit-learn's bundled data sets the sample may name (no download needed).
SKLEARN_SAMPLES = ("breast_cancer", "diabetes", "iris", "wine")
DEFAULT_VERSIONS = {"xgboost": "3.0-5", "sklearn": "1.2-1", "pytorch": "2.6.0"}

# Hyperparameters and ranges of the shipped XGBoost trainer, as pipelines/steps/train.py
# parses them; a spec's own values are merged over these.
XGBOOST_HYPERPARAMETERS: dict[str, int | float | str] = {
    "num_round": 200,
    "max_depth": 5,
    "eta": 0.2,
    "subsample": 0.8,
    "min_child_weight": 1.0,
    "early_stopping_rounds": 20,
    "seed": 42,
    "checkpoint_interval": 10,
}


class SpecError(Exception):
    """A user mistake in a model spec: the message is the one line shown to the user."""


_RELATIVE_PATTERN = r"(?!/)(?!.*(^|/)\.\.(/|$))[\w./-]+"
_RELATIVE = re.compile(_RELATIVE_PATTERN)
RelativeFile = Annotated[
    str,
    pattern(
        _RELATIVE_PATTERN,
        "a path inside the model folder (no leading '/', no '..')",
    ),
]
S3Uri = Annotated[str, pattern(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?", "an s3:// URI")]
Scalar = int | float | str | bool


class DataSpec(Section):
    task: contract.Task
    label: str = Field(default="target", min_length=1)
    # "sklearn:<data set>" or a CSV file in the model folder; shipped into the data bucket.
    sample: str
    # Where a run reads by default; unset means the shipped sample in the data bucket.
    input_uri: S3Uri | None = None

    @model_validator(mode="after")
    def _known_sample(self) -> DataSpec:
        if self.sample.startswith("sklearn:"):
            name = self.sample.removeprefix("sklearn:")
            if name not in SKLEARN_SAMPLES:
                raise ValueError(
                    f"data.sample = {self.sample!r}: not a bundled scikit-learn data set; "
                    f"allowed: {', '.join('sklearn:' + s for s in SKLEARN_SAMPLES)} or a .csv "
                    "file in the model folder"
                )
        elif not self.sample.endswith(".csv") or not _RELATIVE.fullmatch(self.sample):
            raise ValueError(
                f"data.sample = {self.sample!r}: must be sklearn:<data set> or a .csv file in "
                "the model folder (no leading '/', no '..')"
            )
        return self


class PreprocessingSpec(Section):
    # Unset: the shipped generic tabular preprocessor (pipelines/steps/preprocess.py).
    script: RelativeFile | None = None
    # Your own script also writes transform/transform.json (and signature.json) in the shipped
    # preprocessor's format, so the shipped trainer packs it and the endpoint applies it.
    writes_transform: bool = False
    categorical: tuple[str, ...] = ()
    missing: Literal["error", "drop", "impute"] = "error"
    validation_fraction: float = Field(default=0.15, gt=0, lt=0.5)
    test_fraction: float = Field(default=0.15, gt=0, lt=0.5)
    seed: int = 42
    instance_type: ProcessingInstanceType = "ml.m5.xlarge"
    volume_size_gb: int = Field(default=30, ge=1, le=16384)


class TrainingSpec(Section):
    # A SageMaker built-in algorithm instead of a script-mode framework: its own code, so it
    # is gated on its tuning job's best objective rather than by the shipped evaluator.
    algorithm: Literal["linear-learner"] | None = None
    framework: Literal["xgboost", "sklearn", "pytorch"] = "xgboost"
    # Unset: the pinned default of the framework (DEFAULT_VERSIONS).
    version: str | None = None
    # Unset: the shipped XGBoost trainer and serving script (xgboost only).
    entry_point: RelativeFile | None = None
    inference: RelativeFile | None = None
    # Folder (in the model folder) whose files are bundled with the entry point.
    source_dir: RelativeFile = "."
    hyperparameters: dict[str, Scalar] = Field(default_factory=dict)
    instance_type: TrainingInstanceType = "ml.m5.xlarge"
    instance_count: InstanceCount = 1
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    spot: bool = True
    max_runtime_seconds: int = Field(default=3600, ge=60, le=2_419_200)
    max_wait_seconds: int = Field(default=7200, ge=60, le=2_419_200)

    @model_validator(mode="after")
    def _consistent(self) -> TrainingSpec:
        if self.algorithm is not None:
            given = [
                name
                for name in ("version", "entry_point", "inference")
                if getattr(self, name) is not None
            ]
            if given or "framework" in self.model_fields_set:
                named = ", ".join(f"training.{name}" for name in given or ["framework"])
                raise ValueError(
                    f"training.algorithm = {self.algorithm!r} runs the algorithm's own image: "
                    f"remove {named}"
                )
        versions = framework_versions(self.framework)
        if self.version is not None and self.version not in versions:
            raise ValueError(
                f"training.version = {self.version!r}: no {self.framework} training and "
                f"inference image of that version in the SageMaker SDK's catalogue; allowed: "
                f"{', '.join(versions)}"
            )
        if self.spot and self.max_wait_seconds < self.max_runtime_seconds:
            raise ValueError(
                f"training.max_wait_seconds ({self.max_wait_seconds}) must be >= "
                f"training.max_runtime_seconds ({self.max_runtime_seconds}) with spot training"
            )
        if (
            self.algorithm is None
            and self.framework != "xgboost"
            and (self.entry_point is None or self.inference is None)
        ):
            raise ValueError(
                f"training.framework = {self.framework!r}: set training.entry_point and "
                "training.inference to your scripts (the shipped ones are for xgboost)"
            )
        return self

    @property
    def image_version(self) -> str:
        return self.version or DEFAULT_VERSIONS[self.framework]

    @property
    def uses_shipped_trainer(self) -> bool:
        return self.algorithm is None and self.entry_point is None


class Range(Section):
    type: Literal["continuous", "integer", "categorical"] = "continuous"
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] = ()
    scaling: Literal["Auto", "Linear", "Logarithmic", "ReverseLogarithmic"] = "Auto"

    @model_validator(mode="after")
    def _bounds(self) -> Range:
        if self.type == "categorical":
            if not self.values or self.min is not None or self.max is not None:
                raise ValueError("a categorical range takes values = [...] and no min/max")
        elif self.min is None or self.max is None or self.min >= self.max:
            raise ValueError(f"a {self.type} range needs min < max, got {self.min}..{self.max}")
        elif self.type == "integer" and not (
            float(self.min).is_integer() and float(self.max).is_integer()
        ):
            raise ValueError("an integer range needs whole-number min and max")
        elif self.scaling == "Logarithmic" and self.min <= 0:
            raise ValueError(f"a Logarithmic range needs min > 0, got {self.min}")
        elif self.scaling == "ReverseLogarithmic" and (
            self.type == "integer" or self.min < 0 or self.max >= 1
        ):
            raise ValueError(
                "a ReverseLogarithmic range must be continuous within [0, 1), got "
                f"{self.type} {self.min}..{self.max}"
            )
        return self


class Objective(Section):
    metric: str = Field(min_length=1, max_length=255)
    # The MetricDefinitions regex that reads the value from the job's log; a built-in
    # algorithm reports its metrics itself and takes none.
    regex: str | None = Field(default=None, min_length=1, max_length=500)
    direction: contract.Direction

    @model_validator(mode="after")
    def _one_group(self) -> Objective:
        if self.regex is None:
            return self
        try:
            groups = re.compile(self.regex).groups
        except re.error as error:
            raise ValueError(
                f"tuning.objective.regex is not a regular expression: {error}"
            ) from None
        if groups != 1:
            raise ValueError(
                f"tuning.objective.regex must capture the value in exactly one group, has {groups}"
            )
        return self


class TuningSpec(Section):
    # false: no Tune step; the baseline is the only candidate.
    enabled: bool = True
    strategy: Literal["Bayesian", "Random", "Hyperband"] = "Bayesian"
    max_jobs: int = Field(default=6, ge=1, le=500)
    max_parallel_jobs: int = Field(default=2, ge=1, le=100)
    early_stopping: bool = True
    # Unset with the shipped trainer: its validation metric for the task (contract).
    objective: Objective | None = None
    # Unset with the shipped trainer: eta, max_depth, min_child_weight, subsample, num_round.
    ranges: dict[str, Range] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _budget(self) -> TuningSpec:
        if self.max_parallel_jobs > self.max_jobs:
            raise ValueError(
                f"tuning.max_parallel_jobs ({self.max_parallel_jobs}) must be <= "
                f"tuning.max_jobs ({self.max_jobs})"
            )
        return self


class EvaluationSpec(Section):
    # Unset: the task's default (auc, accuracy, rmse); the direction follows from the metric.
    metric: str | None = None
    threshold: float | None = None
    # How much the model must beat the naive predictor by on the gate metric, in the metric's
    # units; 0 means strictly better. Accuracy alone passes a constant predictor on imbalanced
    # data, so the gate always compares with it as well as with the threshold.
    naive_margin: float = Field(default=0.0, ge=0, allow_inf_nan=False)


class DeploymentSpec(Section):
    instance_type: EndpointInstanceType = "ml.m5.large"
    min_capacity: Capacity = 1
    max_capacity: Capacity = 2
    target_invocations_per_instance: InvocationsTarget = 70

    @model_validator(mode="after")
    def _capacity(self) -> DeploymentSpec:
        if self.min_capacity > self.max_capacity:
            raise ValueError(
                f"deployment.min_capacity ({self.min_capacity}) must be <= "
                f"deployment.max_capacity ({self.max_capacity})"
            )
        return self


class ModelSpec(Section):
    """One model: what the pipeline trains, tunes, gates, registers and deploys."""

    name: str
    # Becomes the pipeline's PipelineDescription (botocore: at most 3,072 characters), with
    # " (<environment>)" appended by the stack.
    description: str = Field(default="", max_length=3000)
    data: DataSpec
    preprocessing: PreprocessingSpec = PreprocessingSpec()
    training: TrainingSpec = TrainingSpec()
    tuning: TuningSpec | None = TuningSpec()
    evaluation: EvaluationSpec = EvaluationSpec()
    deployment: DeploymentSpec = DeploymentSpec()

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        self._transform_consistent()
        if self.training.algorithm is not None:
            return self._builtin_consistent(self.training.algorithm)
        if self.data.label in self.preprocessing.categorical:
            raise ValueError(
                f"preprocessing.categorical lists the label {self.data.label!r}; list features "
                "only (classification labels are encoded by the task)"
            )
        metrics = contract.TASK_METRICS[self.data.task]
        if self.evaluation.metric is not None and self.evaluation.metric not in metrics:
            raise ValueError(
                f"evaluation.metric = {self.evaluation.metric!r}: not a {self.data.task} metric "
                f"of the evaluator; allowed: {', '.join(metrics)}"
            )
        if self.data.task == "regression" and self.evaluation.threshold is None:
            raise ValueError(
                "evaluation.threshold is required for a regression (its scale is the label's)"
            )
        tuning = self.tuning
        if self.training.uses_shipped_trainer and "task" in self.training.hyperparameters:
            raise ValueError(
                "training.hyperparameters.task: the shipped trainer takes its task from "
                f"data.task ({self.data.task!r}); remove it here"
            )
        if tuning is not None and tuning.objective is not None and tuning.objective.regex is None:
            raise ValueError(
                "tuning.objective.regex is required: it reads the objective from the job's log"
            )
        own_trainer = not self.training.uses_shipped_trainer
        if (
            tuning is not None
            and tuning.enabled
            and own_trainer
            and not (tuning.objective and tuning.ranges)
        ):
            raise ValueError(
                "tuning.objective and tuning.ranges are required with your own "
                "training.entry_point (the defaults describe the shipped trainer)"
            )
        return self

    def _builtin_consistent(self, algorithm: str) -> ModelSpec:
        metrics = contract.BUILTIN_METRICS[algorithm][self.data.task]
        metric = self.evaluation.metric
        if metric not in metrics:
            raise ValueError(
                f"evaluation.metric = {metric!r}: a {algorithm} model is gated on one of its own "
                f"{self.data.task} metrics; allowed: {', '.join(metrics)}"
            )
        if self.evaluation.threshold is None:
            raise ValueError("evaluation.threshold is required with training.algorithm")
        if "naive_margin" in self.evaluation.model_fields_set:
            raise ValueError(
                f"evaluation.naive_margin: a {algorithm} model is gated on its tuning job's "
                "objective alone; no evaluator scores a naive predictor for it"
            )
        if self.data.task == "multiclass" and "num_classes" not in self.training.hyperparameters:
            raise ValueError(
                f"training.hyperparameters.num_classes is required for a multiclass {algorithm}"
            )
        tuning = self.tuning
        if tuning is None or not tuning.enabled or not tuning.ranges:
            raise ValueError(
                f"training.algorithm = {algorithm!r}: set tuning.ranges (max_jobs may be 1); "
                "the model is gated on the tuning job's best objective"
            )
        if tuning.objective is not None:
            raise ValueError(
                "tuning.objective: with training.algorithm the objective is evaluation.metric"
            )
        return self

    # -- values derived from the spec and the shipped defaults ------------------------------
    @property
    def tunes(self) -> bool:
        return self.tuning is not None and self.tuning.enabled

    @property
    def gate_metric(self) -> str:
        return self.evaluation.metric or contract.DEFAULT_GATE_METRIC[self.data.task]

    @property
    def gate_direction(self) -> contract.Direction:
        algorithm = self.training.algorithm
        if algorithm is not None:
            return contract.BUILTIN_METRICS[algorithm][self.data.task][self.gate_metric]
        return contract.TASK_METRICS[self.data.task][self.gate_metric]

    @property
    def gate_threshold(self) -> float:
        if self.evaluation.threshold is not None:
            return self.evaluation.threshold
        return 0.9 if self.data.task == "binary" else 0.8

    @property
    def hyperparameters(self) -> dict[str, Scalar]:
        if self.training.algorithm is not None:
            predictor = contract.BUILTIN_PREDICTOR_TYPES[self.data.task]
            return {"predictor_type": predictor, **self.training.hyperparameters}
        if not self.training.uses_shipped_trainer:
            return dict(self.training.hyperparameters)
        return {
            **XGBOOST_HYPERPARAMETERS,
            "task": self.data.task,
            **self.training.hyperparameters,
        }

    @property
    def objective(self) -> Objective:
        if self.tuning is not None and self.tuning.objective is not None:
            return self.tuning.objective
        if self.training.algorithm is not None:
            return Objective(metric=self.gate_metric, direction=self.gate_direction)
        metric, direction = contract.TRAINER_METRIC[self.data.task]
        return Objective(
            metric=f"validation:{metric}",
            regex=contract.metric_regex(metric),
            direction=direction,
        )

    @property
    def ranges(self) -> dict[str, Range]:
        if self.tuning is not None and self.tuning.ranges:
            return dict(self.tuning.ranges)
        return {
            "eta": Range(min=0.01, max=0.3),
            "max_depth": Range(type="integer", min=3, max=10),
            "min_child_weight": Range(min=1, max=10),
            "subsample": Range(min=0.5, max=1.0),
            "num_round": Range(type="integer", min=50, max=300),
        }

    @property
    def entry_point(self) -> str:
        return self.training.entry_point or contract.SHIPPED_TRAINER

    @property
    def inference_script(self) -> str:
        return self.training.inference or contract.SHIPPED_INFERENCE

    def _transform_consistent(self) -> None:
        if not self.preprocessing.writes_transform:
            return
        if self.preprocessing.script is None:
            raise ValueError(
                "preprocessing.writes_transform is for your own preprocessing.script; the "
                "shipped preprocessor always writes its transform"
            )
        if not self.training.uses_shipped_trainer:
            raise ValueError(
                "preprocessing.writes_transform = true needs the shipped trainer, which packs "
                "the transform into the model; your own trainer or a built-in algorithm does not"
            )

    @property
    def carries_transform(self) -> bool:
        """The model artifact holds the fitted transform and signature, copied in by the
        shipped trainer. Not with a built-in algorithm (it would read the JSON as data), an own
        trainer (it does not copy it) or an own preprocessing script that does not declare it
        writes one (an empty channel fails the job)."""
        preprocessing = self.preprocessing
        shipped_format = preprocessing.script is None or preprocessing.writes_transform
        return self.training.uses_shipped_trainer and shipped_format

    def fingerprint(self) -> str:
        """Canonical JSON of every field, for cache keys."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)


def merge_overrides(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` applied, section by section (nested tables merge)."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = merge_overrides(merged[key], value)
        else:
            merged[key] = value
    return merged


def _section_fields(location: tuple[int | str, ...]) -> list[str]:
    """The fields of the spec section an unknown field was found in."""
    section: Any = ModelSpec
    for part in location[:-1]:
        field = section.model_fields.get(str(part)) if hasattr(section, "model_fields") else None
        annotation = getattr(field, "annotation", None)
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        section = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, Section)), None
        )
        if section is None:
            return []
    return sorted(set(section.model_fields) - {"name"})


def _paths(node: Mapping[str, Any], prefix: str = "") -> set[str]:
    found: set[str] = set()
    for key, value in node.items():
        path = f"{prefix}{key}"
        found |= {path, *_paths(value, f"{path}.")} if isinstance(value, Mapping) else {path}
    return found


def load_model_spec(folder: Path, overrides: Mapping[str, Any] | None = None) -> ModelSpec:
    """Read ``<folder>/model.toml``, apply ``overrides`` (an environment's values for this
    model), validate, and check that every file the spec names exists in the folder."""
    name = folder.name
    spec_file = folder / SPEC_FILE
    shown = f"models/{name}/{SPEC_FILE}"
    if not MODEL_NAME.fullmatch(name):
        raise SpecError(f"{shown}: model folder name {name!r} must be {MODEL_NAME_RULE}")
    raw = _read_spec_file(spec_file, shown)
    if "name" in raw or "name" in (overrides or {}):
        raise SpecError(f"{shown}: unknown setting 'name'; a model is named by its folder")
    overrides = dict(overrides or {})
    try:
        spec = ModelSpec(name=name, **merge_overrides(raw, overrides))
    except ValidationError as error:
        details = error.errors()[0]
        location = ".".join(str(part) for part in details["loc"])
        where = f"{shown} with override models.{name}" if location in _paths(overrides) else shown
        known = _section_fields(details["loc"]) if details["type"] == "extra_forbidden" else ()
        raise SpecError(f"{where}: {describe_error(details, known=known)}") from None
    _check_files(spec, folder, shown)
    return spec


def _read_spec_file(spec_file: Path, shown: str) -> dict[str, Any]:
    try:
        return tomllib.loads(spec_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{shown}: not found; every folder under models/ needs one") from None
    except IsADirectoryError:
        raise SpecError(f"{shown}: is a directory; it must be a TOML file") from None
    except UnicodeDecodeError as error:
        line = error.object.count(b"\n", 0, error.start) + 1
        raise SpecError(
            f"{shown}: line {line} has byte 0x{error.object[error.start]:02x}, which is not "
            "UTF-8; TOML files are UTF-8"
        ) from None
    except OSError as error:
        raise SpecError(f"{shown}: cannot be read: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{shown}: not valid TOML: {error}") from None


def _check_confined(folder: Path, shown: str) -> None:
    """Everything under a model folder is read at synth and may be bundled into a code asset
    that the pull-request workflow uploads: a symlink out of the folder (to /etc/passwd, to a
    key file) would carry that file along."""
    root = folder.resolve()
    for directory, subdirectories, files in os.walk(folder):
        for entry in (*subdirectories, *files):
            path = Path(directory) / entry
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                relative = path.relative_to(folder).as_posix()
                raise SpecError(
                    f"{shown}: models/{folder.name}/{relative} is a symlink to "
                    f"{os.readlink(path)}, outside the model folder; copy the file in instead"
                )


def _check_files(spec: ModelSpec, folder: Path, shown: str) -> None:
    named = {
        "data.sample": None if spec.data.sample.startswith("sklearn:") else spec.data.sample,
        "preprocessing.script": spec.preprocessing.script,
        "training.entry_point": spec.training.entry_point
        and (Path(spec.training.source_dir) / spec.training.entry_point).as_posix(),
        "training.inference": spec.training.inference
        and (Path(spec.training.source_dir) / spec.training.inference).as_posix(),
    }
    _check_confined(folder, shown)
    for field, relative in named.items():
        if relative is not None and not (folder / relative).is_file():
            raise SpecError(
                f"{shown}: setting {field}: file {relative!r} not found in models/{spec.name}/"
            )


def discover_models(
    models_dir: Path, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> tuple[ModelSpec, ...]:
    """Every model folder under ``models_dir``, sorted by name."""
    overrides = dict(overrides or {})
    folders = (
        sorted(
            path
            for path in models_dir.iterdir()
            if path.is_dir() and not path.name.startswith((".", "_"))
        )
        if models_dir.is_dir()
        else []
    )
    if not folders:
        raise SpecError(f"no model folder under {models_dir}: add models/<name>/{SPEC_FILE}")
    unknown = sorted(set(overrides) - {folder.name for folder in folders})
    if unknown:
        raise SpecError(
            f"setting models.{unknown[0]}: no such model folder; models are "
            f"{', '.join(folder.name for folder in folders)}"
        )
    by_words: dict[str, str] = {}
    for folder in folders:
        words = folder.name.replace("-", "")
        if words in by_words:
            raise SpecError(
                f"models/{folder.name}: its name differs from models/{by_words[words]} only in "
                "hyphens, so their stack outputs would collide; rename one"
            )
        by_words[words] = folder.name
    return tuple(load_model_spec(folder, overrides.get(folder.name)) for folder in folders)
