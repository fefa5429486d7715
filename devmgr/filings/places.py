"""Is a filed position plausible? Placeholders, China, and the province its CivilCode names.

Coarse on purpose, and only a flag: a position is never corrected, only questioned.

* **placeholder**: latitude and longitude both 0 (what platforms write when nobody entered a
  position). Import reads it as "no position".
* **outside China**: outside every box of :data:`PROVINCE_BOXES` (the 34 provincial-level
  divisions). Points just across a land border (northern Vietnam, Mongolia, the Korean border)
  can still fall inside a neighbouring province's box and pass.
* **other division**: outside the box of the province named by the first two digits of the
  CivilCode (GB/T 2260). The boxes are each province's extreme latitudes and longitudes,
  rounded to 0.1 degree from memory of published extents, plus a margin of
  :data:`MARGIN_DEG` on every side: they catch a camera filed in Hubei at Beijing coordinates,
  or latitude and longitude swapped, not one filed in the next county. Hainan's box includes
  the South China Sea islands it administers, down to 3.5 N.

    >>> position_problems(30.58, 114.29, "420102")
    []
    >>> position_problems(39.9, 116.4, "420102")
    ['lies outside Hubei (CivilCode 420102): 39.9 N, 116.4 E']
    >>> position_problems(87.62, 43.79, "650102")
    ['is outside China: 87.62 N, 43.79 E (latitude and longitude swapped?)']
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["MARGIN_DEG", "PROVINCE_BOXES", "Box", "is_placeholder", "position_problems"]

#: Added on every side of a province box: the boxes are coarse, a flag must not be noise.
MARGIN_DEG = 0.5


class Box(NamedTuple):
    name: str
    south: float
    north: float
    west: float
    east: float

    def contains(self, latitude: float, longitude: float, margin: float = MARGIN_DEG) -> bool:
        return (self.south - margin <= latitude <= self.north + margin
                and self.west - margin <= longitude <= self.east + margin)


#: GB/T 2260 province code -> coarse extent (degrees, WGS-84).
PROVINCE_BOXES: dict[str, Box] = {
    "11": Box("Beijing", 39.4, 41.1, 115.4, 117.5),
    "12": Box("Tianjin", 38.6, 40.3, 116.7, 118.1),
    "13": Box("Hebei", 36.0, 42.7, 113.4, 119.9),
    "14": Box("Shanxi", 34.6, 40.8, 110.2, 114.6),
    "15": Box("Inner Mongolia", 37.4, 53.4, 97.2, 126.1),
    "21": Box("Liaoning", 38.7, 43.5, 118.8, 125.8),
    "22": Box("Jilin", 40.8, 46.3, 121.6, 131.4),
    "23": Box("Heilongjiang", 43.4, 53.6, 121.1, 135.1),
    "31": Box("Shanghai", 30.6, 31.9, 120.8, 122.3),
    "32": Box("Jiangsu", 30.7, 35.2, 116.3, 122.0),
    "33": Box("Zhejiang", 27.0, 31.2, 118.0, 123.2),
    "34": Box("Anhui", 29.4, 34.7, 114.8, 119.7),
    "35": Box("Fujian", 23.5, 28.4, 115.8, 120.8),
    "36": Box("Jiangxi", 24.4, 30.1, 113.5, 118.5),
    "37": Box("Shandong", 34.3, 38.4, 114.8, 122.8),
    "41": Box("Henan", 31.3, 36.4, 110.3, 116.7),
    "42": Box("Hubei", 29.0, 33.3, 108.3, 116.2),
    "43": Box("Hunan", 24.6, 30.2, 108.7, 114.3),
    "44": Box("Guangdong", 20.2, 25.6, 109.6, 117.4),
    "45": Box("Guangxi", 20.9, 26.4, 104.4, 112.1),
    "46": Box("Hainan", 3.5, 20.2, 108.5, 117.9),
    "50": Box("Chongqing", 28.1, 32.3, 105.2, 110.2),
    "51": Box("Sichuan", 26.0, 34.4, 97.3, 108.6),
    "52": Box("Guizhou", 24.6, 29.3, 103.6, 109.6),
    "53": Box("Yunnan", 21.1, 29.3, 97.5, 106.2),
    "54": Box("Tibet", 26.8, 36.6, 78.3, 99.2),
    "61": Box("Shaanxi", 31.7, 39.6, 105.4, 111.3),
    "62": Box("Gansu", 32.5, 42.8, 92.1, 108.8),
    "63": Box("Qinghai", 31.5, 39.3, 89.4, 103.1),
    "64": Box("Ningxia", 35.2, 39.4, 104.2, 107.7),
    "65": Box("Xinjiang", 34.3, 49.2, 73.4, 96.4),
    "71": Box("Taiwan", 21.8, 26.4, 118.1, 122.1),
    "81": Box("Hong Kong", 22.1, 22.6, 113.8, 114.5),
    "82": Box("Macao", 22.1, 22.3, 113.5, 113.7),
}


def is_placeholder(latitude: float, longitude: float) -> bool:
    """0/0: "no position entered", not a point in the Gulf of Guinea."""
    return latitude == 0.0 and longitude == 0.0


def _in_china(latitude: float, longitude: float) -> bool:
    return any(box.contains(latitude, longitude) for box in PROVINCE_BOXES.values())


def position_problems(latitude: float, longitude: float, civil_code: str) -> list[str]:
    """What is implausible about a filed position, as phrases ("is outside China: ...")."""
    where = f"{latitude:g} N, {longitude:g} E"
    if is_placeholder(latitude, longitude):
        return ["is the placeholder 0/0, not a position"]
    if not _in_china(latitude, longitude):
        hint = (" (latitude and longitude swapped?)" if _in_china(longitude, latitude)
                else "")
        return [f"is outside China: {where}{hint}"]
    province = PROVINCE_BOXES.get(civil_code[:2]) if civil_code else None
    if province is not None and not province.contains(latitude, longitude):
        return [f"lies outside {province.name} (CivilCode {civil_code}): {where}"]
    return []
