"""The borough gazetteer: a place typed in words ("Hindley", "Wallgate, Wigan", "WN1 1BA",
"WN2") turned into a named point inside Wigan Borough, for the report pin and Open311's
``address_string`` (one resolver for both).

Built only from data the project ships, with its attribution (``data/README.md`` here and in
``backend/venues/data``): postcodes, postcode sectors and districts (the postcode points),
wards and the towns and villages in their names, the candidate safe places' names, streets
and localities (their addresses), and the names and streets of verified safe places. There
is no full street list in that data: a street is known only where a listed place stands on
it, and the error says exactly what is accepted instead."""

from __future__ import annotations

import difflib
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from sqlalchemy import select

from backend.areas import service as areas
from backend.areas.models import Postcode, Ward
from backend.built_once import built_once
from backend.built_once import forget as forget_built
from backend.errors import AppError, field_error
from backend.extensions import db

CANDIDATES_FILE = (
    areas.DATA_DIR.parent.parent / "venues" / "data" / "wigan_candidate_safe_places.geojson"
)

ACCEPTED = (
    "a postcode (WN1 1AA) or its first part (WN1), a ward, town or village (Hindley), a street "
    "with its town (Market Street, Hindley) or a safe place's name (Hindley Library)"
)

# Best first when one name means several things: a town before the ward named after it,
# then the places and streets that carry the name.
KIND_ORDER = {
    "postcode": 0,
    "sector": 1,
    "district": 2,
    "town": 3,
    "ward": 4,
    "safe_place": 5,
    "street": 6,
}
KIND_WORDS = {
    "postcode": "postcode",
    "sector": "postcode area",
    "district": "postcode area",
    "town": "town or village",
    "ward": "ward",
    "safe_place": "place",
    "street": "street",
}

# Words that end a street's name in Wigan addresses ("Wallgate", "Standishgate" end in -gate).
STREET_WORDS = {
    "road", "rd", "street", "st", "lane", "ln", "avenue", "ave", "drive", "dr", "way", "close",
    "crescent", "square", "grove", "terrace", "place", "brow", "walk", "parade", "row", "hill",
    "green lane", "fold", "mews", "court", "precinct", "wiend", "gardens",
}  # fmt: skip
ABBREVIATIONS = {"st": "street", "rd": "road", "ave": "avenue", "dr": "drive", "ln": "lane"}
# Address parts that are counties or post towns outside the borough, not places in it.
NOT_LOCALITIES = {
    "lancashire", "greater manchester", "manchester", "warrington", "nr wigan",
    "nr warrington", "uk", "england", "wigan borough",
}  # fmt: skip
# Written after a place's name without narrowing it down ("Hindley, Wigan, Lancashire").
ANYWHERE = NOT_LOCALITIES | {"wigan"}
COMPASS = (" central", " north", " south", " east", " west")
SECTOR_RE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)(?:\s*([0-9]))?$")


@dataclass(frozen=True)
class Place:
    """A named point in the borough."""

    name: str  # what the person is shown: "Market Street, Hindley"
    kind: str  # postcode | sector | district | town | ward | safe_place | street
    lat: float
    lon: float
    ward_code: str
    ward_name: str
    postcode: str | None = None

    @property
    def kind_words(self) -> str:
        return KIND_WORDS[self.kind]


@dataclass
class _Entry:
    key: str
    place: Place
    context: frozenset[str] = field(default_factory=frozenset)


def normalise(text: str) -> str:
    """Lower case, ``&`` as ``and``, hyphens and dots as spaces, abbreviations spelled out,
    "[DEMO]" and a leading "the" dropped: ``"The Wallgate Tap"`` -> ``"wallgate tap"``."""
    text = re.sub(r"\[[^\]]*\]", " ", text.lower()).replace("&", " and ")
    text = re.sub(r"[^a-z0-9' ]+", " ", text.replace("'", ""))
    words = [ABBREVIATIONS.get(w, w) for w in text.split()]
    if words and words[0] == "the" and len(words) > 1:
        words = words[1:]
    return " ".join(words)


def _is_street(part: str) -> bool:
    key = normalise(part)
    last = key.split()[-1] if key else ""
    return bool(key) and (
        last in STREET_WORDS or last in ABBREVIATIONS or (last.endswith("gate") and len(last) > 5)
    )


def _street_name(part: str) -> str:
    """``"29-31 Bradshawgate"`` -> ``"Bradshawgate"``, ``"Unit3, 19 Bordsdane Ave"`` -> the
    street with its number taken off."""
    return re.sub(r"^[\d\s\-/]*\d[a-zA-Z]?\s+", "", part.strip()).strip()


def split_address(address: str) -> tuple[str | None, list[str]]:
    """The street of an address line and the place names after it (towns, villages)."""
    parts = [p.strip() for p in (address or "").split(",") if p.strip()]
    for i, part in enumerate(parts):
        if _is_street(part):
            after = [p for p in parts[i + 1 :] if normalise(p) not in NOT_LOCALITIES]
            return _street_name(part), [p for p in after if not re.search(r"\d", p)]
    return None, []


class _Book:
    """Entries by their normalised name, each a named point inside the borough."""

    def __init__(self, ward_names: dict[str, str]) -> None:
        self.by_key: dict[str, list[_Entry]] = defaultdict(list)
        self.ward_names = ward_names

    def add(self, key: str, place: Place, context: Iterable[str] = ()) -> None:
        if not key:
            return
        for entry in self.by_key[key]:
            if entry.place.kind == place.kind and normalise(entry.place.name) == normalise(
                place.name
            ):
                return
        self.by_key[key].append(_Entry(key, place, frozenset(context)))

    def place(
        self, name: str, kind: str, lat: float, lon: float, postcode: str | None = None
    ) -> Place | None:
        ward = areas.ward_code_for_point(lat, lon)
        if ward is None:
            return None  # outside the borough: not a place to pin a Wigan report on
        return Place(name, kind, lat, lon, ward, self.ward_names.get(ward, ward), postcode)

    def add_places(self, rows: Iterable[tuple[str, str | None, float, float]]) -> set[str]:
        """Safe places (name, address, lat, lon): their names and streets; returns the keys
        of the towns their addresses name, each with the places that name it first."""
        self.town_points: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.town_names: dict[str, str] = {}
        for name, address, lat, lon in rows:
            street, localities = split_address(address or "")
            context = {normalise(x) for x in localities}
            where = localities[0] if localities else None
            if name.strip():
                shown = re.sub(r"^\s*\[[^\]]*\]\s*", "", name).strip()
                label = f"{shown}, {address}" if address else shown
                place = self.place(label, "safe_place", lat, lon)
                if place:
                    self.add(normalise(shown), place, context)
            if street:
                label = f"{street}, {where}" if where else street
                place = self.place(label, "street", lat, lon)
                if place:
                    self.add(normalise(street), place, context)
            if where:
                self.town_points[normalise(where)].append((lat, lon))
                self.town_names.setdefault(normalise(where), where.strip())
        return set(self.town_points)


class _Gazetteer(_Book):
    """The shipped data's entries; rebuilt when the wards or postcodes are reloaded."""

    def __init__(self) -> None:
        super().__init__(areas.ward_names())
        wards = list(db.session.scalars(select(Ward)))
        rows = db.session.execute(
            select(Postcode.postcode, Postcode.lat, Postcode.lon, Postcode.ward_code).where(
                Postcode.ward_code.is_not(None)
            )
        ).all()
        self._postcode_areas(rows)
        towns = self.add_places(self._candidate_features())
        for key, points in self.town_points.items():
            lat, lon = median(p[0] for p in points), median(p[1] for p in points)
            place = self.place(self.town_names[key], "town", lat, lon)
            if place:
                self.add(key, place)
        self._wards(wards, towns)

    def _postcode_areas(self, rows: Iterable[Any]) -> None:
        groups: dict[tuple[str, str], list[tuple[float, float, str]]] = defaultdict(list)
        for code, lat, lon, _ward in rows:
            outward, inward = code.split(" ")
            groups[("district", outward)].append((lat, lon, code))
            groups[("sector", f"{outward} {inward[0]}")].append((lat, lon, code))
        for (kind, name), points in groups.items():
            # The postcode point nearest the middle: always a real place inside the borough.
            mid_lat, mid_lon = median(p[0] for p in points), median(p[1] for p in points)
            lat, lon, _code = min(
                points, key=lambda p: (p[0] - mid_lat) ** 2 + ((p[1] - mid_lon) * 0.6) ** 2
            )
            place = self.place(f"{name} (the middle of that postcode area)", kind, lat, lon)
            if place:
                self.add(name.lower(), place)

    @staticmethod
    def _candidate_features() -> list[tuple[str, str | None, float, float]]:
        features = json.loads(CANDIDATES_FILE.read_text())["features"]
        out = []
        for feature in features:
            props = feature.get("properties") or {}
            lon, lat = feature["geometry"]["coordinates"][:2]
            out.append((props.get("name") or "", props.get("address"), float(lat), float(lon)))
        return out

    def _wards(self, wards: list[Ward], towns: set[str]) -> None:
        """Wards by name, and the towns and villages in ward names ("Aspull, New Springs &
        Whelley") that no address named, at their ward's middle (the central ward's for a
        town split into several: "Leigh" in "Leigh Central & Higher Folds")."""
        parts: dict[str, list[Ward]] = defaultdict(list)
        for ward in wards:
            place = self.place(f"{ward.name} ward", "ward", ward.centroid_lat, ward.centroid_lon)
            if place:
                self.add(normalise(ward.name), place)
            for part in re.split(r",| & | with ", ward.name):
                name = part.strip()
                for suffix in COMPASS:
                    if name.lower().endswith(suffix):
                        name = name[: -len(suffix)]
                if name:
                    parts[name].append(ward)
        for name, found in parts.items():
            key = normalise(name)
            if key in towns or (len(found) == 1 and normalise(found[0].name) == key):
                continue
            central = [w for w in found if " central" in w.name.lower()] or found
            lat = sum(w.centroid_lat for w in central) / len(central)
            lon = sum(w.centroid_lon for w in central) / len(central)
            place = self.place(name, "town", lat, lon)
            if place:
                self.add(key, place)


_cache: dict[str, _Gazetteer] = {}


def _gazetteer() -> _Gazetteer:
    return built_once(_cache, str(db.engine.url), _Gazetteer)


def forget() -> None:
    """Drop the cached gazetteer (after wards or postcodes are reloaded)."""
    forget_built(_cache)


def _verified_places(gazetteer: _Gazetteer) -> _Book:
    """Verified safe places' names and streets, read now (they change as staff register)."""
    from backend.venues.models import Venue

    rows = db.session.execute(
        select(Venue.name, Venue.address, Venue.lat, Venue.lon).where(Venue.status == "verified")
    ).all()
    live = _Book(gazetteer.ward_names)
    live.add_places(rows)
    return live


def _not_found(field_name: str, text: str, near: list[str]) -> AppError:
    maybe = f" Did you mean {' or '.join(near)}?" if near else ""
    return field_error(
        field_name,
        f"{text[:60]!r} is not a place we can find in Wigan Borough.{maybe} Type {ACCEPTED}; "
        "or put the pin on the map",
    )


def _close_names(head: str, books: list[_Book]) -> list[str]:
    """Up to 3 names spelled nearly like ``head`` ("Hindly" -> "Hindley"), best first."""
    keys = {key: book for book in books for key in book.by_key}
    close = difflib.get_close_matches(head, list(keys), n=3, cutoff=0.85)
    names = []
    for key in close:
        best = min(keys[key].by_key[key], key=lambda e: KIND_ORDER[e.place.kind]).place
        names.append(best.name.split(",")[0] if best.kind == "street" else best.name)
    return names


def resolve(text: str, field_name: str = "place") -> list[Place]:
    """The places in the borough that ``text`` names, best first (a postcode written
    anywhere in it wins). Raises ValidationError naming ``field_name``: an unknown postcode,
    or a name not in the gazetteer (the message says exactly what is accepted)."""
    text = (text or "").strip()
    if not text:
        raise field_error(field_name, f"type {ACCEPTED}")
    gazetteer = _gazetteer()
    postcode = areas.postcode_in_address(text)
    if postcode:
        row = areas.lookup_postcode(postcode, field=field_name)
        place = gazetteer.place(row.postcode, "postcode", row.lat, row.lon, row.postcode)
        if place is None:
            raise field_error(field_name, f"{row.postcode} is outside Wigan Borough")
        return [place]
    sector = SECTOR_RE.match(re.sub(r"\s+", " ", text.upper()))
    if sector:
        key = " ".join(p for p in sector.groups() if p).lower()
        found = [e.place for e in gazetteer.by_key.get(key, [])]
        if found:
            return found
        raise field_error(field_name, f"no Wigan Borough postcodes start {key.upper()}")
    live = _verified_places(gazetteer)
    whole = normalise(text)
    parts = [normalise(p) for p in text.split(",") if normalise(p)]
    head, qualifiers = (parts[0], parts[1:]) if parts else ("", [])

    def entries(key: str) -> list[_Entry]:
        return list(gazetteer.by_key.get(key, [])) + list(live.by_key.get(key, []))

    matches = entries(whole)
    if matches:
        qualifiers = []  # the whole text is a name ("Aspull, New Springs & Whelley")
    else:
        matches = entries(head)
    if not matches:
        # "Leigh town centre", "Wigan centre": the town itself.
        town = re.sub(r"\s+(town\s+)?(centre|center)$|\s+town$", "", head)
        if town != head:
            matches = [e for e in entries(town) if e.place.kind == "town"]
    wanted = [q for q in qualifiers if q not in ANYWHERE]
    if wanted:
        matches = [e for e in matches if all(q in e.context for q in wanted)]
    if not matches:
        raise _not_found(field_name, text, [] if wanted else _close_names(head, [gazetteer, live]))
    # "Market Street, Wigan": the borough's own name narrows nothing, but a place whose
    # address says it comes first.
    ordered = sorted(
        matches, key=lambda e: (not set(qualifiers) & e.context, KIND_ORDER[e.place.kind])
    )
    unique: list[Place] = []
    for entry in ordered:
        if entry.place not in unique:
            unique.append(entry.place)
    return unique
