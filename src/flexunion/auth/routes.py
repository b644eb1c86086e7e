"""Every login and token endpoint, by who logs in: workers (SMS code), staff (password or
OIDC), platform partners (OAuth2 client credentials, and the client's profile)."""

from __future__ import annotations

from litestar import Router

from flexunion.auth.partners.routes import router as partners
from flexunion.auth.staff.routes import router as staff
from flexunion.auth.workers.routes import router as workers

router = Router("/", route_handlers=[workers, staff, partners])
