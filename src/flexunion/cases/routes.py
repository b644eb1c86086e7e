"""需求清单 over HTTP, every case router mounted as one: the worker's own cases (/v1/me/cases),
the staff ledger and its steps (/v1/cases), the platforms' view and the 12351 work orders
(/v1/partner/cases), and the anonymous suggestion link (/v1/suggestions), each sub-package
serving its part of those paths under the `cases` tag; then the SLA clocks, the
rectification list, the figures, the disputes (争议处置), the referrals to mediation and
legal aid with the providers' own desk (机构端, /v1/provider) and the weekly review (周研判),
with tags of their own. Codes: docs/cases.md,
docs/disputes.md, docs/referrals.md, docs/weekly-review.md."""

from __future__ import annotations

from litestar import Router

from flexunion.cases.attachments.routes import router as attachments_router
from flexunion.cases.clocks.routes import router as clocks_router
from flexunion.cases.disputes.routes import router as disputes_router
from flexunion.cases.figures.routes import router as figures_router
from flexunion.cases.followup.routes import router as followup_router
from flexunion.cases.handling.routes import router as handling_router
from flexunion.cases.intake.routes import router as intake_router
from flexunion.cases.ledger.routes import router as ledger_router
from flexunion.cases.policies.routes import router as policies_router
from flexunion.cases.provider_desk.routes import router as provider_desk_router
from flexunion.cases.rectification.routes import router as rectification_router
from flexunion.cases.referrals.routes import router as referrals_router
from flexunion.cases.suggestions.routes import router as suggestions_router
from flexunion.cases.weekly.routes import router as weekly_router

router = Router("/", route_handlers=[
    Router("/", tags=["cases 需求清单"],
           route_handlers=[intake_router, ledger_router, handling_router, followup_router,
                           attachments_router, policies_router, suggestions_router]),
    clocks_router, rectification_router, figures_router, disputes_router, referrals_router,
    provider_desk_router, weekly_router,
])
