"""devmgr: discover, inventory, commission and audit fleets of ONVIF/SNMP cameras."""

__version__ = "0.1.0"
