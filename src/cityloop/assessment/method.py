"""The deployment's 考核办法 (assessment method): weights, count bands, grades, formula options and 奖惩 rules,
loaded from a TOML or JSON file (a shipped preset or the deployment's own) and validated before use."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cityloop.assessment import scoring

PRESETS_DIR = Path(__file__).parent / "methods"
PRESETS = ("reference", "deployed")


class Reward(BaseModel):
    """One 奖惩 rule: a grade in the year, or last place in its group at least `last_place_months` months."""

    model_config = ConfigDict(extra="forbid")
    action: str = Field(min_length=1)
    grade: str | None = None
    last_place_months: int | None = Field(default=None, ge=1, le=12)

    @model_validator(mode="after")
    def _one_trigger(self) -> Reward:
        if (self.grade is None) == (self.last_place_months is None):
            raise ValueError("a reward needs exactly one of grade / last_place_months")
        return self


Bound = float | Literal["above"]


class Method(BaseModel):
    """A 考核办法 file's content."""

    model_config = ConfigDict(extra="forbid")
    name: str = "custom"
    options: dict[str, str] = Field(default_factory=dict)
    weights: dict[str, dict[str, float]] = Field(default_factory=dict)
    bands: dict[str, list[tuple[Bound, float]]] = Field(default_factory=dict)
    grades: list[tuple[str, float]] = Field(default_factory=list)
    rewards: list[Reward] = Field(default_factory=list)
    min_volume: int | None = Field(default=None, ge=0, le=100_000)  # 最低考核量; None: scoring.DEFAULT_MIN_VOLUME

    @field_validator("bands")
    @classmethod
    def _bands(cls, value: dict[str, list[tuple[Bound, float]]]) -> dict[str, list[tuple[Bound, float]]]:
        for name, table in value.items():
            bounds = [b for b, _ in table]
            if not table or bounds[-1] != "above" or "above" in bounds[:-1]:
                raise ValueError(f"bands {name!r} must end with ['above', score] and have numbers before it")
            if bounds[:-1] != sorted(bounds[:-1]):
                raise ValueError(f"bands {name!r}: bounds must rise")
        return value

    def config(self) -> scoring.ScoreConfig:
        """The scoring configuration (ValueError on unknown families, indicators, bands or options)."""
        unknown = set(self.bands) - set(scoring.DEFAULT_BANDS)
        if unknown:
            raise ValueError(f"unknown band table(s) {', '.join(sorted(unknown))}; have "
                             + ", ".join(scoring.DEFAULT_BANDS))
        bands = {k: [[None if b == "above" else b, s] for b, s in t] for k, t in self.bands.items()}
        return scoring.make_config(self.weights, bands, [list(g) for g in self.grades] or None, self.options,
                                   self.min_volume)


class MethodError(ValueError):
    """A 考核办法 file that cannot be used (message names the file and the fault)."""


def preset_path(name: str) -> Path:
    """The shipped preset file of a name."""
    return PRESETS_DIR / f"{name}.toml"


def load(path: str | Path) -> Method:
    """Read and validate a 考核办法 file (.toml or .json; a bare preset name is accepted)."""
    p = Path(path)
    if str(path) in PRESETS:
        p = preset_path(str(path))
    try:
        raw = p.read_bytes()
        data = json.loads(raw) if p.suffix == ".json" else tomllib.loads(raw.decode("utf-8"))
        method = Method.model_validate(data)
        method.config()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MethodError(f"{p}: cannot read 考核办法 file: {exc}") from exc
    except (ValidationError, ValueError) as exc:
        raise MethodError(f"{p}: invalid 考核办法: {exc}") from exc
    return method
