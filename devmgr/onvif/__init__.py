"""devmgr's ONVIF client layer.

* :mod:`~devmgr.onvif.session`: ``OnvifPool`` and ``OnvifSession``, the calls themselves;
* :mod:`~devmgr.onvif.transport`: the one-method transport seam, and aiohttp behind it;
* :mod:`~devmgr.onvif.soap`: request templates, WS-Security, reply parsing (pure);
* :mod:`~devmgr.onvif.xml`: readers of the values in replies;
* :mod:`~devmgr.onvif.errors`: ``OnvifError`` and its classified kinds;
* :mod:`~devmgr.onvif.ptz` and :mod:`~devmgr.onvif.snapshot`: what devmgr does *to* a camera.
"""
