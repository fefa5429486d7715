"""WS-Discovery message codec (April 2005 draft, as ONVIF uses it), for clients and targets alike.

ONVIF pins the April 2005 WS-Discovery draft (namespace ``http://schemas.xmlsoap.org/ws/2005/04/
discovery``) carried in SOAP 1.2 envelopes with WS-Addressing 2004/08 headers over SOAP-over-UDP
(port 3702, group 239.255.255.250). This module only turns messages into bytes and bytes into
typed values; it opens no socket, so the simulated cameras and devmgr's discovery client share it.

    >>> from camfleet.protocols import wsdiscovery as wsd
    >>> message_id, datagram = wsd.build_probe([wsd.TYPE_NVT], ["onvif://www.onvif.org/location"])
    >>> probe = wsd.parse_probe(datagram)
    >>> probe.message_id == message_id
    True
    >>> wsd.matches(probe, [wsd.TYPE_NVT, wsd.TYPE_DEVICE],
    ...             ["onvif://www.onvif.org/location/city/wuhan"])
    True

Everything parsed here may come from anyone on the network, so parsing is defensive: at most
:data:`MAX_MESSAGE_BYTES`, no DTD (SOAP 1.2 Part 1 §5 forbids one anyway), no entity
expansion, no network access, no huge-tree mode. Anything that is not the expected message
raises :class:`InvalidMessage`; callers on the wire drop it (DISCOVERY-1-1-5).

Error tree::

    WsDiscoveryError
     +-- InvalidMessage            the bytes are not the message asked for (drop them)
     |    +-- FaultReceived        ... they are a SOAP fault; ``.fault`` says which
     +-- MatchingRuleNotSupported  a Probe asks for a MatchBy rule we do not implement

The modules: ``_model`` (constants, errors, values), ``_build``, ``_parse`` and ``_match``.
"""

from camfleet.protocols.wsdiscovery._build import (
    build_bye,
    build_fault_matching_rule_not_supported,
    build_hello,
    build_probe,
    build_probe_matches,
    new_message_id,
)
from camfleet.protocols.wsdiscovery._match import matches, scope_matches
from camfleet.protocols.wsdiscovery._model import (
    ACTION_BYE,
    ACTION_FAULT,
    ACTION_HELLO,
    ACTION_PROBE,
    ACTION_PROBE_MATCHES,
    ADDRESS_ANONYMOUS,
    ADDRESS_DISCOVERY,
    MATCH_BY_LDAP,
    MATCH_BY_RFC2396,
    MATCH_BY_RFC3986,
    MATCH_BY_STRCMP0,
    MATCH_BY_UUID,
    MAX_MESSAGE_BYTES,
    MULTICAST_GROUP,
    MULTICAST_GROUP_V6,
    NS_DISCOVERY,
    NS_DN,
    NS_SOAP,
    NS_TDS,
    NS_WSA,
    PORT,
    SUPPORTED_MATCHING_RULES,
    TYPE_DEVICE,
    TYPE_NVT,
    Announcement,
    AppSequence,
    Fault,
    FaultReceived,
    InvalidMessage,
    MatchingRuleNotSupported,
    Probe,
    ProbeMatch,
    QName,
    WsDiscoveryError,
)
from camfleet.protocols.wsdiscovery._parse import (
    parse_fault,
    parse_hello_bye,
    parse_probe,
    parse_probe_matches,
)

__all__ = [
    "ACTION_BYE",
    "ACTION_FAULT",
    "ACTION_HELLO",
    "ACTION_PROBE",
    "ACTION_PROBE_MATCHES",
    "ADDRESS_ANONYMOUS",
    "ADDRESS_DISCOVERY",
    "MATCH_BY_LDAP",
    "MATCH_BY_RFC2396",
    "MATCH_BY_RFC3986",
    "MATCH_BY_STRCMP0",
    "MATCH_BY_UUID",
    "MAX_MESSAGE_BYTES",
    "MULTICAST_GROUP",
    "MULTICAST_GROUP_V6",
    "NS_DISCOVERY",
    "NS_DN",
    "NS_SOAP",
    "NS_TDS",
    "NS_WSA",
    "PORT",
    "SUPPORTED_MATCHING_RULES",
    "TYPE_DEVICE",
    "TYPE_NVT",
    "Announcement",
    "AppSequence",
    "Fault",
    "FaultReceived",
    "InvalidMessage",
    "MatchingRuleNotSupported",
    "Probe",
    "ProbeMatch",
    "QName",
    "WsDiscoveryError",
    "build_bye",
    "build_fault_matching_rule_not_supported",
    "build_hello",
    "build_probe",
    "build_probe_matches",
    "matches",
    "new_message_id",
    "parse_fault",
    "parse_hello_bye",
    "parse_probe",
    "parse_probe_matches",
    "scope_matches",
]
