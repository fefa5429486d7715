"""GB/T 28181 catalog XML: the ``Catalog`` response platforms send and read.

**Export** (:func:`dump_xml`) writes what platforms read: a ``<Response>`` whose own
``DeviceID`` names the sender (``platform_id``), the directory nodes first (parents before
children), then one ``<Item>`` per camera with every mandatory element (DeviceID, Name,
Manufacturer, Model, Owner, CivilCode, Address, Parental, ParentID, SafetyWay, RegisterWay,
Secrecy, Status), the optional ones camfleet knows, ``<Info>``, and the elements it kept
verbatim. Times are full ``xs:dateTime`` values, MAC is ``XX-XX-XX-XX-XX-XX``. What the
catalog has no place for (elevation, serial, site category, acceptance and filing dates,
retention class, move filings) goes in a ``<cf:Filing>`` element in the :data:`CAMFLEET_NS`
namespace, which platforms skip as a foreign element. The encoding is GB2312 by default
(what platforms decode with when they assume one); a character outside GB2312 is an error
naming the camera and element, never mojibake: write UTF-8 or GB18030 then, or change the
text. Python's strict GB2312 table lacks two characters often typed in names: the middle
dot U+00B7 (use U+30FB) and the em dash U+2014 (use U+2015).

**Import** (:func:`loads_xml`) takes a platform's catalog as it comes: cameras (types 131,
132) become filing records (incomplete ones when the regulation fields are missing; an item
with no ``cf:Filing`` at all keeps those of its filing in force, see
:meth:`~devmgr.filings.problems.Imported.keep_filed`), directory
nodes become :class:`~devmgr.filings.nodes.CatalogNode`, other devices (NVRs, alarm inputs,
the platform itself) are skipped and counted. ``PTZType`` is read from ``<Info>`` or from the
item itself; ``BusinessGroupID`` from either. ``Password`` is not stored (a credential has no
place in a filing) and that is noted. The bytes are decoded here, strictly, with the declared
encoding (UTF-8 without a declaration), so a bad byte is reported on its own line; a sender
that writes GBK under a GB2312 label is read with ``encoding="gbk"``. Parsing is hardened:
no DTD (a document with a DOCTYPE is refused), no entity expansion, no network access.

    >>> from datetime import date
    >>> from camfleet.model import GeoPosition
    >>> from devmgr.filings.model import FilingRecord
    >>> rec = FilingRecord(device_id="42010000001320000001", name="江汉路步行街",
    ...     position=GeoPosition(latitude=30.58, longitude=114.29), site_category="art6:5",
    ...     acceptance_date=date(2025, 3, 1))
    >>> data = dump_xml([rec], platform_id="42010000002000000001")
    >>> data.splitlines()[0], "江汉路".encode("gb2312") in data
    (b'<?xml version="1.0" encoding="GB2312"?>', True)
    >>> loads_xml(data).records == [rec]
    True
"""

from __future__ import annotations

from devmgr.filings.catalog._export import dump_xml
from devmgr.filings.catalog._fields import (
    CAMFLEET_NS,
    EXPORT_ENCODINGS,
    ExportEncoding,
    export_encoding,
)
from devmgr.filings.catalog._import import loads_xml

__all__ = [
    "CAMFLEET_NS",
    "EXPORT_ENCODINGS",
    "ExportEncoding",
    "dump_xml",
    "export_encoding",
    "loads_xml",
]
