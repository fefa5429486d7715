"""camfleet's core: what the manager, the simulators and the harness all stand on.

* :mod:`camfleet.model`: the one typed data model (identity, positions, PTZ, limits);
* :mod:`camfleet.errors`: why a device gave no fair answer (the error kinds);
* :mod:`camfleet.http`: HTTP exchanges as plain data (what a client's transport carries);
* :mod:`camfleet.targets`: targets files, the cameras to reach and how to log in;
* :mod:`camfleet.files`: atomic file writes;
* :mod:`camfleet.protocols`: wire formats as pure functions over bytes (WS-Discovery,
  ONVIF schema, PTZ spaces, safe XML, multicast sockets, SNMP objects and vendors).

Nothing here imports ``devmgr``, ``simulators`` or ``hil``; ``tests/test_layers.py`` keeps
it so.
"""
