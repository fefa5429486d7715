"""Finding cameras: WS-Discovery (multicast probe, unicast sweep, passive Hello/Bye monitor)
and merging what every route saw into one record per physical unit.

    >>> from devmgr.discovery import merge, wsd
"""
