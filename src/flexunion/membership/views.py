"""Members as their readers see them: the member in full (masked), staff masked."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.membership import service
from flexunion.membership.models import EMPLOYMENT_FORMS, STATUSES, Member
from flexunion.membership.schemas import HomeRead, MemberRead, MembershipRead, PlatformLink
from flexunion.transfers import service as transfers
from flexunion.transfers.views import transfer_read


def _platforms(raw: list[dict[str, Any]]) -> list[PlatformLink]:
    return [PlatformLink(partner=p["partner"], platform_worker_id=p.get("platform_worker_id"))
            for p in raw]


def seniority_days(member: Member, today: date) -> int:
    """Continuous from the first admission, across every move of home."""
    return (today - member.member_since).days if member.member_since else 0


async def membership_read(session: AsyncSession, member: Member, today: date) -> MembershipRead:
    by_id = {e.id: e for e in (await service.directory(session, member.federation_id)).values()}
    history = [
        HomeRead(code=by_id[h.tenant_id].code, kind=by_id[h.tenant_id].kind,
                 name_zh=by_id[h.tenant_id].name_zh, name_en=by_id[h.tenant_id].name_en,
                 city=by_id[h.tenant_id].city, since=h.started_at, until=h.ended_at)
        for h in await service.homes(session, member.id)
    ]
    current = next(h for h in history if h.until is None)
    return MembershipRead(
        member_id=member.id, status=member.status,  # type: ignore[arg-type]
        status_zh=STATUSES[member.status], name_masked=member.name_masked,
        id_masked=member.id_masked, employment_form=member.employment_form,  # type: ignore[arg-type]
        employment_form_zh=EMPLOYMENT_FORMS[member.employment_form], city=member.city,
        home=current, member_no=member.member_no, member_since=member.member_since,
        seniority_days=seniority_days(member, today), platforms=_platforms(member.platforms),
        homes=history, decision_reason=member.decision_reason,
        transfers=[transfer_read(t, by_id) for t in await transfers.history(session, member.id)],
    )


def member_read(member: Member, codes_by_id: dict) -> MemberRead:
    return MemberRead(
        id=member.id, status=member.status, status_zh=STATUSES[member.status],  # type: ignore[arg-type]
        name_masked=member.name_masked, id_masked=member.id_masked,
        employment_form=member.employment_form, city=member.city,  # type: ignore[arg-type]
        home_code=codes_by_id.get(member.tenant_id, ""), member_no=member.member_no,
        member_since=member.member_since, platforms=_platforms(member.platforms),
        applied_at=member.created_at, decision_reason=member.decision_reason,
    )
