"""The SageMaker pipeline definition a template holds, read in either resolver mode.

The CDK writes ``PipelineDefinitionBody`` as an ``Fn::Join`` of literal JSON text and tokens.
The local run resolves the whole body to concrete values; the review replaces each token with
its placeholder where it sits, inside a JSON string literal, so the text parses as JSON without
an account or a region. Each consumer words the errors its own way (its tests pin them), so a
``DefinitionReadError`` carries a ``reason`` and the bare detail.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pipelines.assembly.resolve import Resolver, Stack, placeholder

Reason = Literal["unsupported", "not JSON", "not an object"]


class DefinitionReadError(ValueError):
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def inline_body(properties: Mapping[str, Any]) -> Any | None:
    """The inline ``PipelineDefinitionBody``; None when the definition is stored in S3
    (``PipelineDefinitionS3Location``), which no consumer reads."""
    return (properties.get("PipelineDefinition") or {}).get("PipelineDefinitionBody")


def definition_text(body: Any) -> str:
    """The definition's JSON text with every token replaced by its placeholder."""
    if isinstance(body, str):
        return body
    if isinstance(body, Mapping) and set(body) == {"Fn::Join"}:
        delimiter, parts = body["Fn::Join"]
        pieces = []
        for part in parts:
            if isinstance(part, str):
                pieces.append(part)
            else:
                # Tokens sit inside JSON string literals: insert the placeholder JSON-escaped.
                pieces.append(json.dumps(placeholder(part))[1:-1])
        return str(delimiter).join(pieces)
    raise DefinitionReadError(
        "unsupported", f"unsupported PipelineDefinitionBody: {json.dumps(body)[:80]}"
    )


def definition_from_template(
    body: Any, resolver: Resolver, stack: Stack | None = None, where: str = ""
) -> dict[str, Any]:
    """The definition ``body`` holds, its tokens resolved by ``resolver`` in its mode (concrete
    needs the pipeline's ``stack``)."""
    if resolver.mode == "placeholder":
        text: Any = definition_text(body)
    else:
        text = resolver.resolve(body, stack, f"{where} PipelineDefinitionBody")
    if isinstance(text, Mapping):
        return dict(text)
    try:
        definition = json.loads(text)
    except (TypeError, json.JSONDecodeError) as error:
        raise DefinitionReadError("not JSON", str(error)) from None
    if not isinstance(definition, dict):
        raise DefinitionReadError("not an object", "not a JSON object")
    return definition
