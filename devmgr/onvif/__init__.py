"""devmgr's ONVIF client layer (see ``devmgr.onvif.session``)."""
