"""Simulated access switches: ports, forwarding tables, LLDP neighbours and PoE, over SNMP.

:mod:`simulators.switch.model` is the switch (spec and live state), :mod:`.mib` what its
SNMP agent serves (IF-MIB, BRIDGE-MIB/Q-BRIDGE-MIB, LLDP-MIB, POWER-ETHERNET-MIB), and
:mod:`.agent` the agent on the cameras' shared engine and the rack a fleet runs them in.
"""

from simulators.switch.agent import SwitchAgent, SwitchRack
from simulators.switch.model import Attachment, PortDevice, SimSwitch, SwitchSpec

__all__ = ["Attachment", "PortDevice", "SimSwitch", "SwitchAgent", "SwitchRack", "SwitchSpec"]
