"""Hyperparameter points for a local tuning job, from the definition's ParameterRanges.

SageMaker's Bayesian search picks each point from the results so far on the service side, so
it cannot be reproduced locally. Every strategy except Grid is therefore replaced by a seeded
quasi-random design: a Halton sequence (one prime base per parameter, parameters in name order)
shifted by a random offset drawn from the seed. It covers the ranges more evenly than plain
random draws with the few jobs a tuning budget allows, gives the same points for the same
ranges and seed on every run, and does not depend on how the jobs finish. ``Auto`` scaling is
treated as ``Linear``. Grid enumerates the categorical values, as SageMaker's Grid does.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.local.errors import DefinitionError

DEFAULT_SEED = 0
_KINDS = {
    "ContinuousParameterRanges": "Continuous",
    "IntegerParameterRanges": "Integer",
    "CategoricalParameterRanges": "Categorical",
}
_SCALINGS = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")


@dataclass(frozen=True)
class ParameterRange:
    name: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    scaling: str = "Auto"
    values: tuple[str, ...] = ()

    def value(self, unit: float) -> str:
        """The parameter value at ``unit`` in [0, 1), formatted as a hyperparameter string."""
        if self.kind == "Categorical":
            return self.values[min(int(unit * len(self.values)), len(self.values) - 1)]
        if self.kind == "Integer":
            # Each integer gets the share of [low, high + 1) that floors to it.
            number = math.floor(_scaled(self.low, self.high + 1, unit, self.scaling))
            return str(int(min(max(number, self.low), self.high)))
        return format(_scaled(self.low, self.high, unit, self.scaling), ".6g")


def _scaled(low: float, high: float, unit: float, scaling: str) -> float:
    if scaling == "Logarithmic":
        return math.exp(math.log(low) + unit * (math.log(high) - math.log(low)))
    if scaling == "ReverseLogarithmic":
        return 1 - math.exp(math.log(1 - high) + unit * (math.log(1 - low) - math.log(1 - high)))
    return low + unit * (high - low)


def parse_ranges(ranges: Mapping[str, Any], step: str) -> list[ParameterRange]:
    parsed = []
    for key, items in ranges.items():
        kind = _KINDS.get(key)
        if kind is None:
            raise DefinitionError(f"step {step}: unknown parameter range kind {key}")
        for item in items:
            parsed.append(_parse_range(kind, item, step))
    names = [item.name for item in parsed]
    if len(set(names)) != len(names):
        raise DefinitionError(f"step {step}: a hyperparameter has two ranges")
    return sorted(parsed, key=lambda item: item.name)


def _parse_range(kind: str, item: Mapping[str, Any], step: str) -> ParameterRange:
    name = str(item.get("Name"))
    where = f"step {step}: range {name}"
    if kind == "Categorical":
        values = tuple(str(value) for value in item.get("Values", []))
        if not values:
            raise DefinitionError(f"{where} has no Values")
        return ParameterRange(name, kind, values=values)
    scaling = str(item.get("ScalingType", "Auto"))
    if scaling not in _SCALINGS:
        raise DefinitionError(f"{where}: unknown ScalingType {scaling}")
    try:
        low, high = float(item["MinValue"]), float(item["MaxValue"])
    except (KeyError, TypeError, ValueError):
        raise DefinitionError(f"{where}: MinValue and MaxValue must be numbers") from None
    if low > high:
        raise DefinitionError(f"{where}: MinValue is greater than MaxValue")
    if scaling == "Logarithmic" and low <= 0:
        raise DefinitionError(f"{where}: Logarithmic scaling needs MinValue > 0")
    if scaling == "ReverseLogarithmic" and (kind == "Integer" or not 0 <= low <= high < 1):
        raise DefinitionError(
            f"{where}: ReverseLogarithmic scaling needs continuous values in [0, 1)"
        )
    return ParameterRange(name, kind, low, high, scaling)


def sample_points(ranges: list[ParameterRange], count: int, seed: int) -> list[dict[str, str]]:
    """``count`` points of a shifted Halton sequence over ``ranges``."""
    shifts = random.Random(seed).random  # noqa: S311 - a design, not a secret
    offsets = [shifts() for _ in ranges]
    bases = _primes(len(ranges))
    points = []
    for index in range(1, count + 1):
        point = {}
        for parameter, base, offset in zip(ranges, bases, offsets, strict=True):
            point[parameter.name] = parameter.value((_radical_inverse(index, base) + offset) % 1.0)
        points.append(point)
    return points


def grid_points(ranges: list[ParameterRange], step: str) -> list[dict[str, str]]:
    if any(item.kind != "Categorical" for item in ranges):
        raise DefinitionError(f"step {step}: the Grid strategy takes categorical ranges only")
    names = [item.name for item in ranges]
    return [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*(item.values for item in ranges))
    ]


def _radical_inverse(index: int, base: int) -> float:
    result, fraction = 0.0, 1.0 / base
    while index:
        index, digit = divmod(index, base)
        result += digit * fraction
        fraction /= base
    return result


def _primes(count: int) -> list[int]:
    primes: list[int] = []
    candidate = 2
    while len(primes) < count:
        if all(candidate % prime for prime in primes):
            primes.append(candidate)
        candidate += 1
    return primes
