"""A model version's signature (``signature.json``, written by the shipped preprocessor and
carried in the model artifact): what a request holds and what the answer is, in words.

`pipelines.cli signature` prints it for a registered version and `pipelines.local serve` for
the local endpoint; both read the same file, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REQUEST = (
    "POST /invocations, text/csv with or without a header row, or application/json "
    '{"instances": [{...}]} or a list of rows'
)


def _column(column: Mapping[str, Any]) -> str:
    kind = (
        f"one of {', '.join(map(str, column['values']))}"
        if column.get("type") == "category"
        else "number"
    )
    if column.get("missing") == "filled":
        kind += "; may be empty"
    return f"{column['name']} ({kind})"


def _answer(signature: Mapping[str, Any]) -> str:
    if signature.get("task") == "regression":
        return 'answers application/json {"predictions": [{"value": ...}]}'
    values = ", ".join(map(str, (signature.get("label") or {}).get("values") or []))
    extra = ', "score": ...' if signature.get("task") == "binary" else ""
    return (
        f'answers application/json {{"predictions": [{{"label": one of {values}, '
        f'"probabilities": [one per label, in that order]{extra}}}]}}'
    )


def describe(signature: Mapping[str, Any]) -> list[str]:
    """The request's media types and columns, then the answer: one line each."""
    columns = ", ".join(_column(column) for column in signature.get("inputs", []))
    return [
        f"signature: {REQUEST}",
        f"  columns, in this order: {columns}",
        f"  {_answer(signature)}",
    ]
