"""One module per ONVIF service, each a set of ``@operation`` handlers."""
