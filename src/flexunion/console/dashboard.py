"""待办: what waits for me — cases my unit is to accept (待接单), returned cases (退回件),
cases with a clock past its deadline (超期件) and clocks escalated to my unit (督办),
applications to decide, transfers awaiting my release (with the
day they release themselves) or my acceptance, ballots open, promised data overdue, and
stations without this week's check. Each list is what the API would give my role, by the
same services under the same row-level security."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.ballots import service as ballots
from flexunion.bargaining.rounds import service as rounds
from flexunion.cases.clocks import rules as clock_rules
from flexunion.cases.clocks import service as clocks
from flexunion.cases.disputes import codes as dispute_codes
from flexunion.cases.ledger import service as cases
from flexunion.console.menus import HOTLINE, UNIONS
from flexunion.console.render import html, see_other
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.geo.stations import service as stations
from flexunion.membership import service as membership
from flexunion.transfers import schemas as transfer_views
from flexunion.transfers import service as transfers

SHOWN = 10  # per list; the list's own page has the rest


@get("/", include_in_schema=False)
async def dashboard(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                    caller: NamedDependency[Caller],
                    clock: NamedDependency[Clock]) -> Response[str]:
    if caller.role is HOTLINE:  # a 12351 operator has the ledger only
        return see_other("/console/cases")
    now = clock.now()
    to_take = await cases.reads(session, await cases.awaiting_acceptance(
        session, caller, limit=SHOWN + 1), audience="staff")
    returned = await cases.reads(session, await cases.ledger(
        session, status="returned", route=None, category=None, channel=None, after=None,
        limit=SHOWN + 1), audience="staff")
    # 超期件 (open clocks past their deadline in my scope) and 督办 (escalated to my unit or a
    # unit under it: the same list as its page and GET /v1/cases/escalated).
    late = await clocks.overdue(session, now, after=None, limit=SHOWN + 1)
    late_cases = await clocks.cases_of(session, late)
    overdue_cases = [(row, late_cases[row.case_id]) for row in late]
    escalations, escalated_cases = await clocks.escalated_to_my_subtree(
        session, after=None, limit=SHOWN + 1)
    escalated = [(e, escalated_cases[e.case_id]) for e in escalations]
    applicants = await membership.page(session, status="applicant", after=None,
                                       limit=SHOWN + 1)
    union = caller.role in UNIONS
    to_release: list[Any] = []
    to_accept: list[Any] = []
    open_ballots: list[Any] = []
    overdue: list[Any] = []
    if union:
        outgoing = await transfers.queue(session, direction="outgoing", status="requested",
                                         after=None, limit=SHOWN + 1)
        incoming = await transfers.queue(session, direction="incoming", status="released",
                                         after=None, limit=SHOWN + 1)
        rows = [*outgoing, *incoming]
        if rows:
            by_id = await transfers.tenants_by_id(session, rows[0].federation_id)
            to_release = [transfer_views.admin_read(t, by_id) for t in outgoing]
            to_accept = [transfer_views.admin_read(t, by_id) for t in incoming]
        open_ballots = list(await ballots.open_ballots(session, limit=SHOWN + 1))
        overdue = list(await rounds.list_promises(
            session, caller, today=rounds.beijing_today(now), overdue=True, partner=None,
            item_id=None, offset=0, limit=SHOWN + 1))
    week = stations.week_for(None, now)
    missing = await stations.missing_checks(session, caller, week=week, tenant=None,
                                            after=None, limit=SHOWN + 1)
    return html(request, "dashboard.html", menu="dashboard", shown=SHOWN, now=now,
                to_take=to_take, returned=returned, applicants=applicants,
                overdue_cases=overdue_cases, escalated=escalated,
                metrics=clock_rules.METRICS | dispute_codes.DEADLINES,
                to_release=to_release, to_accept=to_accept,
                ballots=open_ballots, overdue=overdue, missing=missing, week=week)


router = Router("/", route_handlers=[dashboard])
