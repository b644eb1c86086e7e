"""Every contracts router, mounted as one."""

from __future__ import annotations

from litestar import Router

from flexunion.contracts.agreements.routes import router as agreements_router
from flexunion.contracts.checkpoints.routes import router as checkpoints_router
from flexunion.contracts.documents.routes import router as documents_router
from flexunion.contracts.templates.routes import router as templates_router

router = Router("/", route_handlers=[templates_router, agreements_router, documents_router,
                                        checkpoints_router])
