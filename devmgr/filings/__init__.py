"""Filing records of cameras (Wuhan public video measures 2023, GB/T 28181 catalog).

:mod:`devmgr.filings.model` defines :class:`FilingRecord` and the Art. 9/10/16/18 helpers,
:mod:`devmgr.filings.codes` the GB/T 28181 code lists, :mod:`devmgr.filings.nodes` the
catalog's directory nodes (the organisation tree), :mod:`devmgr.filings.places` the coarse
position checks; :mod:`devmgr.filings.io` imports and exports records as CSV and YAML, and
:mod:`devmgr.filings.catalog` as GB/T 28181 catalog XML.
"""

from devmgr.filings.catalog import (
    CAMFLEET_NS,
    EXPORT_ENCODINGS,
    dump_xml,
    export_encoding,
    loads_xml,
)
from devmgr.filings.codes import (
    CatalogPtzType,
    DeviceIdParts,
    Direction,
    PointType,
    catalog_kind,
    parse_device_id,
)
from devmgr.filings.io import dump_csv, dump_yaml, load, loads_csv, loads_yaml, save
from devmgr.filings.model import (
    FilingRecord,
    MoveFiling,
    RetentionClass,
    SiteCategory,
    retention_minimum_days,
)
from devmgr.filings.nodes import CatalogElement, CatalogNode
from devmgr.filings.problems import (
    FilingExportError,
    FilingImportError,
    Imported,
    ImportProblem,
)

__all__ = [
    "CAMFLEET_NS",
    "EXPORT_ENCODINGS",
    "CatalogElement",
    "CatalogNode",
    "CatalogPtzType",
    "DeviceIdParts",
    "Direction",
    "FilingExportError",
    "FilingImportError",
    "FilingRecord",
    "ImportProblem",
    "Imported",
    "MoveFiling",
    "PointType",
    "RetentionClass",
    "SiteCategory",
    "catalog_kind",
    "dump_csv",
    "dump_xml",
    "dump_yaml",
    "export_encoding",
    "load",
    "loads_csv",
    "loads_xml",
    "loads_yaml",
    "parse_device_id",
    "retention_minimum_days",
    "save",
]
