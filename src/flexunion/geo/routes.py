"""Every geo router, mounted as one."""

from __future__ import annotations

from litestar import Router

from flexunion.geo.area_routes import ROUTES as AREA_ROUTES
from flexunion.geo.census_routes import ROUTES as CENSUS_ROUTES
from flexunion.geo.checkin_routes import ROUTES as CHECKIN_ROUTES
from flexunion.geo.resolve_routes import ROUTES as RESOLVE_ROUTES
from flexunion.geo.station_routes import ROUTES as STATION_ROUTES

router = Router("/", route_handlers=[*RESOLVE_ROUTES, *AREA_ROUTES, *STATION_ROUTES,
                                     *CHECKIN_ROUTES, *CENSUS_ROUTES])
