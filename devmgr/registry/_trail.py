"""The audit-log entries of one run, one kind of retrieval at a time (Art. 15, 16(3)).

Every command that reads from a camera (discover, inventory, commission, audit, the
acceptance suite with a registry) registers what it read with an :class:`AuditTrail`: who
(the operator), how (protocol and method), for what purpose, where the data went (the
registry's sweep or snapshot store, and whatever else the caller names), built from the data
itself, so that all commands describe a retrieval alike.

    trail = AuditTrail(registry, default_operator(), "inventory", sweep_id)
    trail.log(trail.configuration(inv) for inv in inventories)
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from devmgr.inventory.model import DiscoveredDevice, Inventory
from devmgr.registry._audit import Retrieval
from devmgr.registry._audit_log import AuditLog

__all__ = ["AuditTrail", "default_operator"]


def default_operator() -> str:
    """Who runs devmgr, for the audit log: ``CAMFLEET_OPERATOR``, else the OS user."""
    try:
        return os.environ.get("CAMFLEET_OPERATOR") or getpass.getuser()
    except (KeyError, OSError):  # a uid without a passwd entry (containers)
        return str(os.getuid())


@dataclass
class AuditTrail:
    """The entries of one run: ``purpose`` for all of them, ``sweep_id`` the run's sweep;
    ``also_to``: where the data went besides the registry (e.g. "printed to the terminal")."""

    registry: AuditLog
    operator: str
    purpose: str
    sweep_id: int | None
    also_to: str = ""

    def _destination(self, stored_as: str) -> str:
        where = f"registry {self.registry.url}, {stored_as}"
        return f"{where}; {self.also_to}" if self.also_to else where

    def log(self, retrievals: Iterable[Retrieval]) -> None:
        """Register the retrievals (one transaction)."""
        self.registry.log_retrievals(retrievals)

    def configuration(self, inv: Inventory) -> Retrieval:
        """An inventory's configuration reads (ONVIF, and SNMP if it answered)."""
        return Retrieval(
            who=self.operator, how="ONVIF SOAP (WS-UsernameToken, HTTP Digest fallback)"
            + (" + SNMP" if inv.snmp is not None else ""),
            purpose=self.purpose,
            destination=self._destination(f"sweep {self.sweep_id} observations"),
            target_id=inv.target_id, address=inv.address,
            what="configuration: identity, network, media profiles, PTZ, recording",
            sweep_id=self.sweep_id, at=inv.collected_at)

    def identity(self, dev: DiscoveredDevice) -> Retrieval:
        """What discovery read of a unit: who it says it is, by the routes that found it."""
        routes = ", ".join(route.value for route in dev.routes) or "discovery"
        return Retrieval(
            who=self.operator, how=f"discovery ({routes})", purpose=self.purpose,
            destination=self._destination(f"sweep {self.sweep_id} observations"),
            target_id=None, address=dev.addresses[0] if dev.addresses else dev.key,
            what="identity: endpoint, scopes, serial, MAC, vendor, model",
            sweep_id=self.sweep_id)

    def read(self, *, target_id: str | None, address: str, how: str, what: str) -> Retrieval:
        """Any other read (a probe, a PTZ status): nothing of it stored but this entry."""
        return Retrieval(who=self.operator, how=how, purpose=self.purpose,
                         destination=self._destination(f"sweep {self.sweep_id}, judged only"),
                         target_id=target_id, address=address, what=what,
                         sweep_id=self.sweep_id)

    def snapshot(self, *, target_id: str, address: str, how: str, view: str, profile: str,
                 digest: str, at: datetime) -> Retrieval:
        """One snapshot, stored in the registry under its SHA-256."""
        return Retrieval(
            who=self.operator, how=f"ONVIF GetSnapshotUri + HTTP GET ({how})",
            purpose=self.purpose, destination=self._destination(f"snapshot {digest}"),
            target_id=target_id, address=address, what=f"snapshot of view {view} ({profile})",
            sweep_id=self.sweep_id, at=at)
