"""Pydantic models to stored JSON and back, without losing infinite PTZ limits.

``model_dump_json()`` writes ``inf`` as ``null`` (pydantic's default ``ser_json_inf_nan``),
and ``Range(min=None)`` does not validate: an Inventory whose PTZ limits are off (+-INF, as
ONVIF allows) would be stored fine and then fail to load. Dumping to Python first and letting
pydantic_core write non-finite floats as the strings ``"Infinity"``/``"-Infinity"``/``"NaN"``
keeps the JSON standard (PostgreSQL JSONB, jq) and loads back exactly: pydantic parses those
strings into floats.
"""

from __future__ import annotations

from typing import TypeVar

import pydantic_core
from pydantic import BaseModel

__all__ = ["dump_model", "load_model"]

M = TypeVar("M", bound=BaseModel)


def dump_model(model: BaseModel) -> str:
    return pydantic_core.to_json(model.model_dump(mode="python"), inf_nan_mode="strings").decode()


def load_model(cls: type[M], payload: str) -> M:
    return cls.model_validate_json(payload)
