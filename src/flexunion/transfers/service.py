"""Cross-city relationship transfer (异地关系接转).

    requested ──release (origin, or automatically after N working days)──▶ released
    released ──accept (destination)──▶ completed     (accepted and completed in one transaction)
    requested / released ──reject (origin while requested; destination while open)──▶ rejected
    requested / released ──cancel (the worker)──▶ cancelled

Accepting moves the home in one transaction: the transfer row is locked and re-checked,
members.tenant_id changes, the open member_homes row is closed and a new one opened
(PostgreSQL checks at commit that exactly one home is open and that it is the member's
tenant), member_since is left alone (seniority is continuous), the outbox gets
`member.transferred`, and the audit trail gets `transfer.accepted`.

The release deadline (`release_due_at`) is the end of the N-th working day after the
request on the origin's working calendar (calendars.service.deadline_after: the origin is
the side that must answer, so its region's local days count); the years it reached that the
calendar does not cover are kept in `release_due_uncovered_years` and shown as a warning.

Row-level security decides who sees a transfer at all (its two sides and the worker);
everyone else gets the same 404 as for an id that never existed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.calendars import service as calendars
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.core.events import emit
from flexunion.federation import directory
from flexunion.federation.directory import DirectoryEntry
from flexunion.membership import service as membership
from flexunion.membership.models import EMPLOYMENT_FORMS, STATUSES, Member
from flexunion.transfers import repository as repo
from flexunion.transfers.models import OPEN, Transfer
from flexunion.transfers.models import STATUSES as TRANSFER_STATUSES

TRANSFERABLE = ("active", "parked")
EVENT_TRANSFERRED = "member.transferred"


class TransferNotFound(NotFound):
    code, title, title_en = "transfer_not_found", "未找到该接转申请", "Transfer not found"


class InvalidTransferState(Conflict):
    code, title = "invalid_transfer_state", "接转状态不允许此操作"
    title_en = "Invalid transfer state"


async def tenants_by_id(
    session: AsyncSession, federation_id: uuid.UUID
) -> dict[uuid.UUID, DirectoryEntry]:
    """The federation's directory by tenant id (names of both sides, for any reader)."""
    return (await directory.directory(session, federation_id)).by_id


_STEPS = {"released": ("转出", "released"), "rejected": ("驳回", "rejected"),
          "accepted": ("接收", "accepted"), "cancelled": ("撤回", "cancelled")}


def _invalid(transfer: Transfer, step: str) -> InvalidTransferState:
    zh, en = _STEPS[step]
    return InvalidTransferState(
        f"状态为「{TRANSFER_STATUSES[transfer.status]}」的接转申请不能{zh}。",
        f"A transfer that is '{transfer.status}' cannot be {en}.",
        extra={"transfer_status": transfer.status})


# ---- the worker ------------------------------------------------------------------------


async def request(
    session: AsyncSession, caller: Caller, *, to: str, reason: str | None, now: datetime,
    release_days: int,
) -> Transfer:
    """申请异地接转: the member asks to move home to a union or station in another region."""
    member = await membership.own_member(session, caller)
    if member is None:
        raise membership.not_a_member()
    tenants = await directory.directory(session, member.federation_id)
    target = tenants.get(to)
    if target is None or target.kind not in ("regional", "station"):
        raise InvalidInput(f"{to} 不是本联合会的区域工会或站点。",
                           f"'{to}' is not a regional union or station of this federation.",
                           code="transfer_target_invalid")
    home = tenants.by_id[member.tenant_id]
    if tenants.region_of(home) == tenants.region_of(target):
        raise InvalidInput("同一区域工会内的调动不是异地接转，请联系工会调整站点。",
                           "A move within one regional union is not a cross-city transfer;"
                           " ask your union to change your station.", code="transfer_same_region")
    if member.status not in TRANSFERABLE:
        raise _not_transferable(member)
    if any(t.status in OPEN for t in await repo.for_member(session, member.id)):
        raise _already_open()
    # The origin is the side that must answer, so its calendar (the federation's days with
    # its region's local days) counts the N working days.
    due = await calendars.deadline_after(session, member.tenant_id, now, max(0, release_days),
                                         federation_id=member.federation_id)
    transfer = Transfer(
        id=uuid.uuid4(), federation_id=member.federation_id, member_id=member.id,
        worker_id=member.worker_id, origin_tenant_id=member.tenant_id, dest_tenant_id=target.id,
        status="requested", reason=reason, auto_released=False, requested_at=now,
        release_due_at=due.at, release_due_uncovered_years=sorted(due.uncovered_years),
        snapshot=_snapshot(member),
    )
    try:
        async with session.begin_nested():
            repo.add(session, transfer)
            await repo.flush(session)
    except IntegrityError as exc:  # a concurrent request of the same member won the race
        raise _already_open() from exc
    await audit.record(session, "transfer.requested", tenant_id=transfer.origin_tenant_id,
                       object_type="transfer", object_id=transfer.id,
                       payload={"member_id": str(member.id), "from": home.code, "to": target.code,
                                "reason": reason,
                                "release_due_at": transfer.release_due_at.isoformat(),
                                "release_due_uncovered_years":
                                    transfer.release_due_uncovered_years})
    return transfer


def _already_open() -> Conflict:
    return Conflict("你已有一个进行中的接转申请，请先撤回。",
                    "You already have a transfer in progress; cancel it first.",
                    code="transfer_already_open")


def _not_transferable(member: Member) -> Conflict:
    return Conflict(f"会籍状态为「{STATUSES[member.status]}」，不能办理接转。",
                    f"A membership that is '{member.status}' cannot be transferred.",
                    code="member_not_transferable", extra={"member_status": member.status})


def _snapshot(member: Member) -> dict[str, Any]:
    return {
        "name_masked": member.name_masked, "id_masked": member.id_masked,
        "member_no": member.member_no,
        "member_since": member.member_since.isoformat() if member.member_since else None,
        "employment_form": member.employment_form,
        "employment_form_zh": EMPLOYMENT_FORMS[member.employment_form],
        "status": member.status,
        "platforms": [{"partner": p["partner"], "platform_worker_id": p.get("platform_worker_id")}
                      for p in member.platforms],
    }


async def mine(session: AsyncSession, caller: Caller) -> Sequence[Transfer]:
    """The worker's transfers, newest first."""
    return await repo.for_worker(session, uuid.UUID(caller.subject), caller.tenant_id)


async def own_transfer(
    session: AsyncSession, caller: Caller, transfer_id: uuid.UUID, *, lock: bool = False
) -> Transfer:
    transfer = await repo.get(session, transfer_id, lock=lock)
    if (transfer is None or str(transfer.worker_id) != caller.subject
            or transfer.federation_id != caller.tenant_id):
        raise TransferNotFound("没有这条接转申请。", "No such transfer.")
    return transfer


async def cancel(
    session: AsyncSession, caller: Caller, transfer_id: uuid.UUID, *, reason: str | None,
    now: datetime,
) -> Transfer:
    """撤回: the worker withdraws an open transfer (not after completion)."""
    transfer = await own_transfer(session, caller, transfer_id, lock=True)
    if transfer.status not in OPEN:
        raise _invalid(transfer, "cancelled")
    before = transfer.status
    transfer.status = "cancelled"
    transfer.closed_at = now
    await repo.flush(session)
    await audit.record(session, "transfer.cancelled", tenant_id=transfer.origin_tenant_id,
                       object_type="transfer", object_id=transfer.id,
                       payload={"member_id": str(transfer.member_id), "from": before,
                                "reason": reason})
    return transfer


async def has_open(session: AsyncSession, member_id: uuid.UUID) -> bool:
    """Is one of the member's transfers still requested or released?"""
    return any(t.status in OPEN for t in await repo.for_member(session, member_id))


async def history(session: AsyncSession, member_id: uuid.UUID) -> Sequence[Transfer]:
    """A member's transfers, newest first (for 我的会籍)."""
    return await repo.for_member(session, member_id)


async def completed_moves(session: AsyncSession,
                          member_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[datetime]]:
    """When each of these members' transfers completed (one query for all of them: the
    service groups' cross-city rule reads it for a chunk of members at a time)."""
    out: dict[uuid.UUID, list[datetime]] = {}
    for member_id, completed_at in await repo.completed_for(session, member_ids):
        out.setdefault(member_id, []).append(completed_at)
    return out


# ---- staff of either side ---------------------------------------------------------------


async def access_transfer(
    session: AsyncSession, transfer_id: uuid.UUID, *, lock: bool = False
) -> Transfer:
    """Not there and not one of my sides are the same 404."""
    transfer = await repo.get(session, transfer_id, lock=lock)
    if transfer is None:
        raise TransferNotFound("没有这条接转申请，或不在你的管辖范围内。", "No such transfer.")
    return transfer


async def sides(session: AsyncSession, transfer: Transfer) -> tuple[bool, bool]:
    """(origin, destination): which sides of the transfer are in the caller's subtree (both
    for HQ) — what the console offers to do on it."""
    return await repo.sides(session, transfer)


async def queue(
    session: AsyncSession, *, direction: str | None, status: str | None,
    after: tuple[datetime, uuid.UUID] | None, limit: int,
) -> Sequence[Transfer]:
    return await repo.page(session, direction=direction, status=status, after=after, limit=limit)


async def release(session: AsyncSession, transfer_id: uuid.UUID, *, now: datetime) -> Transfer:
    """转出方同意: the origin lets the member go; the destination may now see and accept."""
    transfer = await access_transfer(session, transfer_id, lock=True)
    origin, _ = await repo.sides(session, transfer)
    if not origin:
        raise _wrong_side("只有转出方可以同意转出。",
                          "Only the origin (转出方) releases a transfer.")
    if transfer.status != "requested":
        raise _invalid(transfer, "released")
    await mark_released(session, transfer, now=now, auto=False)
    return transfer


async def mark_released(session: AsyncSession, transfer: Transfer, *, now: datetime,
                        auto: bool) -> None:
    """Shared by the origin's release and the auto-release job (the row is locked)."""
    transfer.status = "released"
    transfer.released_at = now
    transfer.auto_released = auto
    await repo.flush(session)
    await audit.record(session, "transfer.released", tenant_id=transfer.origin_tenant_id,
                       object_type="transfer", object_id=transfer.id,
                       payload={"member_id": str(transfer.member_id), "auto": auto,
                                "release_due_at": transfer.release_due_at.isoformat()})


async def reject(
    session: AsyncSession, transfer_id: uuid.UUID, *, reason: str, now: datetime
) -> Transfer:
    """驳回, with a reason. The origin may reject while it has not released; the destination
    while the transfer is open. A caller on both sides (HQ) answers for the side whose turn
    it is."""
    transfer = await access_transfer(session, transfer_id, lock=True)
    origin, destination = await repo.sides(session, transfer)
    if transfer.status == "requested":
        side = "origin" if origin else "destination"
    elif transfer.status == "released" and destination:
        side = "destination"
    else:
        raise _invalid(transfer, "rejected")
    before = transfer.status
    transfer.status = "rejected"
    transfer.reject_reason = reason
    transfer.rejected_by = side
    transfer.closed_at = now
    await repo.flush(session)
    tenant = transfer.origin_tenant_id if side == "origin" else transfer.dest_tenant_id
    await audit.record(session, "transfer.rejected", tenant_id=tenant, object_type="transfer",
                       object_id=transfer.id,
                       payload={"member_id": str(transfer.member_id), "by": side, "from": before,
                                "reason": reason})
    return transfer


async def accept(session: AsyncSession, transfer_id: uuid.UUID, *, now: datetime) -> Transfer:
    """转入方接收, completing the move in this one transaction (see the module docstring).
    The transfer row is locked first: a second, concurrent accept waits here and then finds
    the transfer completed (409)."""
    transfer = await access_transfer(session, transfer_id, lock=True)
    _, destination = await repo.sides(session, transfer)
    if not destination:
        raise _wrong_side("只有转入方可以接收。",
                          "Only the destination (转入方) accepts a transfer.")
    if transfer.status != "released":
        raise _invalid(transfer, "accepted")
    # Visible to the destination now only because the transfer to it is 'released': move the
    # member before the transfer leaves that state (the members UPDATE policy reads it).
    member = await membership.access_member(session, transfer.member_id, lock=True)
    if member.status not in TRANSFERABLE:
        raise _not_transferable(member)
    if member.tenant_id != transfer.origin_tenant_id:
        raise InvalidTransferState("会员的所属组织已不是本次接转的转出方。",
                                   "The member's home is no longer the transfer's origin.",
                                   extra={"transfer_status": transfer.status})
    await membership.move_home(session, member, transfer.dest_tenant_id, transfer_id=transfer.id,
                               at=now)
    transfer.status = "completed"
    transfer.accepted_at = transfer.completed_at = transfer.closed_at = now
    await repo.flush(session)
    tenants = await tenants_by_id(session, member.federation_id)
    origin_code = tenants[transfer.origin_tenant_id].code
    dest_code = tenants[transfer.dest_tenant_id].code
    await emit(session, EVENT_TRANSFERRED, federation_id=transfer.federation_id,
               tenant_id=transfer.dest_tenant_id,
               payload={"member_id": str(member.id), "worker_id": str(transfer.worker_id),
                        "transfer_id": str(transfer.id),
                        "from_tenant_id": str(transfer.origin_tenant_id),
                        "from_tenant_code": origin_code,
                        "to_tenant_id": str(transfer.dest_tenant_id), "to_tenant_code": dest_code,
                        "completed_at": now.isoformat()})
    await audit.record(session, "transfer.accepted", tenant_id=transfer.dest_tenant_id,
                       object_type="transfer", object_id=transfer.id,
                       payload={"member_id": str(member.id), "from": origin_code, "to": dest_code,
                                "member_no": member.member_no,
                                "member_since": member.member_since.isoformat()
                                if member.member_since else None})
    return transfer


def _wrong_side(detail: str, detail_en: str) -> Forbidden:
    return Forbidden(detail, detail_en, code="transfer_wrong_side")
