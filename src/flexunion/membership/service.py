"""Online joining (线上入会) and the life of a membership.

applicant → active (approved) | rejected; active → suspended | parked (保留会籍) | left;
suspended / parked → active | left. Every change is audited in the same transaction.
A member's card status follows `status` through the federation's status list.

Other domains reach members only through here: `own_member` / `require_active` for the
calling worker, `access_member` for staff, `member_by_number`, `active_roll` (who may vote),
and `move_home` (the one way a member's home changes, used by transfers)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.config import Settings
from flexunion.consent import service as consent
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.core.secrets import Keyring
from flexunion.core.uow import UnitOfWork
from flexunion.db.scope import DbScope
from flexunion.federation import directory
from flexunion.federation.directory import Directory, DirectoryEntry
from flexunion.membership import repository
from flexunion.membership.identity import (
    ID_SEAL,
    demographics,
    mask_name,
    normalise_id,
    seal_identity,
)
from flexunion.membership.models import STATUSES, Member, MemberHome, MemberStatus
from flexunion.membership.schemas import JoinApplication

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
STATUS_LABELS = STATUSES  # status → its Chinese label, for other domains' messages


MemberHook = Callable[[AsyncSession, Member], Awaitable[None]]
_changed: dict[str, MemberHook] = {}


def on_member_changed(name: str, hook: MemberHook) -> None:
    """Register (at start-up) what a higher domain does in the same transaction when a
    member's status or home changes (the service groups re-evaluate the member)."""
    _changed[name] = hook


async def _run_changed(session: AsyncSession, member: Member) -> None:
    for hook in list(_changed.values()):
        await hook(session, member)


class MemberNotFound(NotFound):
    code, title, title_en = "member_not_found", "未找到该会员", "Member not found"


class NotAMember(NotFound):
    code, title, title_en = "not_a_member", "尚未入会", "Not a member"


def not_a_member() -> NotAMember:
    return NotAMember("你还没有会籍，请先申请入会。", "You have no membership yet; apply first.")


# ---- the calling worker -------------------------------------------------------------------


async def own_member(session: AsyncSession, caller: Caller, *, lock: bool = False) -> Member | None:
    """The calling worker's live membership in its federation, if any."""
    return await repository.own(session, uuid.UUID(caller.subject), caller.tenant_id, lock=lock)


async def require_active(session: AsyncSession, caller: Caller) -> Member:
    """The calling worker's membership, which must be active: 403 `membership_required` for a
    worker who is not a member, 403 `member_not_active` (with `member_status`) otherwise."""
    member = await own_member(session, caller)
    if member is None:
        raise Forbidden("只有工会会员可以这样做，请先入会。",
                        "Only a union member can do this; join first.", code="membership_required")
    if member.status != "active":
        label = STATUS_LABELS[member.status]
        raise Forbidden(f"你的会籍状态为「{label}」，只有正常会员可以这样做。",
                        f"Your membership is '{member.status}'; only an active member can do this.",
                        code="member_not_active", extra={"member_status": member.status})
    return member


async def apply(
    uow: UnitOfWork, keyring: Keyring, clock: Clock, settings: Settings, caller: Caller,
    data: JoinApplication,
) -> Member:
    """线上入会申请: needs the current join consents, a valid resident ID of a person not yet
    a member in this federation, and a regional union or station to join."""
    session = uow.session
    await consent.require_for_join(session, caller, settings)
    today = clock.now().date()
    number = normalise_id(data.id_number, today)
    fed_id = caller.tenant_id
    tenants = await directory.directory(session, fed_id)
    target = tenants.get(data.join)
    if target is None or target.kind not in ("regional", "station"):
        raise InvalidInput(f"{data.join} 不是本联合会的区域工会或站点。",
                           f"'{data.join}' is not a regional union or station of this federation.",
                           code="join_target_invalid")
    await directory.check_partners(session, fed_id, (p.partner for p in data.platforms))
    if await own_member(session, caller) is not None:
        raise Conflict("你已有会籍或入会申请。",
                       "You already have a membership or an application here.",
                       code="already_applied")
    member = Member(
        id=uuid.uuid4(), federation_id=fed_id, tenant_id=target.id,
        worker_id=uuid.UUID(caller.subject), employment_form=data.employment_form,
        platforms=[{"partner": p.partner, "platform_worker_id": p.platform_worker_id}
                   for p in data.platforms],
        city=data.city.strip(), status="applicant",
        status_idx=await repository.next_status_idx(session, fed_id),
        **seal_identity(keyring, number, data.real_name), **demographics(number),
    )
    try:
        async with session.begin_nested():
            repository.add(session, member)
            await repository.flush(session)
    except IntegrityError as exc:
        # The same person holds a membership elsewhere in the federation. Say no more than
        # that: which tenant holds them is not the applicant's (or anyone's) business here.
        raise Conflict("此申请无法在线受理，请联系你所在的工会。",
                       "This application cannot be accepted online; please contact your union.",
                       code="application_not_possible") from exc
    repository.add(session, MemberHome(id=uuid.uuid4(), member_id=member.id,
                                       federation_id=fed_id, tenant_id=target.id))
    await repository.flush(session)
    await audit.record(session, "membership.applied", tenant_id=target.id, object_type="member",
                       object_id=member.id, payload={"join": target.code,
                                                     "employment_form": data.employment_form})
    if _auto_approves(tenants, target):
        worker_scope = uow.scope
        await uow.rescope(DbScope(target.id, "system:auto-approve", worker_scope.request_id))
        await change_status(session, clock, member.id, "active",
                            "auto-approved by the union's rule")
        await uow.rescope(worker_scope)
    return member


def _auto_approves(tenants: Directory, target: DirectoryEntry) -> bool:
    if target.auto_approve_joins:
        return True
    parent = tenants.get(target.parent_code or "")
    return bool(target.kind == "station" and parent and parent.auto_approve_joins)


# ---- staff ----------------------------------------------------------------------------------


async def access_member(
    session: AsyncSession, member_id: uuid.UUID, *, lock: bool = False, home_only: bool = False
) -> Member:
    """Not there and not in my subtree are the same 404. `home_only`: the member's home must
    be in the caller's subtree (a destination sees a member released to it, but may not
    change it before the transfer completes)."""
    member = await repository.get(session, member_id, lock=lock, home_in_scope=home_only)
    if member is None:
        raise MemberNotFound("没有这位会员，或不在你的管辖范围内。", "No such member.")
    return member


async def member_by_number(session: AsyncSession, federation_id: uuid.UUID,
                           member_no: str) -> Member | None:
    """A member of the federation by 会员号, as far as the caller may see."""
    return await repository.by_number(session, federation_id, member_no)


async def member_for_hotline(session: AsyncSession, federation_id: uuid.UUID,
                             member_no: str) -> tuple[uuid.UUID, uuid.UUID, str, str] | None:
    """A member by 会员号 for the registered 12351 platform calling: (id, worker id, status,
    masked name). Any other partner gets None."""
    return await repository.for_hotline(session, federation_id, member_no)


async def member_by_card(session: AsyncSession, federation_id: uuid.UUID,
                         member_id: uuid.UUID) -> tuple[uuid.UUID, str] | None:
    """(worker id, status now) of the member named by a card the cards service verified,
    wherever in the federation they are homed; staff who check cards only."""
    return await repository.card_member(session, federation_id, member_id)


async def member_numbers(session: AsyncSession,
                         member_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """会员号 by member id, for the members the caller may see (others are left out)."""
    return await repository.numbers(session, member_ids)


async def member_labels(session: AsyncSession, member_ids: Iterable[uuid.UUID]
                        ) -> dict[uuid.UUID, tuple[str | None, str]]:
    """(会员号, masked name) by member id, for the members the caller may see (others are left
    out: a filing station does not see a member homed in another region)."""
    return await repository.labels(session, member_ids)


async def change_status(
    session: AsyncSession, clock: Clock, member_id: uuid.UUID, to: MemberStatus,
    reason: str | None,
    *, only_from: frozenset[str] | None = None,
) -> Member:
    member = await access_member(session, member_id, lock=True, home_only=True)
    if to not in TRANSITIONS[member.status] or (only_from and member.status not in only_from):
        raise Conflict(f"会籍状态「{STATUS_LABELS[member.status]}」"
                       f"不能变为「{STATUS_LABELS[to]}」。",
                       f"A member who is '{member.status}' cannot become '{to}'.",
                       code="invalid_transition", extra={"from": member.status, "to": to})
    if to == "rejected" and not reason:
        raise InvalidInput("驳回入会申请须写明理由。", "A rejection needs a reason.",
                           code="reason_required")
    before = member.status
    now = clock.now()
    if before == "applicant" and to == "active":
        seq = await repository.next_member_no(session, member.federation_id)
        member.member_no = f"{now.year}{seq:08d}"
        member.member_since = now.date()
    if before == "applicant":
        member.decided_at = now
    member.status = to
    member.decision_reason = reason
    await repository.flush(session)
    await audit.record(session, ACTIONS[to], tenant_id=member.tenant_id, object_type="member",
                       object_id=member.id,
                       payload={"from": before, "to": to, "reason": reason,
                                "member_no": member.member_no})
    await _run_changed(session, member)
    return member


async def homes(session: AsyncSession, member_id: uuid.UUID) -> Sequence[MemberHome]:
    return await repository.homes(session, member_id)


async def page(
    session: AsyncSession, *, status: str | None, after: tuple[datetime, uuid.UUID] | None,
    limit: int, name: str | None = None,
) -> Sequence[Member]:
    """Oldest first; `name`: only members whose masked name it can be (`masked_forms`)."""
    masked = masked_forms(name) if name else None
    return await repository.page(session, status=status, after=after, limit=limit,
                                 masked_names=masked)


MASKED_MAX = 9  # asterisks a surname search tries (names of up to 10 characters)


def masked_forms(query: str) -> list[str]:
    """The masked names (as staff see them: 张三 → 张*) a search can match: typed with
    asterisks, exactly that (张**); a whole name, its mask (张三 → 张*); one character, every
    length (张*, 张**, …). Names are never stored in the clear, so nothing finer exists."""
    q = query.strip()
    if not q:
        return []
    if "*" in q:
        return [q[:1] + "*" * max(len(q) - 1, 1)]
    if len(q) > 1:
        return [mask_name(q)]
    return [q + "*" * k for k in range(1, MASKED_MAX + 1)]


# ---- for other domains ----------------------------------------------------------------------


async def active_roll(session: AsyncSession, federation_id: uuid.UUID,
                      tenant_ids: Iterable[uuid.UUID]) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(member id, worker id) of everyone active now whose home is one of `tenant_ids`:
    the roll of a ballot, frozen by the caller."""
    return await repository.active_in(session, federation_id, tenant_ids)


async def members_in_federation(session: AsyncSession, federation_id: uuid.UUID, *,
                                ids: Sequence[uuid.UUID] | None = None,
                                after: uuid.UUID | None = None,
                                limit: int = 1000) -> Sequence[Member]:
    """Members by id (those of `ids`, or a chunk after `after`), as far as the caller sees."""
    return await repository.in_federation(session, federation_id, ids=ids, after=after,
                                          limit=limit)


async def backfill_demographics(session: AsyncSession, keyring: Keyring, *,
                                chunk: int = 500) -> int:
    """Members joined before birth month and sex were kept: derive them from the sealed ID
    (opened here, never stored again or logged); how many were filled. An operator command."""
    filled = 0
    after: uuid.UUID | None = None
    while True:
        members = await repository.without_demographics(session, after=after, limit=chunk)
        if not members:
            return filled
        for member in members:
            number = keyring.open(ID_SEAL, member.id_cipher).decode()
            derived = demographics(number)
            member.birth_month = derived["birth_month"]  # type: ignore[assignment]
            member.sex = derived["sex"]  # type: ignore[assignment]
            filled += 1
        await repository.flush(session)
        after = members[-1].id


async def move_home(session: AsyncSession, member: Member, to_tenant_id: uuid.UUID, *,
                    transfer_id: uuid.UUID, at: datetime) -> None:
    """The member's home becomes `to_tenant_id` (locked member, inside the caller's
    transaction): the open home closes and a new one opens; PostgreSQL checks at commit that
    exactly one is open and that it is the member's tenant. Seniority is untouched."""
    member.tenant_id = to_tenant_id
    await repository.flush(session)
    await repository.close_open_home(session, member.id, at)
    repository.add(session, MemberHome(id=uuid.uuid4(), member_id=member.id,
                                       federation_id=member.federation_id, tenant_id=to_tenant_id,
                                       transfer_id=transfer_id, started_at=at))
    await repository.flush(session)
    await _run_changed(session, member)



