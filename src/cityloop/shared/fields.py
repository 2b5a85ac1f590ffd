"""Input types that take only what /openapi.json promises: JSON true/false for a flag, a JSON number for a number,
ISO 8601 text for a time or a date. Pydantic's lax mode would also turn 0/1 into a flag, true or "3" into a number
and a bare number into a time (`?day=0` became 1970-01-01), which hides client bugs."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator, Strict, StrictBool

MAX_ID = 2_147_483_647  # ids are 32-bit on PostgreSQL: larger ones are not found, not an overflow
_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _iso_text(value: object) -> object:
    if isinstance(value, (int, float)) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("应为 ISO 8601 文本 / ISO 8601 text expected, not a number")
    return value


def _not_a_flag(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("应为数字 / a number expected, not true or false")
    return value


ISO = BeforeValidator(_iso_text)
NOT_FLAG = BeforeValidator(_not_a_flag)  # for a Literal of numbers, where Strict() cannot apply
Flag = StrictBool
Instant = Annotated[AwareDatetime, ISO]
Day = Annotated[date, ISO]
Int = Annotated[int, Strict()]  # JSON bodies only: a query string's "3" is text
Num = Annotated[float, Strict()]  # JSON bodies only; an integer is a number too
