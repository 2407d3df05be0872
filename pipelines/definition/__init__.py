"""The SageMaker Pipelines definition of one model, built offline with the SageMaker Python
SDK v3 from its spec and the platform's wiring.

``build_definition`` makes no AWS or network call (see :mod:`pipelines.definition.sdk`), and
the same inputs give byte-identical output in any process, working directory, time zone or
hash seed. The package never imports aws_cdk and imports nothing from sagemaker until a build
runs, so importing it is free.

Pipeline: Preprocess -> TrainBaseline (and Tune, when the spec tunes) -> Evaluate (picks the
better candidate and scores the naive predictor) -> QualityGate (the spec's metric against
QualityThreshold, and better than the naive predictor by evaluation.naive_margin, else
QualityTooLow fails the execution) -> RegisterModel -> DeployIfApproved (only when
ModelApprovalStatus is Approved) -> CreateModel -> EndpointConfig -> Endpoint ->
ConfigureAutoscaling (a Lambda).
"""

from __future__ import annotations

from pipelines.definition.builder import build_definition
from pipelines.definition.context import PipelineWiring

__all__ = ["PipelineWiring", "build_definition"]
