"""Faults as data: validation and how the configuration faults fold into the effective spec."""

from __future__ import annotations

import doctest

import pytest
from pydantic import ValidationError

from simulators.faults import (
    FAULT_KINDS,
    AuthFailure,
    DefaultCredentials,
    Readdressed,
    RetentionChanged,
    SnmpDefaultCommunity,
    effective_spec,
    fault_to_json,
    parse_fault,
)
from simulators.fleet.generate import generate_camera
from simulators.spec import CameraSpec, User

NEW_KINDS = ("readdressed", "default_credentials", "retention_changed",
             "snmp_default_community")


def test_new_kinds_are_known_and_round_trip_through_json() -> None:
    assert set(NEW_KINDS) <= set(FAULT_KINDS)
    for data in ({"kind": "readdressed", "address": "127.0.9.9"},
                 {"kind": "default_credentials", "username": "admin", "password": "12345"},
                 {"kind": "retention_changed", "days": 7},
                 {"kind": "snmp_default_community", "community": "public"}):
        fault = parse_fault(data)
        assert fault.kind == data["kind"]
        assert parse_fault(fault_to_json(fault)) == fault


def test_defaults_of_the_configuration_faults() -> None:
    creds = parse_fault("default_credentials")
    assert isinstance(creds, DefaultCredentials)
    assert (creds.username, creds.password, creds.level) == ("root", "pass", "Administrator")
    assert parse_fault("snmp_default_community") == SnmpDefaultCommunity(community="public")
    assert parse_fault("retention_changed") == RetentionChanged(days=7)


@pytest.mark.parametrize("address", ["", "not-an-ip", "127.0.0.256", "::1", "0.0.0.0",
                                     "239.255.255.250", "255.255.255.255"])
def test_readdressed_needs_one_unicast_ipv4_address(address: str) -> None:
    with pytest.raises(ValidationError):
        parse_fault({"kind": "readdressed", "address": address})


def test_readdressed_needs_an_address_at_all() -> None:
    with pytest.raises(ValidationError, match="address"):
        parse_fault("readdressed")


def test_readdressed_changes_the_address_and_nothing_else() -> None:
    base = CameraSpec.example()
    spec = effective_spec(base, [Readdressed(address=" 127.0.9.9 ")])
    assert spec.network.address == "127.0.9.9"
    assert spec.model_copy(update={"network": base.network}) == base
    assert effective_spec(base, []) == base


def test_default_credentials_add_an_account_beside_the_filed_ones() -> None:
    base = generate_camera(0, seed=3)
    spec = effective_spec(base, [DefaultCredentials()])
    assert spec.users == (*base.users, User(username="root", password="pass"))


def test_default_credentials_for_an_existing_user_replace_its_password_and_keep_its_level(
) -> None:
    base = generate_camera(0, seed=3)
    spec = effective_spec(base, [DefaultCredentials(username="viewer", password="12345")])
    viewer = {u.username: u for u in spec.users}["viewer"]
    assert (viewer.password, viewer.level) == ("12345", "User")
    assert len(spec.users) == len(base.users)


def test_faults_fold_in_order() -> None:
    """A password reset after auth_failure still lets the default password in."""
    base = CameraSpec.example()
    spec = effective_spec(base, [AuthFailure(), DefaultCredentials(username="admin")])
    assert {u.username: u.password for u in spec.users} == {"admin": "pass"}


def test_retention_and_community_faults() -> None:
    base = CameraSpec.example()
    spec = effective_spec(base, [RetentionChanged(days=3.5), SnmpDefaultCommunity()])
    assert spec.recording.retention_days == 3.5
    assert spec.snmp.community == "public"
    assert spec.snmp.v3_users == base.snmp.v3_users
    v3_only = base.model_copy(update={"snmp": base.snmp.model_copy(update={"community": None})})
    assert effective_spec(v3_only, [SnmpDefaultCommunity(community="private")]
                          ).snmp.community == "private"
    with pytest.raises(ValidationError):
        parse_fault({"kind": "retention_changed", "days": -1})


def test_module_examples() -> None:
    from simulators import faults  # noqa: PLC0415

    result = doctest.testmod(faults)
    assert result.attempted > 0
    assert result.failed == 0
