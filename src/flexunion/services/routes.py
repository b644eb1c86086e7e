"""Every services router, mounted as one."""

from __future__ import annotations

from litestar import Router

from flexunion.services.applications.routes import router as applications_router
from flexunion.services.assistance.routes import router as assistance_router
from flexunion.services.catalogue.routes import router as catalogue_router
from flexunion.services.events.routes import router as events_router
from flexunion.services.groups.routes import router as groups_router
from flexunion.services.review.routes import router as review_router
from flexunion.services.triggers.routes import router as triggers_router

router = Router("/", route_handlers=[catalogue_router, applications_router, events_router,
                                     groups_router, assistance_router, triggers_router,
                                     review_router])
