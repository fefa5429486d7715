"""Vendor identification from a MAC's OUI: the camera makers a city fleet is made of.

A short table, not the IEEE registry: these are the OUIs of the makers whose units the
project meets (the same ones the simulators give their cameras). An unknown OUI is "";
a locally administered MAC (second bit of the first octet) has no vendor.
"""

from __future__ import annotations

from typing import Final

OUIS: Final[dict[str, str]] = {
    **dict.fromkeys(("44:19:b6", "bc:ad:28", "c0:56:e3"), "Hikvision"),
    **dict.fromkeys(("3c:ef:8c", "e0:50:8b", "9c:14:63"), "Dahua"),
    **dict.fromkeys(("00:40:8c", "ac:cc:8e", "b8:a4:4f"), "Axis"),
    **dict.fromkeys(("48:ea:63", "6c:f1:7e"), "Uniview"),
    "00:09:18": "Hanwha",
}


def vendor_for(mac: str) -> str:
    """The maker whose OUI starts ``mac`` (``aa:bb:cc:...``, any case), else ""."""
    prefix = mac.lower()[:8]
    try:
        if int(prefix[:2], 16) & 0x02:
            return ""  # locally administered: no OUI
    except ValueError:
        return ""
    return OUIS.get(prefix, "")
