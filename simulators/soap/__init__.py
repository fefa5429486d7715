"""The simulated camera's ONVIF SOAP front-end.

Requests are parsed safely (no DTDs, no entities, bounded size), authenticated (WS-Security
UsernameToken digest or HTTP Digest), dispatched by the body element's QName to a handler, and
answered with envelopes that zeep serializes from the ONVIF WSDLs, the same files the clients
load, so every response is shaped by the schema rather than by hand.
"""
