"""Path parameter types the routers share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from cityloop.shared.fields import MAX_ID

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
