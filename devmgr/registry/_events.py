"""Events cameras raised themselves (tamper), kept for the next audit.

``devmgr monitor --events --registry`` stores what it receives; the audit reads a camera's
events since the previous complete audit and shows them beside its own view comparison. Kept
generic like the compliance records: the caller's pydantic model is stored as JSON and handed
back as the class the caller names. Append-only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy import insert, select

from devmgr.registry._codec import dump_model, load_model
from devmgr.registry._database import Database
from devmgr.registry._schema import CameraEventRow

__all__ = ["CameraEvents"]

M = TypeVar("M", bound=BaseModel)
#: Events handed back per camera at most (the newest): a camera flapping all month long
#: must not fill a report.
MAX_EVENTS = 200


class CameraEvents(Database):
    def record_camera_events(self, events: Iterable[tuple[str, datetime, BaseModel]]) -> int:
        """Store events ``(target_id, received_at, event)``; returns how many."""
        rows = [{"target_id": target[:200], "received_at": at, "payload": dump_model(event)}
                for target, at, event in events]
        if rows:
            with self._session("store camera events", write=True) as s:
                s.execute(insert(CameraEventRow), rows)
        return len(rows)

    def camera_events(self, cls: type[M], target_id: str, *, since: datetime | None = None,
                      limit: int = MAX_EVENTS) -> list[M]:
        """A camera's stored events received after ``since``, oldest first (the newest
        ``limit`` of them)."""
        query = (select(CameraEventRow.payload).where(CameraEventRow.target_id == target_id)
                 .order_by(CameraEventRow.received_at.desc(), CameraEventRow.id.desc())
                 .limit(limit))
        if since is not None:
            query = query.where(CameraEventRow.received_at > since)
        with self._session("read camera events") as s:
            payloads = list(s.scalars(query))
        return [load_model(cls, p) for p in reversed(payloads)]
