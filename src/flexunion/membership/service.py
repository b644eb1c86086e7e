"""Online joining (线上入会) and the life of a membership.

applicant → active (approved) | rejected; active → suspended | parked (保留会籍) | left;
suspended / parked → active | left. Every change is audited in the same transaction.
A member's card status follows `status` through the federation's status list."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.auth.models import WorkerAccount
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, InvalidInput, NotFound
from flexunion.core.secrets import Keyring
from flexunion.core.uow import UnitOfWork
from flexunion.db.scope import DbScope
from flexunion.membership.identity import normalise_id, seal_identity
from flexunion.membership.models import Member, MemberHome, WorkerConsent
from flexunion.membership.schemas import ConsentCreate, JoinApplication

TRANSITIONS: dict[str, frozenset[str]] = {
    "applicant": frozenset({"active", "rejected"}),
    "active": frozenset({"suspended", "parked", "left"}),
    "suspended": frozenset({"active", "left"}),
    "parked": frozenset({"active", "left"}),
    "left": frozenset(),
    "rejected": frozenset(),
}
ACTIONS = {"active": "membership.approved", "rejected": "membership.rejected",
           "suspended": "membership.suspended", "parked": "membership.parked",
           "left": "membership.left"}
LIVE = ("applicant", "active", "suspended", "parked")


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    id: uuid.UUID
    code: str
    kind: str
    name_zh: str
    name_en: str
    city: str | None
    parent_code: str | None
    partner_code: str | None
    auto_approve_joins: bool


async def directory(session: AsyncSession, federation_id: uuid.UUID) -> dict[str, DirectoryEntry]:
    """The federation's public directory (names, kinds, cities), for anyone in it."""
    rows = (await session.execute(text("SELECT * FROM flexunion_directory(:f)"),
                                  {"f": federation_id})).mappings().all()
    return {r["code"]: DirectoryEntry(**r) for r in rows}


async def me(session: AsyncSession, caller: Caller) -> WorkerAccount:
    worker = await session.get(WorkerAccount, uuid.UUID(caller.subject))
    if worker is None:
        raise NotFound("No such worker account.", code="worker_not_found")
    return worker


async def own_member(session: AsyncSession, caller: Caller, *, lock: bool = False) -> Member | None:
    stmt = select(Member).where(Member.worker_id == uuid.UUID(caller.subject),
                                Member.federation_id == caller.tenant_id,
                                Member.status != "rejected")
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def apply(
    uow: UnitOfWork, keyring: Keyring, clock: Clock, caller: Caller, data: JoinApplication
) -> Member:
    session = uow.session
    today = clock.now().date()
    number = normalise_id(data.id_number, today)
    fed_id = caller.tenant_id
    tenants = await directory(session, fed_id)
    target = tenants.get(data.join)
    if target is None or target.kind not in ("regional", "station"):
        raise InvalidInput(f"'{data.join}' is not a regional union or station of this federation.",
                           code="join_target_invalid")
    unknown = sorted({p.partner for p in data.platforms} - _partner_codes(tenants))
    if unknown:
        raise InvalidInput(f"Unknown platform partner(s): {', '.join(unknown)}.",
                           code="platform_unknown")
    if await own_member(session, caller) is not None:
        raise Conflict("You already have a membership or an application here.",
                       code="already_applied")
    member = Member(
        id=uuid.uuid4(), federation_id=fed_id, tenant_id=target.id,
        worker_id=uuid.UUID(caller.subject), employment_form=data.employment_form,
        platforms=[{"partner": p.partner, "platform_worker_id": p.platform_worker_id}
                   for p in data.platforms],
        city=data.city.strip(), status="applicant",
        status_idx=await session.scalar(text("SELECT flexunion_next_status_idx(:f)"), {"f": fed_id}),
        **seal_identity(keyring, number, data.real_name),
    )
    try:
        async with session.begin_nested():
            session.add(member)
            await session.flush()
    except IntegrityError as exc:
        # The same person holds a membership elsewhere in the federation. Say no more than
        # that: which tenant holds them is not the applicant's (or anyone's) business here.
        raise Conflict("This application cannot be accepted online; please contact your union.",
                       code="application_not_possible") from exc
    session.add(MemberHome(id=uuid.uuid4(), member_id=member.id, federation_id=fed_id,
                           tenant_id=target.id))
    await session.flush()
    await audit.record(session, "membership.applied", tenant_id=target.id, object_type="member",
                       object_id=member.id, payload={"join": target.code,
                                                     "employment_form": data.employment_form})
    if _auto_approves(tenants, target):
        worker_scope = uow.scope
        await uow.rescope(DbScope(target.id, "system:auto-approve", worker_scope.request_id))
        await change_status(session, clock, member.id, "active", "auto-approved by the union's rule")
        await uow.rescope(worker_scope)
    return member


def _partner_codes(tenants: dict[str, DirectoryEntry]) -> set[str]:
    return {t.partner_code for t in tenants.values() if t.partner_code}


def _auto_approves(tenants: dict[str, DirectoryEntry], target: DirectoryEntry) -> bool:
    if target.auto_approve_joins:
        return True
    parent = tenants.get(target.parent_code or "")
    return bool(target.kind == "station" and parent and parent.auto_approve_joins)


async def access_member(
    session: AsyncSession, member_id: uuid.UUID, *, lock: bool = False, home_only: bool = False
) -> Member:
    """Not there and not in my subtree are the same 404. `home_only`: the member's home must
    be in the caller's subtree (a destination sees a member released to it, but may not
    change it before the transfer completes)."""
    stmt = select(Member).where(Member.id == member_id)
    if home_only:
        stmt = stmt.where(Member.tenant_id == func.any(func.flexunion_tenant_scope()))
    if lock:
        stmt = stmt.with_for_update()
    member = await session.scalar(stmt)
    if member is None:
        raise NotFound("No such member.", code="member_not_found")
    return member


async def change_status(
    session: AsyncSession, clock: Clock, member_id: uuid.UUID, to: str, reason: str | None,
    *, only_from: frozenset[str] | None = None,
) -> Member:
    member = await access_member(session, member_id, lock=True, home_only=True)
    if to not in TRANSITIONS[member.status] or (only_from and member.status not in only_from):
        raise Conflict(f"A member who is '{member.status}' cannot become '{to}'.",
                       code="invalid_transition", extra={"from": member.status, "to": to})
    if to == "rejected" and not reason:
        raise InvalidInput("A rejection needs a reason.", code="reason_required")
    before = member.status
    now = clock.now()
    if before == "applicant" and to == "active":
        seq = await session.scalar(text("SELECT flexunion_next_member_no(:f)"),
                                   {"f": member.federation_id})
        member.member_no = f"{now.year}{seq:08d}"
        member.member_since = now.date()
    if before == "applicant":
        member.decided_at = now
    member.status = to
    member.decision_reason = reason
    await session.flush()
    await audit.record(session, ACTIONS[to], tenant_id=member.tenant_id, object_type="member",
                       object_id=member.id,
                       payload={"from": before, "to": to, "reason": reason,
                                "member_no": member.member_no})
    return member


async def homes(session: AsyncSession, member_id: uuid.UUID) -> Sequence[MemberHome]:
    return (await session.scalars(select(MemberHome).where(MemberHome.member_id == member_id)
                                  .order_by(MemberHome.started_at, MemberHome.id))).all()


async def page(
    session: AsyncSession, *, status: str | None, after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Member]:
    stmt = select(Member).order_by(Member.created_at, Member.id).limit(limit)
    if status:
        stmt = stmt.where(Member.status == status)
    if after:
        stmt = stmt.where(tuple_(Member.created_at, Member.id) > tuple_(*after))
    return (await session.scalars(stmt)).all()


async def record_consent(session: AsyncSession, caller: Caller, data: ConsentCreate) -> WorkerConsent:
    worker = await me(session, caller)
    consent = WorkerConsent(
        id=uuid.uuid4(), tenant_id=worker.tenant_id, worker_id=worker.id,
        purpose=data.purpose, version=data.version, granted=data.granted,
    )
    session.add(consent)
    await session.flush()
    await audit.record(
        session, "worker.consent_recorded", tenant_id=worker.tenant_id,
        object_type="worker_consent", object_id=consent.id,
        payload={"purpose": data.purpose, "version": data.version, "granted": data.granted},
    )
    if data.purpose == "location_checkin" and not data.granted:
        from flexunion.geo import checkins  # geo depends on membership, not the reverse

        await checkins.consent_withdrawn(session, caller)  # erases check-ins at once
    await session.refresh(consent)
    return consent


async def consents(session: AsyncSession, caller: Caller) -> Sequence[WorkerConsent]:
    stmt = (
        select(WorkerConsent)
        .where(WorkerConsent.worker_id == uuid.UUID(caller.subject))
        .order_by(WorkerConsent.created_at.desc(), WorkerConsent.id)
    )
    return (await session.scalars(stmt)).all()
