"""The filing record of one camera: GB/T 28181 catalog fields plus what the Measures add.

The Wuhan public video measures (2023) require a filing of device types and point distribution
within 30 days of acceptance (Art. 9), restrict moving and removing units (Art. 10), set
retention floors (Art. 16(5)) and forbid some places outright (Art. 18). A :class:`FilingRecord`
carries the catalog description of the camera (what a GB/T 28181 platform already holds) and
these regulation-only facts, so the compliance checks can be judged against one object.

A platform's catalog has no regulation fields, so a record may lack them (and its position):
it is then an *incomplete* filing (:attr:`FilingRecord.missing`), which the audit reports
under Art. 9 until it is completed.

    >>> from datetime import date
    >>> from camfleet.model import GeoPosition
    >>> rec = FilingRecord(
    ...     device_id="42010000001320000001", name="汉口站东广场1",
    ...     position=GeoPosition(latitude=30.6177, longitude=114.2553),
    ...     site_category="art6:2", retention_class="counter-terror",
    ...     acceptance_date=date(2025, 3, 1))
    >>> rec.device_id_parts.type_code, rec.filing_deadline(), rec.missing
    ('132', datetime.date(2025, 3, 31), ())
    >>> rec.retention_minimum_days, rec.is_art6_site, rec.civil_code, rec.parent_id
    (90, True, '420100', '420100')
    >>> FilingRecord(device_id="42010000001320000002", name="x").missing
    ('position', 'site_category', 'acceptance_date')
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    IPvAnyAddress,
    PlainSerializer,
    field_validator,
    model_validator,
)

from camfleet.model import GeoPosition, MacAddress, Model
from devmgr.filings.codes import (
    CatalogPtzType,
    DeviceIdParts,
    Direction,
    PointType,
    PositionType,
    RegisterWay,
    RoomType,
    SafetyWay,
    SupplyLightType,
    UseType,
    parse_device_id,
)
from devmgr.filings.nodes import PARENT_ID_PATTERN, CatalogElement, item_first
from devmgr.filings.places import position_problems

__all__ = [
    "ART6_ITEMS",
    "ART18_ITEMS",
    "FILING_FIELDS",
    "FILING_PERIOD",
    "MOVE_NOTICE_PERIOD",
    "REGULATION_FIELDS",
    "FilingRecord",
    "MoveFiling",
    "RetentionClass",
    "SiteCategory",
    "retention_minimum_days",
]

#: Art. 9: filing "within thirty days of the date the system passed acceptance".
FILING_PERIOD = timedelta(days=30)
#: Art. 10 para. 2: units outside Art. 6 file 30 days before moving or removal.
MOVE_NOTICE_PERIOD = timedelta(days=30)
#: What an Art. 9 filing needs beyond the catalog: the point (position), the Art. 6 category
#: and the acceptance date the 30 days run from. A record lacking one is incomplete.
FILING_FIELDS = ("position", "site_category", "acceptance_date")
#: What only camfleet files (the Measures' fields, and the serial it matches units by): a
#: platform's catalog never carries them, so re-importing one keeps them.
REGULATION_FIELDS = ("serial", "site_category", "acceptance_date", "filing_date",
                     "retention_class", "move_filings")


def _digits_as_text(value: Any) -> Any:
    # Unquoted YAML turns 20-digit ids and civil codes into ints; take them back as text (a lost
    # leading zero then shows up as a length error rather than as a silent type error).
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else value


DeviceId = Annotated[str, BeforeValidator(_digits_as_text)]


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


_Text = Annotated[str, Field(max_length=1024)]
_Code = Annotated[str, BeforeValidator(_digits_as_text)]


class FilingRecord(Model):
    """One camera's filing: the GB/T 28181 catalog item (2016 and 2022) plus the Measures' own.

    Catalog fields are named after their element (``parent_id`` is ``ParentID``); unknown
    optional values are ``None`` or ``""`` (left out of YAML, empty in CSV). ``civil_code``
    defaults to the division in the device id (its first six digits) and ``parent_id`` to
    the civil code (the camera hangs under its division), so both mandatory elements always
    have a value. Other catalog elements are kept verbatim in ``extra_elements``.
    """

    # --- GB/T 28181 catalog item, in the standard's order
    device_id: DeviceId
    name: str = Field(min_length=1, max_length=1024)
    manufacturer: _Text = ""
    model: _Text = ""
    owner: _Text = ""
    civil_code: _Code = Field(default="", pattern=r"^(\d{2,20})?$")
    block: _Text = ""
    address: _Text = ""
    #: ``Parental``: the camera has child devices (alarm inputs, for instance).
    parental: bool = False
    parent_id: _Code = Field(default="", pattern=PARENT_ID_PATTERN)
    #: ``SafetyWay``; the standard's default is 0 (none).
    safety_way: SafetyWay = SafetyWay.NONE
    register_way: RegisterWay = RegisterWay.RFC3261
    cert_num: _Text = ""
    certifiable: bool | None = None
    err_code: int | None = Field(default=None, ge=0)
    end_time: datetime | None = None
    secrecy: bool = False
    ip_address: IPvAnyAddress | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    #: ``Status`` as the catalog said it; ``ON`` for records made here (a filing in force
    #: describes a unit in service).
    status: str = Field(default="ON", pattern=r"^[A-Za-z]{1,16}$")
    #: ``Longitude``/``Latitude`` (WGS-84); ``None``: not known (an incomplete filing).
    position: GeoPosition | None = None
    business_group_id: _Code = ""
    #: GB/T 28181-2022 ``SecurityLevelCode``.
    security_level_code: Literal["A", "B", "C"] | None = None
    # --- <Info>
    ptz_type: CatalogPtzType | None = None
    position_type: PositionType | None = None
    room_type: RoomType | None = None
    use_type: UseType | None = None
    supply_light_type: SupplyLightType | None = None
    direction: Direction | None = None
    horizontal_field_angle: float | None = Field(default=None, ge=0, le=360, allow_inf_nan=False)
    vertical_field_angle: float | None = Field(default=None, ge=0, le=180, allow_inf_nan=False)
    max_view_distance: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    grassroots_code: _Text = ""
    point_type: PointType | None = None
    mac: MacAddress | None = None
    #: ``FunctionType``: "/"-separated codes (01 face, 02 person, 03 vehicle, ...).
    function_type: str | None = Field(default=None, pattern=r"^\d{2}(/\d{2})*$")
    install_time: datetime | None = None
    management_unit: _Text = ""
    contact_info: _Text = ""
    record_save_days: int | None = Field(default=None, ge=0)
    #: Catalog elements camfleet has no field for, verbatim (a round trip loses nothing).
    extra_elements: Annotated[tuple[CatalogElement, ...], AfterValidator(item_first)] = ()
    # --- identity camfleet matches units by
    serial: Annotated[str, BeforeValidator(_digits_as_text)] | None = None
    # --- the Measures (missing ones make an incomplete filing)
    site_category: SiteCategoryField | None = None
    acceptance_date: date | None = None
    filing_date: date | None = None
    retention_class: RetentionClass = RetentionClass.STANDARD
    move_filings: tuple[MoveFiling, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _mandatory_catalog_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        device_id = _digits_as_text(data.get("device_id"))
        civil = _digits_as_text(data.get("civil_code")) or (
            device_id[:6] if isinstance(device_id, str) and device_id.isdigit() else "")
        parent = _digits_as_text(data.get("parent_id")) or civil
        return {**data, "civil_code": civil, "parent_id": parent}

    @field_validator("device_id")
    @classmethod
    def _device_id(cls, value: str) -> str:
        parse_device_id(value)
        return value

    @field_validator("position")
    @classmethod
    def _finite_position(cls, value: GeoPosition | None) -> GeoPosition | None:
        # GeoPosition allows an infinite elevation; a filed point must be a real place.
        if value is not None and (
            value.elevation != value.elevation or abs(value.elevation) == float("inf")
        ):
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
    def missing(self) -> tuple[str, ...]:
        """The :data:`FILING_FIELDS` this record lacks: empty for a complete Art. 9 filing."""
        return tuple(f for f in FILING_FIELDS if getattr(self, f) is None)

    def with_filed_facts(self, filed: FilingRecord) -> FilingRecord:
        """This record (read from a platform's catalog) with what ``filed`` holds that a
        catalog cannot: the :data:`REGULATION_FIELDS`, the elevation of the same point, and the
        filed position when the catalog gives none."""
        update: dict[str, Any] = {f: getattr(filed, f) for f in REGULATION_FIELDS}
        here, there = self.position, filed.position
        if here is None or (there is not None and (here.latitude, here.longitude) == (
                there.latitude, there.longitude)):
            update["position"] = there
        return self.model_copy(update=update)

    @property
    def position_problems(self) -> list[str]:
        """What is implausible about the filed position (a placeholder 0/0, outside China,
        outside the province of the CivilCode; see :mod:`devmgr.filings.places`)."""
        if self.position is None:
            return []
        return position_problems(self.position.latitude, self.position.longitude,
                                 self.civil_code)

    @property
    def is_art6_site(self) -> bool:
        return self.site_category is not None and self.site_category.is_art6

    @property
    def is_prohibited_site(self) -> bool:
        """Art. 18: a camera filed at a prohibited place must not be there at all."""
        return self.site_category is not None and self.site_category.is_prohibited

    def filing_deadline(self) -> date | None:
        """Last day to file: acceptance date + 30 days (Art. 9); None without the date."""
        if self.acceptance_date is None:
            return None
        return self.acceptance_date + FILING_PERIOD

    def filing_overdue(self, today: date) -> bool:
        """True if the Art. 9 filing was late, or is still missing after the deadline.

        Without an acceptance date nothing can be overdue: the record is incomplete, which
        is reported as such.
        """
        deadline = self.filing_deadline()
        if deadline is None:
            return False
        if self.filing_date is not None:
            return self.filing_date > deadline
        return today > deadline

    def move_allowed_on(self, day: date) -> tuple[bool, str]:
        """May the unit be moved or removed on ``day``, given its move filings? (Art. 10)

        - Art. 6 site: only with a filing (made by ``day``) that carries a rebuilding or
          replacement plan (Art. 10 para. 1).
        - Other sites: only with a move/removal filing made at least 30 days before ``day``
          (Art. 10 para. 2; we read "移动或者拆除前三十日内" as "no later than 30 days before").
        - Prohibited (Art. 18) place: the unit should not be there; removing it is always allowed.
        - No site category filed (an incomplete filing): judged as a site outside Art. 6, and
          the reason says so.

        >>> rec = FilingRecord(device_id="42010000001320000001", name="x",
        ...     position=GeoPosition(latitude=30.6, longitude=114.3), site_category="not-listed",
        ...     acceptance_date=date(2024, 1, 1), move_filings=[MoveFiling(kind="removal",
        ...     filed_on=date(2025, 1, 1), planned_on=date(2025, 1, 31))])
        >>> rec.move_allowed_on(date(2025, 1, 31))[0], rec.move_allowed_on(date(2025, 1, 20))[0]
        (True, False)
        """
        made = [f for f in self.move_filings if f.filed_on <= day]
        if self.site_category is not None and self.site_category.is_prohibited:
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
        allowed, why = _notice_given(made, day)
        if self.site_category is None:
            why += " (no site category filed: judged as a site outside Art. 6)"
        return allowed, why


def _notice_given(made: list[MoveFiling], day: date) -> tuple[bool, str]:
    """Art. 10 para. 2: a move/removal filing at least 30 days before ``day``."""
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
