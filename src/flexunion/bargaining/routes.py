"""Every bargaining router, mounted as one."""

from __future__ import annotations

from litestar import Router

from flexunion.bargaining.attachment_routes import ROUTES as ATTACHMENT_ROUTES
from flexunion.bargaining.ballot_routes import ROUTES as BALLOT_ROUTES
from flexunion.bargaining.board_routes import ROUTES as BOARD_ROUTES
from flexunion.bargaining.item_routes import ROUTES as AGENDA_ADMIN_ROUTES
from flexunion.bargaining.partner_routes import ROUTES as AGENDA_PARTNER_ROUTES
from flexunion.bargaining.report_routes import ROUTES as REPORT_ROUTES
from flexunion.bargaining.round_routes import ROUTES as ROUND_ROUTES

router = Router("/", route_handlers=[*REPORT_ROUTES, *AGENDA_ADMIN_ROUTES, *BOARD_ROUTES,
                                     *BALLOT_ROUTES, *ROUND_ROUTES, *AGENDA_PARTNER_ROUTES,
                                     *ATTACHMENT_ROUTES])
