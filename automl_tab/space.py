"""Backend-neutral search-space description (pure Python; a leaf module).

Models declare their spaces with these records; each optimizer backend translates them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Float:
    name: str
    low: float
    high: float
    log: bool = False

    def from_unit(self, u: float) -> float:
        u = min(max(u, 0.0), 1.0)
        if self.log:
            value = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            value = self.low + u * (self.high - self.low)
        return min(max(value, self.low), self.high)  # float round-off must not leave the box

    def to_unit(self, value: float) -> float:
        if self.log:
            return (math.log(value) - math.log(self.low)) / (
                math.log(self.high) - math.log(self.low)
            )
        return (value - self.low) / (self.high - self.low)


@dataclass(frozen=True)
class Int:
    name: str
    low: int
    high: int
    log: bool = False

    def from_unit(self, u: float) -> int:
        u = min(max(u, 0.0), 1.0)
        if self.log:
            span = math.log(self.high + 0.5) - math.log(self.low - 0.5)
            value = math.exp(math.log(self.low - 0.5) + u * span)
        else:
            value = self.low - 0.5 + u * (self.high - self.low + 1)
        return int(min(max(round(value), self.low), self.high))

    def to_unit(self, value: int) -> float:
        if self.log:
            span = math.log(self.high + 0.5) - math.log(self.low - 0.5)
            return (math.log(value) - math.log(self.low - 0.5)) / span
        return (value - self.low + 0.5) / (self.high - self.low + 1)


@dataclass(frozen=True)
class Categorical:
    name: str
    choices: tuple

    def from_unit(self, u: float):
        index = min(int(min(max(u, 0.0), 1.0) * len(self.choices)), len(self.choices) - 1)
        return self.choices[index]

    def to_unit(self, value) -> float:
        return (self.choices.index(value) + 0.5) / len(self.choices)


Dimension = Float | Int | Categorical


@dataclass(frozen=True)
class SearchSpace:
    """An ordered set of dimensions; `decode`/`encode` map to and from the unit cube."""

    dimensions: tuple[Dimension, ...]

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dimensions]

    def decode(self, unit: dict[str, float]) -> dict:
        return {d.name: d.from_unit(float(unit[d.name])) for d in self.dimensions}

    def encode(self, params: dict) -> dict[str, float]:
        return {d.name: d.to_unit(params[d.name]) for d in self.dimensions}

    def contains(self, params: dict) -> bool:
        for d in self.dimensions:
            value = params.get(d.name)
            if isinstance(d, Categorical):
                if value not in d.choices:
                    return False
            elif value is None or not d.low <= value <= d.high:
                return False
        return True
