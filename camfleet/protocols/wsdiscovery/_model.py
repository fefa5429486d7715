"""The wire constants, the error tree and the typed values the codec builds from and parses to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# -- wire constants ------------------------------------------------------------------------------
#: SOAP-over-UDP multicast group and port assigned by WS-Discovery.
MULTICAST_GROUP = "239.255.255.250"
MULTICAST_GROUP_V6 = "ff02::c"
PORT = 3702
#: Largest datagram we parse. UDP caps a datagram at 64 KiB; real Probes are < 1 KiB.
MAX_MESSAGE_BYTES = 65536

NS_SOAP = "http://www.w3.org/2003/05/soap-envelope"
NS_WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_DISCOVERY = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
NS_DN = "http://www.onvif.org/ver10/network/wsdl"
NS_TDS = "http://www.onvif.org/ver10/device/wsdl"

ACTION_PROBE = f"{NS_DISCOVERY}/Probe"
ACTION_PROBE_MATCHES = f"{NS_DISCOVERY}/ProbeMatches"
ACTION_HELLO = f"{NS_DISCOVERY}/Hello"
ACTION_BYE = f"{NS_DISCOVERY}/Bye"
ACTION_FAULT = f"{NS_WSA}/fault"
#: [To] of multicast messages (Probe, Hello, Bye) in ad hoc mode.
ADDRESS_DISCOVERY = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
#: [To] of replies: "whoever sent the request" (WS-Addressing 2004/08 anonymous role).
ADDRESS_ANONYMOUS = f"{NS_WSA}/role/anonymous"

#: Scope matching rules (WS-Discovery 2005, Probe). rfc2396 is the draft's default; ONVIF Core
#: names rfc3986. Both mean the same segment-wise prefix match, so both are served by one rule.
MATCH_BY_RFC2396 = f"{NS_DISCOVERY}/rfc2396"
MATCH_BY_RFC3986 = f"{NS_DISCOVERY}/rfc3986"
MATCH_BY_STRCMP0 = f"{NS_DISCOVERY}/strcmp0"
MATCH_BY_UUID = f"{NS_DISCOVERY}/uuid"
MATCH_BY_LDAP = f"{NS_DISCOVERY}/ldap"
SUPPORTED_MATCHING_RULES: tuple[str, ...] = (MATCH_BY_RFC3986, MATCH_BY_RFC2396, MATCH_BY_STRCMP0)



# -- errors --------------------------------------------------------------------------------------
class WsDiscoveryError(Exception):
    """Base for everything this module raises on purpose."""


class InvalidMessage(WsDiscoveryError, ValueError):
    """The bytes are not a well-formed message of the expected kind; a responder drops them."""


class MatchingRuleNotSupported(WsDiscoveryError):
    """A Probe's Scopes/@MatchBy names a rule we do not implement.

    A target answers a *unicast* Probe with :func:`build_fault_matching_rule_not_supported`
    (DISCOVERY-1-1-10) and stays silent on multicast, where a fault from every target would be
    the very reply implosion the random delay exists to avoid.
    """

    def __init__(self, match_by: str) -> None:
        super().__init__(f"scope matching rule {match_by!r} is not supported; supported: "
                         f"{', '.join(SUPPORTED_MATCHING_RULES)}")
        self.match_by = match_by


class FaultReceived(InvalidMessage):
    """A SOAP fault arrived where another message was expected; ``fault`` has the details."""

    def __init__(self, fault: Fault) -> None:
        subcode = f" / {fault.subcode}" if fault.subcode else ""
        super().__init__(f"SOAP fault {fault.code}{subcode}: {fault.reason}")
        self.fault = fault


# -- data model ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class QName:
    """An XML qualified name: compared by namespace and local name, never by prefix."""

    namespace: str
    localname: str

    def __str__(self) -> str:
        return f"{{{self.namespace}}}{self.localname}" if self.namespace else self.localname

    @classmethod
    def from_clark(cls, text: str) -> QName:
        """``{namespace}local`` (as ``str()`` prints it) or a bare local name."""
        if text.startswith("{"):
            namespace, sep, local = text[1:].partition("}")
            if not sep or not local:
                raise ValueError(f"not a QName in Clark notation: {text!r}")
            return cls(namespace, local)
        return cls("", text)


#: ONVIF device types (ONVIF Core "Discovery definitions": tds:Device is mandatory, older
#: clients probe dn:NetworkVideoTransmitter, so a camera announces both).
TYPE_NVT = QName(NS_DN, "NetworkVideoTransmitter")
TYPE_DEVICE = QName(NS_TDS, "Device")


@dataclass(frozen=True, slots=True)
class AppSequence:
    """d:AppSequence header: lets receivers order messages and notice a target restart.

    ``instance_id`` grows each time the target comes back up; ``message_number`` grows with
    every message of one instance (WS-Discovery 2005, application sequencing).
    """

    instance_id: int
    message_number: int
    sequence_id: str | None = None


@dataclass(frozen=True, slots=True)
class Probe:
    """A parsed Probe. Empty ``types``/``scopes`` mean "any" (DISCOVERY-1-1-4)."""

    message_id: str
    types: tuple[QName, ...] = ()
    scopes: tuple[str, ...] = ()
    #: Scopes/@MatchBy as sent; ``None`` means the default rule.
    match_by: str | None = None
    #: wsa:ReplyTo/wsa:Address if the client gave one (over UDP the reply goes to the sender).
    reply_to: str | None = None


@dataclass(frozen=True, slots=True)
class ProbeMatch:
    """One d:ProbeMatch of a ProbeMatches reply, with the reply's header fields."""

    endpoint: str
    types: tuple[QName, ...]
    scopes: tuple[str, ...]
    xaddrs: tuple[str, ...]
    metadata_version: int
    relates_to: str
    message_id: str
    app_sequence: AppSequence | None = None
    #: What was wrong with a reply accepted leniently (``parse_probe_matches(lenient=True)``):
    #: empty for a conformant one.
    nonconformities: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Announcement:
    """A Hello or a Bye, as a passive monitor sees it."""

    kind: Literal["hello", "bye"]
    endpoint: str
    message_id: str
    types: tuple[QName, ...] = ()
    scopes: tuple[str, ...] = ()
    xaddrs: tuple[str, ...] = ()
    #: Mandatory in Hello, optional in Bye.
    metadata_version: int | None = None
    app_sequence: AppSequence | None = None


@dataclass(frozen=True, slots=True)
class Fault:
    """A SOAP 1.2 fault, e.g. env:Sender / d:MatchingRuleNotSupported."""

    code: QName
    subcode: QName | None
    reason: str
    relates_to: str | None = None
    #: d:SupportedMatchingRules from the fault detail, if any.
    supported_matching_rules: tuple[str, ...] = ()



# Clark-notation tags of the three namespaces every message uses.
def soap(local: str) -> str:
    return f"{{{NS_SOAP}}}{local}"


def wsa(local: str) -> str:
    return f"{{{NS_WSA}}}{local}"


def disco(local: str) -> str:
    return f"{{{NS_DISCOVERY}}}{local}"
