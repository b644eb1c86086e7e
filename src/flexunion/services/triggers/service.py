"""系统衔接 triggers: the rules that map partners' events and weather warnings to actions.

A unit's (HQ's or a region's) rules are versioned; the version in effect on the event's
Beijing day is the latest with `effective_from` on or before it. A region's rules apply to
members homed in its subtree (and to warnings it loaded); where a region has no version in
effect, HQ's apply. A rule of region A never fires for a member homed in region B.

Each action is one `trigger_actions` row per (source, rule, action, target), inserted with
`ON CONFLICT DO NOTHING`: only the insert that made the row does the action's effect (the
inbox row, in the same transaction), so a retried or re-run job, or an event re-sent ten
times, messages a worker once.

- `invite_join`: a registration of a rider who is not a member. The union knows no account
  or phone of such a rider — the partner does — so the invitation is kept for the partner to
  relay in its own app (`GET /v1/partner/services/invitations`, delivery `partner_relay`);
  a matched member who left gets it in their inbox. A member (or applicant) gets none.
- `offer_service`: an active member gets the catalogue service's offer in their inbox
  (`case_no` names the service code, which the app applies for through
  `POST /v1/me/service-applications`).
- `station_notice`: for a warning, each station of the warning's area within the loading
  unit's subtree gets the notice (送清凉 and stocking supplies), shown on its console.
- `assistance_case`: an injury opens an assistance case through
  `services.assistance.service.open_from_event` (idempotent on the event) and the member's
  inbox gets a legal-information note."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.core.context import Caller, Role
from flexunion.core.errors import Forbidden, InvalidInput
from flexunion.db import rls
from flexunion.federation import directory
from flexunion.federation.directory import Directory, DirectoryEntry
from flexunion.inbox import service as inbox
from flexunion.membership import service as membership
from flexunion.membership.models import Member
from flexunion.services.assistance import service as assistance
from flexunion.services.events import service as events
from flexunion.services.events.models import PlatformEvent, WeatherWarning
from flexunion.services.triggers import repository
from flexunion.services.triggers.files import check_rules
from flexunion.services.triggers.models import TriggerRuleSet
from flexunion.services.triggers.rules import ActionSpec, Rule, decode, encode, holds
from flexunion.services.triggers.schemas import (
    ActionRead,
    InvitationRead,
    RuleSetRead,
    RuleSetSave,
    action_read,
    invitation_read,
    rule_set_read,
)

log = logging.getLogger(__name__)
BEIJING = ZoneInfo("Asia/Shanghai")
INVITE = ("欢迎加入工会：新就业形态劳动者可在 App 一键申请入会，享受会员服务。",
          "Join the union: riders and drivers can apply in the app and use members' services.")
OFFER = ("您可申请以下服务：{code}（在「服务」中一键申请）。",
         "A service for you: {code} (apply under Services).")
LEGAL = ("工伤维权须知：发生工伤后可申请工伤认定，工会可提供法律咨询和帮扶，已为您登记帮扶申请。",
         "After an injury at work: you may apply for work-injury recognition; the union offers"
         " legal advice and assistance, and has opened an assistance request for you.")
STATION = ("{title}：请开展送清凉，并备足防暑降温物资。",
           "{title}: hand out summer-cool supplies and stock up on heat relief.")


@dataclass(frozen=True, slots=True)
class Chosen:
    unit_id: uuid.UUID
    version: int
    rules: list[Rule]


def local_day(moment: datetime) -> date:
    return moment.astimezone(BEIJING).date()


def _region(tree: Directory, tenant_id: uuid.UUID) -> DirectoryEntry | None:
    entry = tree.by_id.get(tenant_id)
    while entry is not None and entry.kind not in ("regional", "hq"):
        entry = tree.get(entry.parent_code or "")
    return entry if entry is not None and entry.kind == "regional" else None


async def rules_for(session: AsyncSession, tree: Directory, tenant_id: uuid.UUID,
                    day: date) -> Chosen | None:
    """The rules in effect on `day` for a member homed at `tenant_id` (or a warning it
    loaded): its region's version in effect, else HQ's; None when neither has one."""
    region = _region(tree, tenant_id)
    for unit in ([region.id] if region else []) + [tree.hq.id]:
        row = await repository.in_effect(session, unit, day)
        if row is not None:
            return Chosen(unit, row.version, decode(row.rules))
    return None


def _values(chosen: Chosen, rule: Rule, action: str, *, source: str, source_id: uuid.UUID,
            federation_id: uuid.UUID, tenant_id: uuid.UUID, target: str, delivery: str,
            title: tuple[str, str], actor: str, now: datetime, **more: Any) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "federation_id": federation_id, "tenant_id": tenant_id,
            "source": source, "source_id": source_id, "rule_code": rule.code,
            "rule_unit": chosen.unit_id, "rule_version": chosen.version, "action": action,
            "target": target, "delivery": delivery, "title_zh": rule.title_zh or title[0],
            "title_en": rule.title_en or title[1], "created_by": actor, "created_at": now,
            **more}


async def _notify(session: AsyncSession, member: Member, action_id: uuid.UUID, kind: str,
                  label: str, title: tuple[str, str], now: datetime) -> None:
    await inbox.trigger_notice(session, federation_id=member.federation_id,
                               tenant_id=member.tenant_id, worker_id=member.worker_id,
                               trigger_action_id=action_id, kind=kind, label=label,
                               title_zh=title[0], title_en=title[1], now=now)


async def _on_event(session: AsyncSession, event: PlatformEvent, member: Member | None,
                    chosen: Chosen, rule: Rule, spec: ActionSpec, actor: str,
                    now: datetime) -> int:
    common: dict[str, Any] = {"source": "platform_event", "source_id": event.id,
                              "federation_id": event.federation_id, "actor": actor,
                              "now": now}
    if spec.do == "invite_join":
        if member is None:  # not a member: the partner relays it to its rider
            values = _values(chosen, rule, "invite_join", tenant_id=event.tenant_id,
                             target=f"rider:{event.rider_id}", delivery="partner_relay",
                             title=INVITE, partner_id=event.partner_id,
                             rider_id=event.rider_id, **common)
            return 1 if await repository.action_once(session, values) else 0
        if member.status != "left":
            return 0  # a member, or already applying
        values = _values(chosen, rule, "invite_join", tenant_id=member.tenant_id,
                         target=f"member:{member.id}", delivery="inbox", title=INVITE,
                         member_id=member.id, worker_id=member.worker_id, **common)
        made = await repository.action_once(session, values)
        if made:
            await _notify(session, member, made, "join_invitation", rule.code,
                          (values["title_zh"], values["title_en"]), now)
        return 1 if made else 0
    if member is None or member.status != "active":
        return 0  # offers and cases are for members
    if spec.do == "offer_service":
        code = spec.service or ""
        title = (OFFER[0].format(code=code), OFFER[1].format(code=code))
        values = _values(chosen, rule, "offer_service", tenant_id=member.tenant_id,
                         target=f"member:{member.id}", delivery="inbox", title=title,
                         member_id=member.id, worker_id=member.worker_id, service_code=code,
                         **common)
        made = await repository.action_once(session, values)
        if made:
            await _notify(session, member, made, "service_offer", code,
                          (values["title_zh"], values["title_en"]), now)
        return 1 if made else 0
    if spec.do == "assistance_case":
        severity = str(event.payload.get("severity", "minor"))
        case = await assistance.open_from_event(
            session, member_id=member.id, kind="injury_recovery",
            urgent=severity in ("serious", "fatal"), source="platform_event",
            source_ref=str(event.id), summary=f"平台报告工伤（{severity}），待受理核实。", now=now)
        values = _values(chosen, rule, "assistance_case", tenant_id=member.tenant_id,
                         target=f"member:{member.id}", delivery="inbox", title=LEGAL,
                         member_id=member.id, worker_id=member.worker_id,
                         assistance_case_id=case.id, **common)
        made = await repository.action_once(session, values)
        if made:
            await _notify(session, member, made, "legal_information", rule.code,
                          (values["title_zh"], values["title_en"]), now)
        return 1 if made else 0
    return 0


async def run_events(session: AsyncSession, federation_id: uuid.UUID,
                     event_ids: Sequence[uuid.UUID], *, now: datetime) -> int:
    """The rules on each event (the job `service-triggers`): the actions made now."""
    tree = await directory.directory(session, federation_id)
    actor = await rls.principal(session)
    made = 0
    for event_id in event_ids:
        event = await events.event_by_id(session, event_id)
        if event is None or event.federation_id != federation_id:
            log.warning("service-triggers: no event %s in federation %s", event_id, federation_id)
            continue
        chosen = await rules_for(session, tree, event.tenant_id, local_day(event.occurred_at))
        if chosen is None:
            continue
        member = (await membership.access_member(session, event.member_id)
                  if event.member_id else None)
        facts = dict(event.payload)
        for rule in chosen.rules:
            if rule.event != event.kind or not holds(rule, facts):
                continue
            for spec in rule.actions:
                made += await _on_event(session, event, member, chosen, rule, spec, actor, now)
    return made


def _stations(tree: Directory, warning: WeatherWarning) -> list[DirectoryEntry]:
    """The stations of the warning's area within the loading unit's subtree."""
    loader = tree.by_id.get(warning.tenant_id)
    if loader is None:
        return []
    mine = set(tree.subtree(loader))
    found: dict[uuid.UUID, DirectoryEntry] = {}
    for code in warning.area_codes:
        area = tree.get(code)
        if area is None:
            continue
        for tid in tree.subtree(area):
            entry = tree.by_id[tid]
            if entry.kind == "station" and tid in mine:
                found[tid] = entry
    return sorted(found.values(), key=lambda e: e.code)


async def run_warnings(session: AsyncSession, federation_id: uuid.UUID,
                       warning_ids: Sequence[uuid.UUID], *, now: datetime) -> int:
    """The rules on each weather warning: a notice per station of its area, once."""
    tree = await directory.directory(session, federation_id)
    actor = await rls.principal(session)
    made = 0
    for warning_id in warning_ids:
        warning = await events.warning_by_id(session, warning_id)
        if warning is None or warning.federation_id != federation_id:
            continue
        chosen = await rules_for(session, tree, warning.tenant_id,
                                 local_day(warning.valid_from))
        if chosen is None:
            continue
        facts = {"kind": warning.kind, "level": warning.level}
        title = (STATION[0].format(title=warning.title_zh),
                 STATION[1].format(title=f"{warning.kind} warning ({warning.level})"))
        for rule in chosen.rules:
            if rule.event != "weather_warning" or not holds(rule, facts):
                continue
            for spec in rule.actions:
                if spec.do != "station_notice":
                    continue
                for station in _stations(tree, warning):
                    values = _values(chosen, rule, "station_notice", source="weather_warning",
                                     source_id=warning.id, federation_id=federation_id,
                                     tenant_id=station.id, target=f"station:{station.id}",
                                     delivery="station", title=title, station_id=station.id,
                                     actor=actor, now=now)
                    made += 1 if await repository.action_once(session, values) else 0
    return made


# ---- the staff's and the partner's side ------------------------------------------------------


async def actions(session: AsyncSession, *, action: str | None, member_id: uuid.UUID | None,
                  limit: int) -> list[ActionRead]:
    """The actions made in the caller's subtree (a station: its own notices)."""
    return [action_read(r) for r in await repository.actions(
        session, action=action, member_id=member_id, limit=limit)]


async def invitations(session: AsyncSession, limit: int) -> list[InvitationRead]:
    """The join invitations for the calling partner's own riders who are not members."""
    partner_id = await rls.current_partner(session)
    if partner_id is None:
        raise Forbidden("该接入方已停用。", "This partner client is disabled.",
                        code="partner_disabled")
    return [invitation_read(r) for r in await repository.partner_invitations(
        session, partner_id, limit)]


async def rule_sets(session: AsyncSession, caller: Caller, *, now: datetime) -> list[RuleSetRead]:
    """HQ's versions and my region's (a station: its region's), newest first, each saying
    whether it is the one in effect today."""
    federation_id = await directory.federation_of(session, caller)
    tree = await directory.directory(session, federation_id)
    region = _region(tree, caller.tenant_id)
    units = [tree.hq.id] + ([region.id] if region else [])
    rows = await repository.rule_sets(session, federation_id, units)
    today = local_day(now)
    current: set[uuid.UUID] = set()
    for unit in units:
        found = await repository.in_effect(session, unit, today)
        if found is not None:
            current.add(found.id)
    return [rule_set_read(r, tree.by_id[r.tenant_id].code, tree.by_id[r.tenant_id].name_zh,
                          r.id in current) for r in rows]


async def save_rule_set(session: AsyncSession, caller: Caller, data: RuleSetSave, *,
                        now: datetime) -> RuleSetRead:
    """A new version of my unit's rules (HQ's or my region's); the old versions are kept."""
    if caller.role not in (Role.HQ_ADMIN, Role.REGIONAL_ADMIN):
        raise Forbidden("仅总工会和区域工会管理员可修改触发规则。",
                        "Only HQ and regional admins edit trigger rules.",
                        code="trigger_rules_not_yours")
    wrong = check_rules(data.rules)
    if wrong:
        raise InvalidInput(f"触发规则有误：{wrong}", f"Trigger rules: {wrong}",
                           code="trigger_rules_invalid", extra={"where": wrong})
    if data.effective_from < local_day(now):
        raise InvalidInput("生效日期不能早于今天。", "effective_from is before today.",
                           code="trigger_effective_past")
    federation_id = await directory.federation_of(session, caller)
    version = await repository.latest_version(session, caller.tenant_id) + 1
    row = TriggerRuleSet(id=uuid.uuid4(), federation_id=federation_id,
                         tenant_id=caller.tenant_id, version=version,
                         effective_from=data.effective_from, rules=encode(data.rules),
                         note=data.note.strip(), created_by=caller.principal, created_at=now)
    repository.add(session, row)
    await repository.flush(session)
    await audit.record(session, "services.trigger_rules_saved", tenant_id=caller.tenant_id,
                       object_type="service_trigger_rules", object_id=row.id,
                       payload={"version": version,
                                "effective_from": data.effective_from.isoformat(),
                                "rules": [r.code for r in data.rules]})
    tree = await directory.directory(session, federation_id)
    entry = tree.by_id[caller.tenant_id]
    return rule_set_read(row, entry.code, entry.name_zh, data.effective_from <= local_day(now))


async def offered_members(session: AsyncSession, *, start: datetime,
                          end: datetime) -> list[uuid.UUID]:
    """The members a trigger offered a service to in [start, end) (the monthly review's
    到达率 counts them as reached)."""
    return await repository.offered_members(session, start, end)
