"""Wire formats shared by the manager and the simulators (WS-Discovery, SOAP envelopes)."""
