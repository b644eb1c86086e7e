"""分层分类 Service groups, evaluated from data (rules.py), materialised in `member_groups`.

Each member's open groups are re-evaluated when their data changes — a partner's event (the
events service queues the `service-groups` job with the member in the event's transaction), a
join approval or a transfer (membership's `on_member_changed` hook, registered in create_app,
queues the same job), a rules change (`tenants apply` queues everyone) — and the daily drift
run re-evaluates every member in chunks of `CHUNK`, in the job worker, never in a request.
Entering a group writes a row with `since` and `why` (the values that decided it); leaving it
closes the row (`until`, `ended_why`). Members not active have no rule-made group.

困难会员 (hardship) is never decided here: the assistance ledger calls `mark_hardship` (and
`clear_hardship`); the evaluation only closes a mark past its `expires_at`. Its rows are read
only by regional admins and station officers of the member's home region (migration 0054).

Cadres read a list per group and place (region or station subtree, or a delivery zone worked
in the last 30 days), masked; a worker reads the services offered to them (`offered`), never
the group."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core.clock import BEIJING
from flexunion.core.context import Caller, Role
from flexunion.core.errors import InvalidInput, NotFound
from flexunion.core.pagination import decode_time_cursor, encode_cursor, time_key
from flexunion.db import rls
from flexunion.federation import directory
from flexunion.federation.directory import Directory, DirectoryEntry
from flexunion.geo.areas import service as areas
from flexunion.membership import service as membership
from flexunion.membership.models import Member
from flexunion.services.catalogue import service as catalogue
from flexunion.services.events import service as events
from flexunion.services.groups import repository
from flexunion.services.groups.models import GroupRule, MemberGroup
from flexunion.services.groups.rules import CODES, Facts, decide
from flexunion.services.groups.schemas import (
    Evaluated,
    GroupListRead,
    GroupRead,
    ListedMember,
    OfferedRead,
    group_read,
    offered,
)
from flexunion.transfers import service as transfers

CHUNK = 500
HARDSHIP = "hardship"
ZONE_DAYS = 30


class GroupNotFound(NotFound):
    code, title, title_en = "service_group_not_found", "未找到该服务分组", "Service group not found"


def local_day(moment: datetime) -> date:
    return moment.astimezone(BEIJING).date()


def region_of(tenants: Directory, tenant_id: uuid.UUID) -> DirectoryEntry | None:
    entry = tenants.by_id.get(tenant_id)
    while entry is not None and entry.kind not in ("regional", "hq"):
        entry = tenants.get(entry.parent_code or "")
    return entry


async def _zone_regions(session: AsyncSession, federation_id: uuid.UUID,
                        tenants: Directory) -> dict[str, str]:
    """Delivery zone code → the region code of the tenant that keeps it (geo's service)."""
    out: dict[str, str] = {}
    for area in await areas.delivery_zones(session, federation_id):
        region = region_of(tenants, area.tenant_id)
        if region is not None and region.kind == "regional":
            out[area.code] = region.code
    return out


async def _facts(session: AsyncSession, members: Sequence[Member], rules: dict[str, GroupRule],
                 today: date, tenants: Directory) -> dict[uuid.UUID, Facts]:
    ids = [m.id for m in members]
    nh = rules.get("night-heat-outdoor")
    cc = rules.get("cross-city")
    night_days = nh.parameters.get("window_days", 30) if nh else 30
    city_days = cc.parameters.get("window_days", 30) if cc else 30
    night = await events.work_since(session, ids, today - timedelta(days=night_days - 1))
    city = (night if city_days == night_days else
            await events.work_since(session, ids, today - timedelta(days=city_days - 1)))
    registered = await events.registrations(session, ids)
    zones = await _zone_regions(session, members[0].federation_id, tenants) if cc else {}
    completed = await transfers.completed_moves(session, ids) if cc is not None else {}
    out: dict[uuid.UUID, Facts] = {}
    for m in members:
        moved = tuple(local_day(at) for at in completed.get(m.id, ()))
        n, h, _ = night.get(m.id, (0.0, 0.0, set()))
        worked = city.get(m.id, (0.0, 0.0, set()))[2]
        out[m.id] = Facts(member_since=m.member_since, registered_on=registered.get(m.id),
                          sex=m.sex, birth_month=m.birth_month, night_hours=n, heat_hours=h,
                          transfers=moved,
                          regions=frozenset(zones[z] for z in worked if z in zones))
    return out


async def evaluate(session: AsyncSession, members: Sequence[Member], *, now: datetime,
                   actor: str) -> Evaluated:
    """Re-evaluate `members` (one federation) against its rules; rows opened and closed."""
    if not members:
        return Evaluated(0, 0, 0)
    federation_id = members[0].federation_id
    rules = {r.code: r for r in await repository.rules(session, federation_id)}
    tenants = await directory.directory(session, federation_id)
    today = local_day(now)
    facts = await _facts(session, members, rules, today, tenants)
    current: dict[uuid.UUID, dict[str, MemberGroup]] = defaultdict(dict)
    for open_row in await repository.open_of(session, [m.id for m in members], lock=True):
        current[open_row.member_id][open_row.group_code] = open_row
    joined = left = 0
    for m in members:
        region = region_of(tenants, m.tenant_id)
        region_id = region.id if region else federation_id
        have = current[m.id]
        for code in CODES:
            row = have.get(code)
            if code == HARDSHIP:
                if row is not None and row.expires_at is not None and row.expires_at <= now:
                    _close(row, now, actor, {"expired_at": row.expires_at.isoformat()})
                    left += 1
                elif row is not None:
                    _rehome(row, m, region_id, actor)
                continue
            rule = rules.get(code)
            why = (decide(code, rule.parameters, facts[m.id], today)
                   if rule is not None and m.status == "active" else None)
            if why is None and row is not None:
                _close(row, now, actor, {"rule_revision": rule.revision if rule else None,
                                         "status": m.status})
                left += 1
            elif why is not None and row is None:
                repository.add(session, MemberGroup(
                    id=uuid.uuid4(), federation_id=federation_id, tenant_id=m.tenant_id,
                    region_id=region_id, member_id=m.id, group_code=code, since=now,
                    until=None, expires_at=None, why=why | {"rule_revision": rule.revision}
                    if rule else why, ended_why=None, updated_by=actor))
                joined += 1
            elif why is not None and row is not None:
                _rehome(row, m, region_id, actor)
                wanted = why | {"rule_revision": rule.revision} if rule else why
                if row.why != wanted:
                    row.why, row.updated_by = wanted, actor
    await repository.flush(session)
    return Evaluated(len(members), joined, left)


def _close(row: MemberGroup, now: datetime, actor: str, why: dict[str, Any]) -> None:
    row.until = max(now, row.since)
    row.ended_why = why
    row.updated_by = actor


def _rehome(row: MemberGroup, member: Member, region_id: uuid.UUID, actor: str) -> None:
    if row.tenant_id != member.tenant_id or row.region_id != region_id:
        row.tenant_id, row.region_id, row.updated_by = member.tenant_id, region_id, actor


async def evaluate_members(session: AsyncSession, federation_id: uuid.UUID,
                           member_ids: Sequence[uuid.UUID], *, now: datetime) -> Evaluated:
    """The job's work for named members (events, approvals, transfers)."""
    members = await membership.members_in_federation(session, federation_id, ids=member_ids)
    return await evaluate(session, members, now=now, actor=await rls.principal(session))


async def evaluate_all(session: AsyncSession, federation_id: uuid.UUID, *, now: datetime,
                       chunk: int = CHUNK) -> Evaluated:
    """Everyone, in chunks by id (the daily drift run and a rules change), yielding to the
    loop between chunks."""
    total = Evaluated(0, 0, 0)
    after: uuid.UUID | None = None
    actor = await rls.principal(session)
    while True:
        members = await membership.members_in_federation(session, federation_id, after=after,
                                                         limit=chunk)
        if not members:
            return total
        done = await evaluate(session, members, now=now, actor=actor)
        total = Evaluated(total.evaluated + done.evaluated, total.joined + done.joined,
                          total.left + done.left)
        after = members[-1].id
        await asyncio.sleep(0)


async def member_changed(session: AsyncSession, member: Member) -> None:
    """membership's hook (a join approved, a member moved): queue this member's re-evaluation
    in the same transaction."""
    await events.queue_groups(session, member.federation_id, [member.id])


# ---- hardship: the assistance ledger's ------------------------------------------------------


async def mark_hardship(session: AsyncSession, member_id: uuid.UUID, *, source: str,
                        until: datetime | None, now: datetime | None = None) -> MemberGroup:
    """困难会员: put the member in the hardship group until `until` (None: until cleared),
    because of `source` (e.g. `assistance:<case id>`); an open mark is extended and its sources
    kept. Called by the assistance ledger in its own transaction, as its staff (the member must
    be homed in their subtree: else 404 `member_not_found`)."""
    if not source or len(source) > 200:
        raise InvalidInput("请写明困难认定的来源。", "Name the source of the hardship mark.",
                           code="hardship_source_required")
    member = await membership.access_member(session, member_id)
    now = now or await repository.db_now(session)
    if until is not None and until <= now:
        raise InvalidInput("困难认定的截止时间须在将来。", "`until` must be in the future.",
                           code="hardship_until_past")
    tenants = await directory.directory(session, member.federation_id)
    region = region_of(tenants, member.tenant_id)
    actor = await rls.principal(session)
    rows = [r for r in await repository.open_of(session, [member.id], lock=True)
            if r.group_code == HARDSHIP]
    if rows:
        row = rows[0]
        sources = list(dict.fromkeys([*row.why.get("sources", []), source]))
        row.why = {"sources": sources}
        row.expires_at = None if until is None or row.expires_at is None else max(
            until, row.expires_at)
        row.updated_by = actor
    else:
        row = MemberGroup(id=uuid.uuid4(), federation_id=member.federation_id,
                          tenant_id=member.tenant_id,
                          region_id=region.id if region else member.federation_id,
                          member_id=member.id, group_code=HARDSHIP, since=now, until=None,
                          expires_at=until, why={"sources": [source]}, ended_why=None,
                          updated_by=actor)
        repository.add(session, row)
    await repository.flush(session)
    return row


async def clear_hardship(session: AsyncSession, member_id: uuid.UUID, *, source: str,
                         now: datetime | None = None) -> bool:
    """End the member's hardship mark (the ledger closed the case); False if none was open."""
    now = now or await repository.db_now(session)
    rows = [r for r in await repository.open_of(session, [member_id], lock=True)
            if r.group_code == HARDSHIP]
    for row in rows:
        _close(row, now, await rls.principal(session), {"cleared_by": source})
    await repository.flush(session)
    return bool(rows)


# ---- cadres' lists ---------------------------------------------------------------------------


async def groups(session: AsyncSession, caller: Caller) -> list[GroupRead]:
    federation_id = await directory.federation_of(session, caller)
    counts = await repository.counts(session, federation_id)
    return [group_read(r, counts.get(r.code, 0))
            for r in await repository.rules(session, federation_id)]


async def group_list(session: AsyncSession, caller: Caller, code: str, *, place: str | None,
                     zone: str | None, today: date, limit: int = 1000,
                     after: tuple[datetime, uuid.UUID] | None = None) -> GroupListRead:
    """分类清单: the members of group `code` the caller may see, in `place` (a region or
    station code: its subtree) and/or having worked in delivery zone `zone` lately; masked.
    A page of `limit` by (since, id) after the cursor `after`; `next_cursor` when there is
    more."""
    federation_id = await directory.federation_of(session, caller)
    rule = await repository.rule(session, federation_id, code)
    if rule is None:
        raise GroupNotFound("没有这个服务分组。", "No such service group.")
    tenants = await directory.directory(session, federation_id)
    tenant_ids: list[uuid.UUID] | None = None
    if place:
        entry = tenants.get(place)
        if entry is None:
            raise InvalidInput(f"{place} 不是本联合会的组织。",
                               f"'{place}' is no tenant of this federation.",
                               code="place_unknown")
        tenant_ids = tenants.subtree(entry)
    member_ids: list[uuid.UUID] | None = None
    if zone:
        member_ids = sorted(await events.members_in_zone(
            session, zone, today - timedelta(days=ZONE_DAYS - 1)))
    fetched = await repository.listed(session, federation_id, code, tenant_ids=tenant_ids,
                                      member_ids=member_ids, limit=limit + 1, after=after)
    rows = fetched[:limit]
    more = encode_cursor(*time_key(rows[-1].since, rows[-1].id)) \
        if len(fetched) > limit else None
    members = {m.id: m for m in await membership.members_in_federation(
        session, federation_id, ids=[r.member_id for r in rows], limit=limit)}
    listed = []
    for r in rows:
        m = members.get(r.member_id)
        home = tenants.by_id.get(r.tenant_id)
        if m is None or home is None:
            continue
        listed.append(ListedMember(member_id=m.id, member_no=m.member_no,
                                   name_masked=m.name_masked, home=home.code,
                                   home_name_zh=home.name_zh, since=r.since, why=r.why))
    return GroupListRead(group=code, name_zh=rule.name_zh, place=place, zone=zone,
                         offers=list(rule.offers), members=listed, next_cursor=more)


EXPORT_MAX = 100_000


async def group_export(session: AsyncSession, caller: Caller, code: str, *, place: str | None,
                       zone: str | None, today: date) -> GroupListRead:
    """The whole list (every page, at most EXPORT_MAX members) for the CSV."""
    read = await group_list(session, caller, code, place=place, zone=zone, today=today)
    members = list(read.members)
    while read.next_cursor is not None and len(members) < EXPORT_MAX:
        read = await group_list(session, caller, code, place=place, zone=zone, today=today,
                                after=decode_time_cursor(read.next_cursor))
        members += read.members
    read.members, read.next_cursor = members[:EXPORT_MAX], None
    return read


# ---- the worker ------------------------------------------------------------------------------


async def offered_codes(session: AsyncSession, caller: Caller, member: Member) -> set[str]:
    """The service codes the member's open groups offer: for the worker itself through the
    definer function (a worker reads no group rows), for staff from the group rows their
    scope sees (a hardship row only by the member's home region) and the federation's rules.
    Used to decide who may apply for a service open to groups (services/applications)."""
    if caller.role is Role.WORKER:
        return set(await repository.my_offers(session))
    rows = await repository.open_of(session, [member.id])
    offers = {r.code: r.offers for r in await repository.rules(session, member.federation_id)}
    return {code for row in rows for code in offers.get(row.group_code, [])}


async def my_offers(session: AsyncSession, caller: Caller) -> OfferedRead:
    """The services offered to me (codes and names), never the group that offers them."""
    await membership.require_active(session, caller)
    return offered(await repository.my_offers(session), await service_names(session, caller))


async def service_names(session: AsyncSession,
                        caller: Caller) -> dict[str, tuple[str, str | None]]:
    """The catalogue's names of the active services that apply to the caller, by code."""
    return {o.row.code: (o.row.title_zh, o.row.title_en)
            for o in await catalogue.listed(session, caller, active_only=True)}
