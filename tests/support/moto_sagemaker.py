"""What the deployer's tests need around moto: every request checked against botocore's shapes,
an UpdateEndpoint, and an endpoint held in a given status.

boto3's own ParamValidator checks unknown and missing members, types and minimums; maximums,
enums and patterns are left to the service, which moto does not check. ``CheckedRequests``
checks both, with the same limit walker that checks the pipeline's step requests at synth
(pipelines/definition/requests.py), before moto sees a request.

moto 5 answers UpdateEndpoint with NotImplementedError; ``endpoint_updates`` fakes SageMaker's
side only: the blue/green update completes at once, or, with ``rollback`` set, SageMaker's
rollback leaves the old config serving.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.validate import ParamValidator
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.sagemaker.models import sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse

from pipelines.definition.requests import limit_problems


class RefusedRequestError(AssertionError):
    """A request the service would refuse; raised before it is sent."""


@dataclass
class CheckedRequests:
    """Every request of a session's clients, checked, then kept as (operation, parameters)."""

    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        shape = model.input_shape
        report = ParamValidator().validate(params, shape)
        problems: list[str] = report.generate_report().splitlines() if report.has_errors() else []
        if shape is not None:
            problems.extend(limit_problems(params, shape, ""))
        if problems:
            raise RefusedRequestError(f"{model.name} would be refused: {problems[0]}")
        self.sent.append((model.name, copy.deepcopy(params)))

    def of(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.sent if name == operation]

    def operations(self) -> list[str]:
        return [name for name, _ in self.sent]

    def clear(self) -> None:
        self.sent.clear()


def checked_session(region: str) -> tuple[boto3.Session, CheckedRequests]:
    """A session whose clients check every request; register before any client is made, as
    each client copies the session's event hooks when it is created."""
    session = boto3.Session(region_name=region)
    checked = CheckedRequests()
    session.events.register("before-parameter-build", checked)
    return session, checked


def set_endpoint_status(region: str, name: str, status: str, reason: str = "") -> None:
    """Hold moto's endpoint in a status its instant transitions never show (Creating, Failed)."""
    endpoint = sagemaker_backends[DEFAULT_ACCOUNT_ID][region].endpoints[name]
    endpoint.endpoint_status = status
    # moto only ever sets it to None, and types it so.
    endpoint.failure_reason = reason  # type: ignore[assignment]


@dataclass
class UpdateBehaviour:
    rollback: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)


def _update_endpoint(behaviour: UpdateBehaviour) -> Any:
    def update_endpoint(self: SageMakerResponse) -> ActionResult:
        backend = self.sagemaker_backend
        name = self._get_param("EndpointName")
        config_name = self._get_param("EndpointConfigName")
        behaviour.requests.append(dict(self._get_params()))
        endpoint = backend.endpoints[name]
        config = backend.endpoint_configs[config_name]
        if not behaviour.rollback:
            endpoint.endpoint_config_name = config_name
            endpoint.production_variants = endpoint._process_production_variants(
                config.production_variants
            )
        endpoint.endpoint_status = "InService"
        return ActionResult({"EndpointArn": endpoint.arn})

    return update_endpoint


@pytest.fixture
def endpoint_updates(monkeypatch: pytest.MonkeyPatch) -> UpdateBehaviour:
    behaviour = UpdateBehaviour()
    # monkeypatch undoes it after the test.
    monkeypatch.setattr(
        SageMakerResponse, "update_endpoint", _update_endpoint(behaviour), raising=False
    )
    return behaviour
