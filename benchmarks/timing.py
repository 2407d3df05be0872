"""Interleaved wall-clock timing of whole commands, so machine noise hits every subject alike."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    name: str
    seconds: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def best(self) -> float:
        return min(self.seconds)


def time_commands(
    commands: Mapping[str, Sequence[str]],
    *,
    rounds: int,
    env: Mapping[str, str],
    warmup: int = 1,
) -> dict[str, Timing]:
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for round_number in range(warmup + rounds):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, env=dict(env), check=True, capture_output=True)
            if round_number >= warmup:
                samples[name].append(time.perf_counter() - start)
    return {name: Timing(name, tuple(values)) for name, values in samples.items()}


def ratio_line(subject: Timing, floor: Timing, goal: float | None = None) -> str:
    ratio = subject.median / floor.median
    verdict = ""
    if goal is not None:
        verdict = f" (goal <= {goal:.1f}x: {'met' if ratio <= goal else 'NOT met'})"
    return (
        f"{subject.name:<34} median {subject.median:6.2f} s  best {subject.best:6.2f} s  "
        f"= {ratio:4.2f}x {floor.name}{verdict}"
    )
