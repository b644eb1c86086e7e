"""Every bargaining router, mounted as one.

The board takes a new item's reports and proposals through its `SourceIntake`; the
reports sub-package implements it (`INTAKE`), and this router hands it to the board's
handlers as the `intake` dependency: the board sits below the reports and cannot import
them."""

from __future__ import annotations

from litestar import Router
from litestar.di import Provide

from flexunion.bargaining.ballots.routes import router as ballots_router
from flexunion.bargaining.board.routes import router as board_router
from flexunion.bargaining.board.service import SourceIntake
from flexunion.bargaining.evidence.routes import router as evidence_router
from flexunion.bargaining.participation.routes import router as participation_router
from flexunion.bargaining.reports.routes import router as reports_router
from flexunion.bargaining.reports.service import INTAKE
from flexunion.bargaining.rounds.routes import router as rounds_router


def _intake() -> SourceIntake:
    return INTAKE


router = Router("/", dependencies={"intake": Provide(_intake, sync_to_thread=False)},
                route_handlers=[board_router, reports_router, rounds_router, ballots_router,
                                evidence_router, participation_router])
