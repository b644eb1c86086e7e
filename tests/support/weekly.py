"""周研判 arrangements for the console tests: a quiet baseline, then in the last week six cases
at one station of the second region, in delivery zone z9, with platform beta — which the real
weekly computation flags three times (the station, the zone, the partner). The station has a
point and the zone a polygon, so two of the three signals have a place on the map."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import text

from flexunion.cases.weekly.rules import Week
from flexunion.core.clock import Clock
from tests.support.factories import Federation
from tests.support.geo import seed_area, seed_point, square

CATEGORIES = ("wage_distribution", "leave_scheduling", "labour_protection", "housing_commute",
              "skills_promotion", "dispatch")
STATION_AT = (121.47, 31.23)
ZONE = square(121.40, 31.10, 121.44, 31.14)  # centroid (121.42, 31.12)


async def plant_week(owner: Any, fed: Federation, clock: Clock) -> Week:
    """The cases, the station's point and the zone; the week they fall in (the last one)."""
    week = Week.of(clock.now()).previous()
    region = fed.regions[1]
    station = fed.stations[region][0]
    hq = fed.ids[fed.hq]
    at = week.start + timedelta(days=1, hours=3)
    await seed_point(owner, fed, station, station, *STATION_AT)
    await seed_area(owner, fed, region, "delivery_zone", "z9", ZONE, partner="beta")
    async with owner() as s, s.begin():
        beta = await s.scalar(text("SELECT id FROM platform_partners WHERE tenant_id = :f"
                                   " AND code = 'beta'"), {"f": hq})
        for i, cat in enumerate(CATEGORIES):
            await s.execute(text(
                "INSERT INTO cases (id, federation_id, tenant_id, case_no, is_member, contact,"
                " partner_id, category, description, tags, tier, channel, place, status,"
                " route_details, created_by, created_at, updated_at) VALUES"
                " (gen_random_uuid(), :f, :t, :no, false, '{}', :p, :cat, '述', '{}', 'general',"
                " 'visit', '{\"zone\": \"z9\"}', 'assigned', '{}', 'test', :at, :at)"),
                {"f": hq, "t": fed.ids[station], "no": f"wk-{fed.hq}-{i}", "p": beta,
                 "cat": cat, "at": at})
    return week
