"""Every geo router, mounted as one: areas and where a point lies, stations, the worker's
check-ins and transfer suggestions, rosters and the census."""

from __future__ import annotations

from litestar import Router

from flexunion.geo.areas.routes import LANES as AREA_LANES
from flexunion.geo.areas.routes import router as areas
from flexunion.geo.census.routes import router as census
from flexunion.geo.checkins.routes import router as checkins
from flexunion.geo.stations.routes import LANES as STATION_LANES
from flexunion.geo.stations.routes import router as stations

router = Router("/", route_handlers=[areas, stations, checkins, census])
LANES = [*AREA_LANES, *STATION_LANES]  # core/fastlane.py
