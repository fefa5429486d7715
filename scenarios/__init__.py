"""Simulated worlds put to the manager: the layer above both ``devmgr`` and ``simulators``.

* :mod:`scenarios.demo`: ``devmgr demo``, the README's main job on an embedded fleet;
* :mod:`scenarios.fleet_filings`: the filings a simulated fleet's cameras would have.

The manager never imports the simulators; what needs both lives here.
"""
