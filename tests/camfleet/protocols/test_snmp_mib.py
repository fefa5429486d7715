"""The SNMP vendor fingerprint that the manager and the simulated agents share."""

from __future__ import annotations

import pytest

from camfleet.protocols.snmp_mib import enterprise_for, enterprise_number, vendor_for
from simulators.fleet.generate import VENDORS


@pytest.mark.parametrize(("sys_object_id", "vendor"), [
    ("1.3.6.1.4.1.39165.1.627185903", "Hikvision"),
    ("1.3.6.1.4.1.368.1.5", "Axis"),
    ("1.3.6.1.4.1.1004849.1.2", "Dahua"),
    ("1.3.6.1.4.1.36849.1.9", "Hanwha"),
    ("1.3.6.1.4.1.25506.1.1", "Uniview"),
    (".1.3.6.1.4.1.39165.1", "Hikvision"),      # leading dot, as net-snmp prints it
    ("1.3.6.1.4.1.8072.3.2.10", ""),            # net-snmp's own agent: known OID, no camera
    ("1.3.6.1.2.1.1", ""),                      # not under enterprises
    ("1.3.6.1.4.1", ""),                        # enterprises itself, no number
    ("", ""),
    ("not.an.oid", ""),
])
def test_vendor_fingerprint(sys_object_id: str, vendor: str) -> None:
    assert vendor_for(sys_object_id) == vendor


def test_enterprise_number() -> None:
    assert enterprise_number("1.3.6.1.4.1.39165.1.2") == 39165
    assert enterprise_number("1.3.6.1.4.1") is None
    assert enterprise_number("1.3.6.1.2.1.1.2.0") is None


def test_every_vendor_the_fleets_model_is_in_the_one_table() -> None:
    # The simulated agents and the manager read the same table: a vendor missing from it
    # would serve a sysObjectID that the manager cannot fingerprint.
    for vendor in VENDORS:
        number = enterprise_for(vendor.manufacturer)
        assert number is not None, vendor.manufacturer
        assert vendor_for(f"1.3.6.1.4.1.{number}.1.7") == vendor.manufacturer
