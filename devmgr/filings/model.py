"""The filing record of one camera: GB/T 28181-2022 catalog fields plus what the Measures add.

The Wuhan public video measures (2023) require a filing of device types and point distribution
within 30 days of acceptance (Art. 9), restrict moving and removing units (Art. 10), set
retention floors (Art. 16(5)) and forbid some places outright (Art. 18). A :class:`FilingRecord`
carries the catalog description of the camera (what a GB/T 28181 platform already holds) and
these regulation-only facts, so the compliance checks can be judged against one object.

    >>> from datetime import date
    >>> from devmgr.model import GeoPosition
    >>> rec = FilingRecord(
    ...     device_id="42010000001320000001", name="汉口站东广场1",
    ...     position=GeoPosition(latitude=30.6177, longitude=114.2553),
    ...     site_category="art6:2", retention_class="counter-terror",
    ...     acceptance_date=date(2025, 3, 1))
    >>> rec.device_id_parts.type_code, rec.filing_deadline()
    ('132', datetime.date(2025, 3, 31))
    >>> rec.retention_minimum_days, rec.is_art6_site
    (90, True)
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import IntEnum, StrEnum
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    BeforeValidator,
    Field,
    IPvAnyAddress,
    PlainSerializer,
    field_validator,
    model_validator,
)

from devmgr.model import GeoPosition, MacAddress, Model

__all__ = [
    "ART6_ITEMS",
    "ART18_ITEMS",
    "CAMERA_TYPE_CODES",
    "DEVICE_TYPE_CODES",
    "FILING_PERIOD",
    "MOVE_NOTICE_PERIOD",
    "CatalogPtzType",
    "DeviceIdParts",
    "Direction",
    "FilingRecord",
    "MoveFiling",
    "PointType",
    "RetentionClass",
    "SiteCategory",
    "parse_device_id",
    "retention_minimum_days",
]

#: Art. 9: filing "within thirty days of the date the system passed acceptance".
FILING_PERIOD = timedelta(days=30)
#: Art. 10 para. 2: units outside Art. 6 file 30 days before moving or removal.
MOVE_NOTICE_PERIOD = timedelta(days=30)

# ---------------------------------------------------------------------------------------------
# Device ID (GB/T 28181: 8 centre + 2 industry + 3 type + 1 network + 6 serial)

#: GB/T 28181 device type codes (positions 11-13 of the device id).
DEVICE_TYPE_CODES: dict[str, str] = {
    "111": "DVR",
    "112": "video server",
    "113": "encoder",
    "114": "decoder",
    "118": "NVR",
    "131": "camera",
    "132": "IPC",
    "133": "display",
    "134": "alarm input",
    "135": "alarm output",
    "200": "central signalling server",
    "215": "business group",
    "216": "virtual organisation",
}
#: A filing record describes one camera, so only these type codes are accepted.
CAMERA_TYPE_CODES = frozenset({"131", "132"})


class DeviceIdParts(NamedTuple):
    """The five fields of a GB/T 28181 device id.

    >>> parse_device_id("42010000001320000001").centre
    '42010000'
    """

    centre: str  # GB/T 2260 administrative division of the centre, zero-padded to 8
    industry: str  # 00-03 public order, 04-07 traffic, 08 urban management, ...
    type_code: str  # 131 camera, 132 IPC, ...
    network: str  # 0-4 private, 5 public-security, 6 e-government, 7 Internet, 8 social, 9 reserved
    serial: str

    @property
    def type_name(self) -> str:
        return DEVICE_TYPE_CODES.get(self.type_code, "unknown type")


def parse_device_id(value: str) -> DeviceIdParts:
    """Split and check a 20-digit device id; raise ``ValueError`` saying what is wrong.

    >>> parse_device_id("42010000001180000001")
    Traceback (most recent call last):
    ...
    ValueError: device id type code 118 (NVR) is not a camera (131) or an IPC (132)
    """
    if not re.fullmatch(r"[0-9]+", value):
        raise ValueError(f"device id {value!r} must be 20 decimal digits (found non-digits)")
    if len(value) != 20:
        raise ValueError(f"device id {value!r} must be 20 digits, not {len(value)}")
    parts = DeviceIdParts(value[:8], value[8:10], value[10:13], value[13], value[14:])
    if parts.type_code not in CAMERA_TYPE_CODES:
        raise ValueError(
            # a filing record is "one camera, one file": recorders, servers and groups have none
            f"device id type code {parts.type_code} ({parts.type_name}) is not a camera (131) "
            "or an IPC (132)"
        )
    return parts


def _digits_as_text(value: Any) -> Any:
    # Unquoted YAML turns 20-digit ids and civil codes into ints; take them back as text (a lost
    # leading zero then shows up as a length error rather than as a silent type error).
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else value


def _check_device_id(value: str) -> str:
    parse_device_id(value)
    return value


DeviceId = Annotated[str, BeforeValidator(_digits_as_text)]

# ---------------------------------------------------------------------------------------------
# GB/T 28181 <Info> enumerations


class CatalogPtzType(IntEnum):
    """GB/T 28181 ``PTZType`` (5-7 added in 2022).

    Not the same as :class:`devmgr.model.PtzType`, which only tells fixed from dome for the
    simulator; this is the catalog's own code list.
    """

    DOME = 1
    HEMISPHERE = 2
    FIXED = 3
    REMOTE_CONTROLLED_BOX = 4
    REMOTE_CONTROLLED_HEMISPHERE = 5
    MULTI_LENS_PANORAMA = 6
    MULTI_LENS_SPLIT = 7


class Direction(IntEnum):
    """GB/T 28181 ``DirectionType``: compass direction of the optical axis."""

    E = 1
    W = 2
    S = 3
    N = 4
    SE = 5
    NE = 6
    SW = 7
    NW = 8


class PointType(IntEnum):
    """GB/T 28181-2022 ``PointType``: class of the monitoring point."""

    CLASS_1 = 1
    CLASS_2 = 2
    CLASS_3 = 3
    OTHER = 9


# ---------------------------------------------------------------------------------------------
# Regulation-only fields

#: Art. 6 items (1)-(12), short English paraphrase.
ART6_ITEMS: dict[int, str] = {
    1: "state organs, major news units, communications, post, finance, key state projects",
    2: "transport hubs, important road sections, bridges, tunnels, metro and passenger vehicles",
    3: "large energy, water, power, fuel, gas and heat supply facilities",
    4: "kindergartens, schools, research, medical, museums, archives, protected relics",
    5: "large trade/logistics centres, squares, car parks, parks, scenic, leisure, hotels, cafes",
    6: "units handling dangerous goods or pathogenic strains",
    7: "defence science and industry production units",
    8: "currency, precious metal and securities production, storage and transport",
    9: "emergency evacuation sites, large underground spaces",
    10: "entrances, main passages and main shared facilities of residential areas",
    11: "areas prone to criminal or public-order cases",
    12: "other places required by laws and regulations",
}
#: Art. 18 items (1)-(6): places where installing public video is prohibited.
ART18_ITEMS: dict[int, str] = {
    1: "inside hotel guest rooms",
    2: "inside collective dormitories and apartment rooms",
    3: "nursing rooms, public baths, changing rooms, dressing rooms, toilets",
    4: "areas of financial, insurance, securities institutions that may expose client data",
    5: "near ballot boxes, report boxes, polling stations (expression of will observable)",
    6: "other places involving personal privacy or lawful rights",
}

_SITE_RE = re.compile(r"^(?:(?:art6:)?(?P<art6>\d{1,2})|prohibited:(?P<art18>\d{1,2})|not-listed)$")


class SiteCategory(Model):
    """Where the camera is, in the Measures' terms; written as a short string.

    String form (also what CSV, YAML and XML carry):

    - ``art6:<n>``: a site listed in Art. 6 item (n), n = 1..12 (a bare ``<n>`` is accepted);
    - ``not-listed``: a site not covered by Art. 6 (Art. 10 para. 2 rules apply);
    - ``prohibited:<n>``: a place in Art. 18 item (n), n = 1..6, where installing is forbidden.

    >>> SiteCategory.parse("art6:4").is_art6, str(SiteCategory.parse("prohibited:3"))
    (True, 'prohibited:3')
    """

    kind: Literal["art6", "not-listed", "prohibited"]
    item: int | None = None

    @model_validator(mode="after")
    def _item_in_range(self) -> SiteCategory:
        if self.kind == "not-listed":
            if self.item is not None:
                raise ValueError("a not-listed site has no item number")
        elif self.kind == "art6":
            if self.item not in ART6_ITEMS:
                raise ValueError(f"Art. 6 has items 1-12, not {self.item}")
        elif self.item not in ART18_ITEMS:
            raise ValueError(f"Art. 18 has items 1-6, not {self.item}")
        return self

    @classmethod
    def parse(cls, text: str) -> SiteCategory:
        m = _SITE_RE.match(text.strip().lower())
        if not m:
            raise ValueError(
                f"site category {text!r} is not 'art6:<1-12>', 'not-listed' or 'prohibited:<1-6>'"
            )
        if m["art6"] is not None:
            return cls(kind="art6", item=int(m["art6"]))
        if m["art18"] is not None:
            return cls(kind="prohibited", item=int(m["art18"]))
        return cls(kind="not-listed")

    @property
    def is_art6(self) -> bool:
        return self.kind == "art6"

    @property
    def is_prohibited(self) -> bool:
        return self.kind == "prohibited"

    @property
    def description(self) -> str:
        if self.kind == "art6":
            return f"Art. 6({self.item}): {ART6_ITEMS[self.item or 0]}"
        if self.kind == "prohibited":
            return f"Art. 18({self.item}) prohibited: {ART18_ITEMS[self.item or 0]}"
        return "not listed in Art. 6"

    def __str__(self) -> str:
        return self.kind if self.item is None else f"{self.kind}:{self.item}"


def _site_from_text(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return SiteCategory.parse(value) if isinstance(value, str) else value


SiteCategoryField = Annotated[
    SiteCategory, BeforeValidator(_site_from_text), PlainSerializer(str, return_type=str)
]


class RetentionClass(StrEnum):
    """Art. 16(5) retention class of what the camera records."""

    #: Systems of key anti-terrorism targets: at least ninety days.
    COUNTER_TERROR = "counter-terror"
    #: Important information on public security, emergencies, crime: at least two years.
    IMPORTANT = "important"
    #: Everything else: "per national rules"; the Measures set no floor of their own.
    STANDARD = "standard"


_RETENTION_MINIMUM = {
    RetentionClass.COUNTER_TERROR: 90,
    # "two years" read as 730 days; a leap year makes it 731 at most, so 730 is the floor.
    RetentionClass.IMPORTANT: 730,
    RetentionClass.STANDARD: 0,
}


def retention_minimum_days(cls: RetentionClass | str) -> int:
    """Minimum storage days for a retention class (Art. 16(5)).

    >>> retention_minimum_days("important")
    730
    """
    return _RETENTION_MINIMUM[RetentionClass(cls)]


class MoveFiling(Model):
    """A filing announcing that the camera will be moved or removed (Art. 10).

    >>> MoveFiling(kind="removal", filed_on=date(2025, 1, 1), planned_on=date(2025, 2, 1)).kind
    'removal'
    """

    kind: Literal["move", "removal"]
    filed_on: date
    planned_on: date
    #: Art. 10 para. 1: the rebuilding or replacement plan required for Art. 6 units.
    replacement_plan: str | None = None
    #: Where a moved unit goes; a removal has none.
    new_position: GeoPosition | None = None

    @model_validator(mode="after")
    def _consistent(self) -> MoveFiling:
        if self.kind == "removal" and self.new_position is not None:
            raise ValueError("a removal filing has no new position")
        return self

    @property
    def has_replacement_plan(self) -> bool:
        return bool(self.replacement_plan and self.replacement_plan.strip())


class FilingRecord(Model):
    """One camera's filing: GB/T 28181-2022 catalog fields plus the Measures' own.

    ``position`` is mandatory: Art. 9 files the point distribution, and GB/T 28181-2022 makes
    Longitude/Latitude mandatory for class-1/2 points. Optional catalog fields are ``None`` when
    unknown (and are then left out of YAML and XML, empty in CSV).
    """

    # --- GB/T 28181 catalog
    device_id: DeviceId
    name: str = Field(min_length=1)
    manufacturer: str = ""
    model: str = ""
    civil_code: Annotated[str, BeforeValidator(_digits_as_text)] = Field(
        default="", pattern=r"^(\d{2,20})?$"
    )
    address: str = ""
    position: GeoPosition
    ptz_type: CatalogPtzType | None = None
    direction: Direction | None = None
    horizontal_field_angle: float | None = Field(default=None, ge=0, le=360, allow_inf_nan=False)
    vertical_field_angle: float | None = Field(default=None, ge=0, le=180, allow_inf_nan=False)
    max_view_distance: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    point_type: PointType | None = None
    install_time: date | None = None
    record_save_days: int | None = Field(default=None, ge=0)
    mac: MacAddress | None = None
    ip_address: IPvAnyAddress | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    serial: Annotated[str, BeforeValidator(_digits_as_text)] | None = None
    # --- the Measures
    site_category: SiteCategoryField
    acceptance_date: date
    filing_date: date | None = None
    retention_class: RetentionClass = RetentionClass.STANDARD
    move_filings: tuple[MoveFiling, ...] = ()

    @field_validator("device_id")
    @classmethod
    def _device_id(cls, value: str) -> str:
        return _check_device_id(value)

    @field_validator("position")
    @classmethod
    def _finite_position(cls, value: GeoPosition) -> GeoPosition:
        # GeoPosition allows an infinite elevation; a filed point must be a real place.
        if value.elevation != value.elevation or abs(value.elevation) == float("inf"):
            raise ValueError("elevation must be a finite number")
        return value

    # --- derived facts

    @property
    def device_id_parts(self) -> DeviceIdParts:
        return parse_device_id(self.device_id)

    @property
    def retention_minimum_days(self) -> int:
        """Art. 16(5) floor for this record's retention class."""
        return retention_minimum_days(self.retention_class)

    @property
    def retention_satisfied(self) -> bool | None:
        """Whether the filed ``record_save_days`` meets the class floor (None if not filed)."""
        if self.record_save_days is None:
            return None
        return self.record_save_days >= self.retention_minimum_days

    @property
    def is_art6_site(self) -> bool:
        return self.site_category.is_art6

    @property
    def is_prohibited_site(self) -> bool:
        """Art. 18: a camera filed at a prohibited place must not be there at all."""
        return self.site_category.is_prohibited

    def filing_deadline(self) -> date:
        """Last day to file: acceptance date + 30 days (Art. 9)."""
        return self.acceptance_date + FILING_PERIOD

    def filing_overdue(self, today: date) -> bool:
        """True if the Art. 9 filing was late, or is still missing after the deadline."""
        if self.filing_date is not None:
            return self.filing_date > self.filing_deadline()
        return today > self.filing_deadline()

    def move_allowed_on(self, day: date) -> tuple[bool, str]:
        """May the unit be moved or removed on ``day``, given its move filings? (Art. 10)

        - Art. 6 site: only with a filing (made by ``day``) that carries a rebuilding or
          replacement plan (Art. 10 para. 1).
        - Other sites: only with a move/removal filing made at least 30 days before ``day``
          (Art. 10 para. 2; we read "移动或者拆除前三十日内" as "no later than 30 days before").
        - Prohibited (Art. 18) place: the unit should not be there; removing it is always allowed.

        >>> rec = FilingRecord(device_id="42010000001320000001", name="x",
        ...     position=GeoPosition(latitude=30.6, longitude=114.3), site_category="not-listed",
        ...     acceptance_date=date(2024, 1, 1), move_filings=[MoveFiling(kind="removal",
        ...     filed_on=date(2025, 1, 1), planned_on=date(2025, 1, 31))])
        >>> rec.move_allowed_on(date(2025, 1, 31))[0], rec.move_allowed_on(date(2025, 1, 20))[0]
        (True, False)
        """
        made = [f for f in self.move_filings if f.filed_on <= day]
        if self.is_prohibited_site:
            return True, f"{self.site_category.description}; removal is required, not restricted"
        if self.is_art6_site:
            with_plan = [f for f in made if f.has_replacement_plan]
            if with_plan:
                return True, (
                    f"Art. 10: Art. 6 unit; {with_plan[-1].kind} filed "
                    f"{with_plan[-1].filed_on.isoformat()} with a replacement plan"
                )
            return False, (
                "Art. 10: Art. 6 unit must not be moved or removed without a filed "
                "rebuilding or replacement plan"
            )
        early = [f for f in made if day - f.filed_on >= MOVE_NOTICE_PERIOD]
        if early:
            return True, (
                f"Art. 10: {early[-1].kind} filed {early[-1].filed_on.isoformat()}, "
                f"{(day - early[-1].filed_on).days} days ahead"
            )
        if made:
            latest = max(f.filed_on for f in made)
            return False, (
                f"Art. 10: filed only {(day - latest).days} days ahead "
                f"({latest.isoformat()}); 30 are required"
            )
        return False, "Art. 10: no move or removal filing; file 30 days before moving"
