"""The transfer-suggestion rule (接转提示), without the database.

Over the last `settings.geo.suggest_window_days` local days (Asia/Shanghai):
- only points accurate to 200 m vote; a point within max(100 m, its accuracy) of a
  jurisdiction of the member's home region counts for home (GPS jitter on a border);
- each day votes for the region holding a strict majority of that day's voting points
  (a tie, or a majority in no known jurisdiction, is no vote);
- a region that is not home, lies in another city and has ≥ `suggest_min_days` votes is
  offered; two regions tied at the top: none.
The service (service.py) adds what needs the database: never while a suggestion is open
(one per member, a unique index), while a transfer is open, or within
`suggest_cooldown_days` of a decision on that region.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

import numpy as np
import shapely

from flexunion.core.clock import BEIJING
from flexunion.geo.index import GEOD
from flexunion.geo.registry import GeoSnapshot

MAX_VOTING_ACCURACY_M = 200.0
BORDER_BAND_M = 100.0


def local_day(at: datetime) -> date:
    return at.astimezone(BEIJING).date()


def votes(accuracy_m: float | None) -> bool:
    return accuracy_m is None or accuracy_m <= MAX_VOTING_ACCURACY_M


def daily_votes(points: Iterable[tuple[date, uuid.UUID | None]]) -> dict[date, uuid.UUID]:
    """(local day, region or None) of each voting point → the region each day votes for."""
    per_day: dict[date, Counter[uuid.UUID | None]] = defaultdict(Counter)
    for day, region in points:
        per_day[day][region] += 1
    result: dict[date, uuid.UUID] = {}
    for day, counts in per_day.items():
        region, n = counts.most_common(1)[0]
        if region is not None and 2 * n > counts.total():
            result[day] = region
    return result


@dataclass(frozen=True, slots=True)
class Offer:
    region: uuid.UUID
    days: int


def decide(day_votes: Mapping[date, uuid.UUID], *, home: uuid.UUID, min_days: int,
           city_of: Callable[[uuid.UUID], str | None],
           cooling: Collection[uuid.UUID] = ()) -> Offer | None:
    """The region to offer, if any: not home, not in home's city, not cooling down after a
    decision, with at least `min_days` day votes. Two regions tied at the top: none."""
    home_city = city_of(home)
    tally = Counter(day_votes.values())
    candidates = sorted(((n, r) for r, n in tally.items()
                         if r != home and r not in cooling and n >= min_days
                         and not (home_city is not None and city_of(r) == home_city)),
                        key=lambda c: c[0], reverse=True)
    if not candidates or (len(candidates) > 1 and candidates[0][0] == candidates[1][0]):
        return None
    return Offer(region=candidates[0][1], days=candidates[0][0])


def near_home(snap: GeoSnapshot, home_jurisdictions: Sequence[int],
              lonlat: Sequence[tuple[float, float]], band_m: Sequence[float]) -> np.ndarray:
    """Which points lie within their band (metres, geodesic) of the home jurisdictions."""
    if not home_jurisdictions or not lonlat:
        return np.zeros(len(lonlat), dtype=bool)
    home = shapely.union_all(snap.areas.geoms[list(home_jurisdictions)])
    lines = shapely.shortest_line(home, shapely.points(np.asarray(lonlat, dtype=float)))
    ends = shapely.get_coordinates(lines).reshape(-1, 2, 2)
    _, _, dist = GEOD.inv(ends[:, 0, 0], ends[:, 0, 1], ends[:, 1, 0], ends[:, 1, 1])
    return np.asarray(dist) <= np.asarray(band_m, dtype=float)


class VotingPoint(Protocol):
    """A stored check-in, as far as the rule reads it."""

    @property
    def local_day(self) -> date: ...
    @property
    def jurisdiction_tenant_id(self) -> uuid.UUID | None: ...
    @property
    def lon(self) -> float: ...
    @property
    def lat(self) -> float: ...
    @property
    def accuracy_m(self) -> float | None: ...


def voting_regions(points: Sequence[VotingPoint], snap: GeoSnapshot, *, home: uuid.UUID,
                   region_of: Mapping[uuid.UUID, uuid.UUID | None],
                   ) -> list[tuple[date, uuid.UUID | None]]:
    """Each voting point's day and region (the regional union of the tenant whose
    jurisdiction held it); near a home jurisdiction's edge, home's."""
    regions = [region_of.get(p.jurisdiction_tenant_id) if p.jurisdiction_tenant_id else None
               for p in points]
    away = [i for i, region in enumerate(regions) if region != home]
    mine = [i for i, ref in enumerate(snap.areas.refs)
            if ref.kind == "jurisdiction" and region_of.get(ref.tenant_id) == home]
    near = near_home(snap, mine, [(points[i].lon, points[i].lat) for i in away],
                     [max(BORDER_BAND_M, points[i].accuracy_m or 0.0) for i in away])
    for i, is_near in zip(away, near.tolist(), strict=True):
        if is_near:
            regions[i] = home
    return [(p.local_day, region) for p, region in zip(points, regions, strict=True)]
