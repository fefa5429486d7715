"""hil: pytest plugin and acceptance suite for ONVIF cameras, real or simulated."""
