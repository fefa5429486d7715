"""Filing records of cameras (Wuhan public video measures 2023, GB/T 28181-2022 catalog).

:mod:`devmgr.filings.model` defines :class:`FilingRecord` and the Art. 9/10/16/18 helpers;
:mod:`devmgr.filings.io` imports and exports records as CSV, YAML and GB/T 28181 catalog XML.
"""

from devmgr.filings.io import (
    FilingImportError,
    ImportProblem,
    dump_csv,
    dump_xml,
    dump_yaml,
    load,
    loads_csv,
    loads_xml,
    loads_yaml,
    save,
)
from devmgr.filings.model import (
    CatalogPtzType,
    DeviceIdParts,
    Direction,
    FilingRecord,
    MoveFiling,
    PointType,
    RetentionClass,
    SiteCategory,
    parse_device_id,
    retention_minimum_days,
)

__all__ = [
    "CatalogPtzType",
    "DeviceIdParts",
    "Direction",
    "FilingImportError",
    "FilingRecord",
    "ImportProblem",
    "MoveFiling",
    "PointType",
    "RetentionClass",
    "SiteCategory",
    "dump_csv",
    "dump_xml",
    "dump_yaml",
    "load",
    "loads_csv",
    "loads_xml",
    "loads_yaml",
    "parse_device_id",
    "retention_minimum_days",
    "save",
]
