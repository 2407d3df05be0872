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

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.definition.builder import build_definition
    from pipelines.definition.context import PipelineWiring

__all__ = ["PipelineWiring", "build_definition"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: the local runner and the CLIs import the package's light modules
    # (contract, parameter_rules, requests) and should not pay for the spec and builder.
    if name == "build_definition":
        from pipelines.definition.builder import build_definition  # noqa: PLC0415

        return build_definition
    if name == "PipelineWiring":
        from pipelines.definition.context import PipelineWiring  # noqa: PLC0415

        return PipelineWiring
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
