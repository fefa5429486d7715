"""The audit log's values and its hash chain (regulation Art. 15, 16(3), 20 (2)).

Every snapshot or configuration retrieval camfleet makes is registered: who, when (``at``),
how, purpose, destination, plus which camera (``target_id``, ``address``), what was retrieved
and the sweep it belonged to. Entries are numbered ``seq`` = 1, 2, 3, ... without gaps and
chained::

    hash = sha256(canonical({seq, at, who, how, purpose, destination, target_id, address,
                             what, sweep_id, prev_hash}))

where ``prev_hash`` is the previous entry's ``hash`` and, for seq 1, :data:`GENESIS_HASH`
(64 zeros). ``canonical`` is JSON with sorted keys, no whitespace, UTF-8 (non-ASCII kept as
is), and ``at`` written as UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (:func:`format_at`), so anyone
can recompute a hash from an exported entry without camfleet.

What the chain detects (``Registry.verify_audit_log``): an edited entry (its hash no longer
matches), a deleted entry (a gap in ``seq``), an entry replaced by one with a recomputed hash
or entries reordered (a broken link). What it cannot detect on its own: the *last* entries
deleted, or the whole chain rewritten from some point on by someone who recomputes every
hash. Against those, keep the head (``AuditVerification.head_seq`` / ``head_hash``) outside
the registry, e.g. in each audit report, and pass it back as ``expected_head``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "GENESIS_HASH",
    "AuditEntry",
    "AuditProblem",
    "AuditVerification",
    "Retrieval",
    "canonical_bytes",
    "entry_hash",
    "format_at",
]

#: ``prev_hash`` of the first entry.
GENESIS_HASH = "0" * 64


def format_at(at: datetime) -> str:
    """The timestamp as hashed: UTC, microseconds, ``Z`` (what the database keeps exactly)."""
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at.isoformat()} given; audit entries take aware "
                         "datetimes only (use datetime.now(UTC))")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(*, seq: int, at: datetime, who: str, how: str, purpose: str,
                    destination: str, target_id: str | None, address: str, what: str,
                    sweep_id: int | None, prev_hash: str) -> bytes:
    """The bytes an entry's hash is taken over (see the module docstring)."""
    fields = {"seq": seq, "at": format_at(at), "who": who, "how": how, "purpose": purpose,
              "destination": destination, "target_id": target_id, "address": address,
              "what": what, "sweep_id": sweep_id, "prev_hash": prev_hash}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def entry_hash(**fields: Any) -> str:
    """Hex SHA-256 of :func:`canonical_bytes` of ``fields``."""
    return hashlib.sha256(canonical_bytes(**fields)).hexdigest()


@dataclass(frozen=True, slots=True)
class Retrieval:
    """A retrieval to register (input of ``Registry.log_retrievals``). ``at`` None: now.

    who: the operator or user on whose behalf camfleet retrieved (Art. 16(3) 调取人员);
    how: protocol and method, e.g. ``"onvif:GetSnapshotUri+http-digest"``, ``"snmp-get"``;
    purpose: e.g. ``"commissioning baseline"``, ``"compliance audit"``;
    destination: where the data went: a file path, a report, ``"registry"``;
    what: a summary, e.g. ``"snapshot Profile_1 1280x720 sha256:..."``.
    """

    who: str
    how: str
    purpose: str
    destination: str
    target_id: str | None
    address: str
    what: str
    sweep_id: int | None = None
    at: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("who", "how", "purpose", "destination", "address", "what"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"audit entry field {name!r} must be a non-empty string "
                                 f"(regulation Art. 16(3) asks for it), not {value!r}")
        if self.target_id is not None and not self.target_id.strip():
            raise ValueError("audit entry field 'target_id' must be None or non-empty")
        if self.at is not None:
            format_at(self.at)  # refuses naive datetimes now, not mid-transaction


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One registered retrieval, as stored."""

    seq: int
    at: datetime
    who: str
    how: str
    purpose: str
    destination: str
    target_id: str | None
    address: str
    what: str
    sweep_id: int | None
    prev_hash: str
    hash: str

    def expected_hash(self) -> str:
        """The hash this entry's fields give (equal to ``hash`` unless it was altered)."""
        return entry_hash(seq=self.seq, at=self.at, who=self.who, how=self.how,
                          purpose=self.purpose, destination=self.destination,
                          target_id=self.target_id, address=self.address, what=self.what,
                          sweep_id=self.sweep_id, prev_hash=self.prev_hash)


class AuditProblem(StrEnum):
    HASH_MISMATCH = "hash mismatch"  # the entry was edited after it was written
    BROKEN_LINK = "broken link"      # prev_hash is not the previous entry's hash
    SEQ_GAP = "gap in seq"           # entries are missing (deleted)
    HEAD_MISMATCH = "head mismatch"  # the expected head is missing or differs (truncated)


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """The result of ``Registry.verify_audit_log``. Verification stops at the first problem.

    ``entries_checked``: entries read, the bad one included. ``first_bad_seq``: the seq of
    the altered entry, of the entry whose link is broken, or of the first missing number.
    ``head_seq`` / ``head_hash``: the last entry read (0 / GENESIS_HASH for an empty log);
    keep them outside the registry to detect later truncation or rewriting.
    """

    ok: bool
    entries_checked: int
    first_bad_seq: int | None = None
    problem: AuditProblem | None = None
    detail: str = ""
    head_seq: int = 0
    head_hash: str = GENESIS_HASH

    def __bool__(self) -> bool:
        return self.ok
