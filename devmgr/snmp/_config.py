"""``SnmpConfig``: which credentials to try, in which order, and how hard to try.

What ``access`` records for a v2c community is decided here too (:func:`community_label`):
its position in the configuration, never the string, except the well-known defaults.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import Field, model_validator

from camfleet.model import Model
from camfleet.targets import SnmpCredentials, SnmpV3Credentials, resolve_secret

#: Default communities nobody keeps secret; recorded verbatim in ``access`` (see
#: :mod:`devmgr.snmp`).
WELL_KNOWN_COMMUNITIES: Final = ("public", "private")


class SnmpConfig(Model):
    """Credentials to try and how hard to try. Frozen; safe to share between tasks.

    v3 users are :class:`~camfleet.targets.SnmpV3Credentials`, so keys may be given as
    ``auth_key_env``/``priv_key_env`` references, resolved when a request is made.
    """

    #: v2c communities, tried after the v3 users, in this order (see ``access``).
    communities: tuple[str, ...] = ()
    #: v3 users, tried first, in this order.
    v3_users: tuple[SnmpV3Credentials, ...] = ()
    port: int = Field(default=161, ge=1, le=65535)
    #: Seconds to wait for each request's answer (pysnmp's timer ticks every 0.1 s).
    timeout_s: float = Field(default=1.0, gt=0.0, le=60.0)
    #: Re-sends after a timeout; each one costs ``timeout_s`` more on a silent host.
    retries: int = Field(default=1, ge=0, le=10)
    #: Hosts in flight at once (per session / sweep). Keep it x ~6 ms (v3; v2c ~2.5 ms) well
    #: under ``timeout_s`` for ranges full of live hosts (see the module docstring).
    concurrency: int = Field(default=128, ge=1, le=4096)
    #: Send all communities at once instead of one after the other (see module doc).
    parallel_communities: bool = True

    @model_validator(mode="after")
    def _usable(self) -> SnmpConfig:
        if not self.communities and not self.v3_users:
            raise ValueError("give at least one v2c community or one v3 user")
        if any(not c for c in self.communities):
            raise ValueError("a v2c community cannot be empty")
        return self

    @classmethod
    def from_credentials(cls, credentials: SnmpCredentials, **options: Any) -> SnmpConfig:
        """A config with one target's credentials (``community_env`` resolved now)."""
        community = resolve_secret(credentials.community, credentials.community_env,
                             "the SNMP community")
        return cls(communities=(community,) if community else (),
                   v3_users=(credentials.v3,) if credentials.v3 else (),
                   port=credentials.port, **options)



def community_label(community: str, position: int) -> str:
    """What ``access`` says for a v2c community: its 1-based position, never the string."""
    return f"v2c:{community}" if community in WELL_KNOWN_COMMUNITIES else f"v2c:#{position}"
