"""Assertions shared by the SNMP client's tests."""

from __future__ import annotations

from camfleet.errors import DeviceError


def assert_no_secret(error: DeviceError, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in error.message
