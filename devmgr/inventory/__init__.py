"""Inventory: what each camera is, collected over ONVIF and SNMP at fleet scale."""
