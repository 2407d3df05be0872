"""The contract between the definition builder and the step scripts.

Step names, container paths, output names, the report layout and the metric line the shipped
scripts print. The builder, the local runner and the scripts' tests import it; the scripts
themselves ship alone into their containers and keep their own copies, which the tests hold
to these values.
"""

from __future__ import annotations

import re
from typing import Literal

# Step names: the CDK side, the tests and the diagrams refer to them.
PREPROCESS = "Preprocess"
TRAIN = "TrainBaseline"
TUNE = "Tune"
EVALUATE = "Evaluate"
QUALITY_GATE = "QualityGate"
QUALITY_FAIL = "QualityTooLow"
REGISTER = "RegisterModel"
DEPLOY_GATE = "DeployIfApproved"
CREATE_MODEL = "CreateModel"
ENDPOINT_CONFIG = "EndpointConfig"
ENDPOINT = "Endpoint"
AUTOSCALING = "ConfigureAutoscaling"

EVALUATION_REPORT = "EvaluationReport"
EVALUATION_OUTPUT = "evaluation"
EVALUATION_FILE = "evaluation.json"
VARIANT_NAME = "AllTraffic"
SPLITS = ("train", "validation", "test")
# Preprocess's fitted transform (transform.json): its own output, because a built-in
# algorithm reads every object of its training channels as data.
TRANSFORM_OUTPUT = "transform"
TRANSFORM_FILE = "transform.json"
# Beside it: the version's signature (columns, label values, response), which the registry
# entry points at; and, in the test split, its rows as the data has them, minus the label.
SIGNATURE_FILE = "signature.json"
RAW_TEST_FILE = "raw/test.csv"
# Data capture: the share of requests an endpoint keeps, and where, the same whichever path
# (the pipeline's deploy branch or the deployer) configured the endpoint.
CAPTURE_SAMPLING_PERCENTAGE = 20


def data_capture_uri(bucket_uri: str, capture_prefix: str, endpoint: str) -> str:
    return f"{bucket_uri}/{capture_prefix}/{endpoint}/data-capture"


# The registry's customer-metadata key holding the signature's S3 URI.
SIGNATURE_METADATA = "signature"
PREPROCESS_OUTPUTS = (*SPLITS, TRANSFORM_OUTPUT)
TRAINING_CHANNELS = ("train", "validation")
CANDIDATES = ("baseline", "tuned")
CONTENT_TYPES = ("text/csv", "application/json")
RESPONSE_TYPES = ("application/json",)

# Container paths, matching the argparse defaults of pipelines/steps/*.py.
PROCESSING = "/opt/ml/processing"
PREPROCESS_INPUT_DIR = f"{PROCESSING}/input"
PREPROCESS_OUTPUT_DIR = f"{PROCESSING}/output"
EVALUATE_TEST_DIR = f"{PROCESSING}/test"
EVALUATE_TRAIN_DIR = f"{PROCESSING}/train"
EVALUATE_MODEL_DIR = f"{PROCESSING}/model"
EVALUATE_SOURCE_DIR = f"{PROCESSING}/source"
EVALUATE_OUTPUT_DIR = f"{PROCESSING}/evaluation"
CHECKPOINT_DIR = "/opt/ml/checkpoints"

# The shipped trainer and serving script, bundled into every model's source tarball unless the
# model brings its own.
SHIPPED_TRAINER = "train.py"
SHIPPED_INFERENCE = "inference.py"
# The shipped preprocessor; also in the shipped source bundle, for its fitted transform.
SHIPPED_PREPROCESSOR = "preprocess.py"

Task = Literal["binary", "multiclass", "regression"]
TASKS: tuple[Task, ...] = ("binary", "multiclass", "regression")
Direction = Literal["Maximize", "Minimize"]

# The metrics the shipped evaluator writes per task, with the direction that is better, in
# SageMaker's model-quality JSON layout: {"<group>": {"<metric>": {"value": ...}}}.
METRIC_GROUPS: dict[Task, str] = {
    "binary": "binary_classification_metrics",
    "multiclass": "multiclass_classification_metrics",
    "regression": "regression_metrics",
}
TASK_METRICS: dict[Task, dict[str, Direction]] = {
    "binary": {
        "auc": "Maximize",
        "accuracy": "Maximize",
        "precision": "Maximize",
        "recall": "Maximize",
        "f1": "Maximize",
    },
    "multiclass": {
        "accuracy": "Maximize",
        "weighted_f1": "Maximize",
        "weighted_precision": "Maximize",
        "weighted_recall": "Maximize",
    },
    "regression": {"rmse": "Minimize", "mse": "Minimize", "mae": "Minimize", "r2": "Maximize"},
}
DEFAULT_GATE_METRIC: dict[Task, str] = {
    "binary": "auc",
    "multiclass": "accuracy",
    "regression": "rmse",
}
# The naive predictor the evaluator scores on the test split, learnt from the training labels
# alone; the gate fails a model that does not beat it. Its report section holds the strategy
# (these words), its value on the gate metric and the selected model's improvement over it,
# signed so that positive is better whichever way the metric points.
NAIVE_STRATEGIES: dict[Task, str] = {
    "binary": "majority class, scored with the training positive rate",
    "multiclass": "majority class, scored with the training class frequencies",
    "regression": "training mean",
}
NAIVE_SECTION = "naive_baseline"
NAIVE_VALUE_PATH = f"{NAIVE_SECTION}.value"
NAIVE_IMPROVEMENT_PATH = f"{NAIVE_SECTION}.improvement"
# The validation metric the shipped XGBoost trainer reports per task (its eval_metric).
TRAINER_METRIC: dict[Task, tuple[str, Direction]] = {
    "binary": ("auc", "Maximize"),
    "multiclass": ("mlogloss", "Minimize"),
    "regression": ("rmse", "Minimize"),
}


# Built-in algorithms report their own training metrics (no regex, no evaluator); a built-in
# model is gated on its tuning job's best objective, one of these per task.
BUILTIN_METRICS: dict[str, dict[Task, dict[str, Direction]]] = {
    "linear-learner": {
        "binary": {
            "validation:objective_loss": "Minimize",
            "validation:binary_classification_accuracy": "Maximize",
            "validation:binary_f_beta": "Maximize",
            "validation:precision": "Maximize",
            "validation:recall": "Maximize",
        },
        "multiclass": {
            "validation:objective_loss": "Minimize",
            "validation:multiclass_accuracy": "Maximize",
            "validation:macro_f_beta": "Maximize",
        },
        "regression": {
            "validation:objective_loss": "Minimize",
            "validation:mse": "Minimize",
            "validation:absolute_loss": "Minimize",
        },
    },
}
# The hyperparameter that tells linear-learner the task.
BUILTIN_PREDICTOR_TYPES: dict[Task, str] = {
    "binary": "binary_classifier",
    "multiclass": "multiclass_classifier",
    "regression": "regressor",
}


def report_json_path(task: Task, metric: str) -> str:
    """Where the gate reads ``metric`` in the evaluation report."""
    return f"{METRIC_GROUPS[task]}.{metric}.value"


def metric_line(metric: str, value: float) -> str:
    """The line a shipped script prints once for a tuning objective: ``validation-auc:0.98``.
    Per-round lines use ``=`` instead of ``:``, so the objective regex never matches them."""
    return f"validation-{metric}:{value:.6f}"


def metric_regex(metric: str) -> str:
    """The MetricDefinitions regex that reads :func:`metric_line` back."""
    return rf"validation-{re.escape(metric)}:([0-9\.eE+-]+)"
