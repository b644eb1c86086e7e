"""The member's own view: membership, its homes over time and its transfers."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.federation import directory
from flexunion.me.schemas import MembershipRead
from flexunion.membership import service as membership
from flexunion.membership.models import EMPLOYMENT_FORMS, STATUSES, Member
from flexunion.membership.schemas import HomeRead, platform_links
from flexunion.transfers import service as transfers
from flexunion.transfers.schemas import transfer_read


def seniority_days(member: Member, today: date) -> int:
    """Continuous from the first admission, across every move of home."""
    return (today - member.member_since).days if member.member_since else 0


async def membership_read(session: AsyncSession, member: Member, today: date) -> MembershipRead:
    by_id = (await directory.directory(session, member.federation_id)).by_id
    history = [
        HomeRead(code=by_id[h.tenant_id].code, kind=by_id[h.tenant_id].kind,
                 name_zh=by_id[h.tenant_id].name_zh, name_en=by_id[h.tenant_id].name_en,
                 city=by_id[h.tenant_id].city, since=h.started_at, until=h.ended_at)
        for h in await membership.homes(session, member.id)
    ]
    current = next(h for h in history if h.until is None)
    return MembershipRead(
        member_id=member.id, status=member.status,
        status_zh=STATUSES[member.status], name_masked=member.name_masked,
        id_masked=member.id_masked, employment_form=member.employment_form,
        employment_form_zh=EMPLOYMENT_FORMS[member.employment_form], city=member.city,
        home=current, member_no=member.member_no, member_since=member.member_since,
        seniority_days=seniority_days(member, today), platforms=platform_links(member.platforms),
        homes=history, decision_reason=member.decision_reason,
        transfers=[transfer_read(t, by_id) for t in await transfers.history(session, member.id)],
    )
