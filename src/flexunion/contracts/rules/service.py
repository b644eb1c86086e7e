"""劳动规则与算法公示 The platform rules register: per platform partner, its labour rules and
algorithm parameters by category (categories.py), each entry a series of versions with the
date each takes effect and the platform's stated reason for the change.

Who writes: the partner files its own entries and changes through its machine API
(Idempotency-Key, audited); union staff (HQ and regional admins) may record an entry or a
change the platform published elsewhere, with the source noted. Who reads: union staff of the
federation the whole register (federation-wide: a platform's rules apply to its workers in
every region), a partner its own, a worker the rules of the platforms of its active membership
(公示). Row-level security (migration 0042) decides; "not there" and "not yours" are one 404.

Notice (提前告知): a change to a rule whose category touches a bargaining topic must be filed
at least N working days (settings.platform_rules.notice_days, FLEXUNION_RULES_NOTICE_DAYS) on
the federation's working calendar before it takes effect: `earliest_effective` is the day after
the Nth working day after the filing day. A partner's change dated earlier is refused (422
`rule_notice_too_short`, naming the earliest date): the register is the platform's notice, and
a platform can always give a later date. A change staff record from elsewhere has already been
published — refusing it would make the register false — so it is kept and flagged
`short_notice`. The first version of an entry that took effect on or before its filing day is
the record of a rule already in force, not a change, and needs no notice.

Consultation (征求意见): a notified change touching a bargaining topic opens an agenda item for
consultation on the federation's board (the partner's filing) or the recording union's (staff),
through the bargaining service, `on_agenda`; the version names the item
(`consultation_item_id`) and the item's first timeline entry and audit event name the version."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.board import service as board
from flexunion.calendars import service as calendars
from flexunion.contracts.rules import repository
from flexunion.contracts.rules.categories import CATEGORIES, check_parameters, topic_details
from flexunion.contracts.rules.models import PlatformRule, PlatformRuleVersion
from flexunion.contracts.rules.schemas import (
    ChangeCreate,
    MyRulesRead,
    PlatformPublic,
    RegisterRead,
    RuleCreate,
    RuleRead,
    VersionRead,
    public_rule,
    rule_read,
)
from flexunion.core.clock import BEIJING
from flexunion.core.context import Caller, Role
from flexunion.core.errors import Conflict, InvalidInput, NotFound
from flexunion.db import rls
from flexunion.federation import directory
from flexunion.federation.directory import Partner
from flexunion.membership import service as membership


class RuleNotFound(NotFound):
    code, title, title_en = "platform_rule_not_found", "未找到该平台规则", "Platform rule not found"


class NoticeTooShort(InvalidInput):
    code = "rule_notice_too_short"
    title, title_en = "规则变更告知期不足", "Rule change notified too late"


def no_such_rule() -> RuleNotFound:
    return RuleNotFound("没有这条平台规则。", "No such platform rule.")


def local_day(moment: datetime) -> date:
    return moment.astimezone(BEIJING).date()


# ---- reading ---------------------------------------------------------------------------------


async def _partner_self(session: AsyncSession, caller: Caller) -> Partner:
    """The calling partner client's platform (its federation's reference row)."""
    partner_id = await rls.current_partner(session)
    federation_id = await directory.federation_of(session, caller)
    for partner in (await directory.partners(session, federation_id)).values():
        if partner.id == partner_id:
            return partner
    raise no_such_rule()


async def _reads(session: AsyncSession, rules: list[PlatformRule], codes: dict[uuid.UUID, str],
                 today: date) -> list[RuleRead]:
    versions: dict[uuid.UUID, list[PlatformRuleVersion]] = defaultdict(list)
    for v in await repository.versions_of(session, [r.id for r in rules]):
        versions[v.rule_id].append(v)
    return [rule_read(r, versions[r.id], codes[r.partner_id], today) for r in rules]


async def register(session: AsyncSession, partner: Partner, *, today: date,
                   notice_days: int) -> RegisterRead:
    """A partner's register as the caller's row-level security shows it."""
    rules = list(await repository.rules_of(session, [partner.id]))
    return RegisterRead(partner=partner.code, partner_name_zh=partner.name_zh,
                        partner_name_en=partner.name_en, notice_days=notice_days,
                        rules=await _reads(session, rules, {partner.id: partner.code}, today))


async def partner_register(session: AsyncSession, caller: Caller, *, today: date,
                           notice_days: int) -> RegisterRead:
    return await register(session, await _partner_self(session, caller), today=today,
                          notice_days=notice_days)


async def staff_register(session: AsyncSession, caller: Caller, partner_code: str, *,
                         today: date, notice_days: int) -> RegisterRead:
    """One partner's register, for union staff (422 `unknown_partner`)."""
    federation_id = await directory.federation_of(session, caller)
    partner = await directory.partner_by_code(session, federation_id, partner_code)
    return await register(session, partner, today=today, notice_days=notice_days)


async def federation_partners(session: AsyncSession, caller: Caller) -> list[Partner]:
    federation_id = await directory.federation_of(session, caller)
    return sorted((await directory.partners(session, federation_id)).values(),
                  key=lambda p: p.code)


async def partner_rule(session: AsyncSession, caller: Caller, code: str, *,
                       today: date) -> RuleRead:
    partner = await _partner_self(session, caller)
    rule = await repository.rule_by_code(session, partner.id, code)
    if rule is None:
        raise no_such_rule()
    return (await _reads(session, [rule], {partner.id: partner.code}, today))[0]


async def staff_rule(session: AsyncSession, caller: Caller, rule_id: uuid.UUID, *,
                     today: date) -> RuleRead:
    rule = await repository.rule_by_id(session, rule_id)
    if rule is None:
        raise no_such_rule()
    codes = await directory.partner_codes(session, await directory.federation_of(session, caller))
    return (await _reads(session, [rule], codes, today))[0]


async def my_rules(session: AsyncSession, caller: Caller, *, today: date) -> MyRulesRead:
    """公示: the current rules (and announced changes) of the platforms my active membership
    names, in Chinese."""
    member = await membership.require_active(session, caller)
    partners = await directory.partners(session, caller.tenant_id)
    codes = dict.fromkeys(str(link.get("partner")) for link in member.platforms)
    mine = [partners[c] for c in codes if c in partners]
    rules = list(await repository.rules_of(session, [p.id for p in mine]))
    versions: dict[uuid.UUID, list[PlatformRuleVersion]] = defaultdict(list)
    for v in await repository.versions_of(session, [r.id for r in rules]):
        versions[v.rule_id].append(v)
    out = []
    for partner in mine:
        shown = [public_rule(r, versions[r.id], today) for r in rules
                 if r.partner_id == partner.id]
        out.append(PlatformPublic(partner=partner.code, partner_name_zh=partner.name_zh,
                                  rules=[s for s in shown if s is not None]))
    return MyRulesRead(platforms=out)


# ---- writing ---------------------------------------------------------------------------------


async def _notice(session: AsyncSession, federation_id: uuid.UUID, now: datetime,
                  days: int) -> date:
    """The earliest day a change filed `now` may take effect: the day after the `days`-th
    working day after today on the federation's calendar (deadline_after counts the end,
    24:00 Beijing, of that working day, i.e. the start of the next day)."""
    moment = await calendars.deadline_after(session, federation_id, now, days,
                                            federation_id=federation_id)
    return local_day(moment.at - timedelta(microseconds=1)) + timedelta(days=1)


async def _write_version(
    session: AsyncSession, rule: PlatformRule, partner: Partner, *, number: int,
    previous: PlatformRuleVersion | None, text_zh: str, text_en: str | None,
    parameters: dict[str, object], effective_from: date, reason: str | None,
    source_note: str | None, by_partner: bool, tenant_id: uuid.UUID, now: datetime,
    notice_days: int, threshold: int,
) -> PlatformRuleVersion:
    today = local_day(now)
    info = CATEGORIES[rule.category]
    checked = check_parameters(rule.category, parameters)
    if previous is not None and effective_from <= previous.effective_from:
        raise InvalidInput(
            f"变更的生效日期须晚于上一版本的生效日期（{previous.effective_from}）。",
            f"A change must take effect after the previous version ({previous.effective_from}).",
            code="rule_effective_before_previous",
            extra={"previous_effective_from": previous.effective_from.isoformat()})
    is_change = previous is not None or effective_from > today
    if by_partner and previous is not None and effective_from < today:
        raise InvalidInput("变更不能追溯生效。", "A change cannot take effect in the past.",
                           code="rule_effective_in_past")
    needs_notice = is_change and bool(info.topics)
    earliest = (await _notice(session, rule.federation_id, now, notice_days)
                if needs_notice else None)
    short = earliest is not None and effective_from < earliest
    if short and by_partner:
        raise NoticeTooShort(
            f"涉及协商议题的规则变更须至少提前 {notice_days} 个工作日告知，最早可于 "
            f"{earliest} 生效。",
            f"A change touching a bargaining topic needs {notice_days} working days' notice: "
            f"the earliest it may take effect is {earliest}.",
            extra={"earliest_effective": str(earliest), "notice_days": notice_days,
                   "topics": list(info.topics)})
    actor = await rls.principal(session)
    item_id = uuid.uuid4() if needs_notice else None
    version = PlatformRuleVersion(
        id=uuid.uuid4(), federation_id=rule.federation_id, tenant_id=tenant_id,
        rule_id=rule.id, partner_id=rule.partner_id, version=number,
        effective_from=effective_from, text_zh=text_zh.strip(),
        text_en=text_en.strip() if text_en else None, parameters=checked, reason=reason,
        source="partner_api" if by_partner else "published", source_note=source_note,
        topics=list(info.topics) if needs_notice else [],
        notice_days=notice_days if needs_notice else None, notified_on=today,
        earliest_effective=earliest, short_notice=short and not by_partner,
        consultation_item_id=item_id, filed_by=actor, filed_at=now)
    try:
        async with session.begin_nested():
            repository.add(session, version)
            await repository.flush(session)
    except IntegrityError as exc:
        raise Conflict("这条规则刚刚有了新版本，请刷新后再提交。",
                       "The rule just got a new version; reload and file again.",
                       code="rule_version_conflict") from exc
    if item_id is not None:
        topic = info.topics[0]
        before = (previous.text_zh, previous.parameters) if previous is not None else None
        await board.open_for_consultation(
            session, item_id=item_id, federation_id=rule.federation_id, tenant_id=tenant_id,
            partner_id=rule.partner_id, topic=topic,
            title=f"{partner.name_zh}拟变更「{rule.title_zh}」（{info.zh}）",
            summary=(f"{partner.name_zh}通知：「{rule.title_zh}」自 {effective_from} 起变更。"
                     f"理由：{reason or '未说明'}"
                     + ("（未按期告知）" if version.short_notice else "")),
            details=topic_details(topic, before, (version.text_zh, checked)),
            origin={"rule_change": str(version.id), "rule": rule.code,
                    "partner": partner.code, "effective_from": str(effective_from)},
            now=now, default_threshold=threshold)
    await audit.record(
        session, "platform_rule.filed" if by_partner else "platform_rule.recorded",
        tenant_id=tenant_id, object_type="platform_rule", object_id=rule.id,
        payload={"partner": partner.code, "rule": rule.code, "version": number,
                 "effective_from": str(effective_from), "reason": reason,
                 "source": version.source, "source_note": source_note,
                 "short_notice": version.short_notice,
                 "consultation_item": str(item_id) if item_id else None})
    return version


async def _writer(session: AsyncSession, caller: Caller,
                  partner_code: str | None) -> tuple[Partner, bool, uuid.UUID]:
    """(the partner, filed by the partner itself?, the tenant the rows are filed at)."""
    federation_id = await directory.federation_of(session, caller)
    if caller.role is Role.PARTNER:
        return await _partner_self(session, caller), True, federation_id
    if not partner_code:
        raise InvalidInput("请写明平台 partner。", "Name the platform (partner).",
                           code="partner_required")
    return (await directory.partner_by_code(session, federation_id, partner_code), False,
            caller.tenant_id)


def _source(by_partner: bool, source: str | None) -> str | None:
    if by_partner:
        return None
    if not source:
        raise InvalidInput("记录平台在别处公布的规则须注明来源 source。",
                           "Recording a rule the platform published elsewhere needs its source.",
                           code="rule_source_required")
    return source.strip()


async def file_rule(session: AsyncSession, caller: Caller, data: RuleCreate, *, now: datetime,
                    notice_days: int, threshold: int) -> RuleRead:
    """A new entry with its first version (the partner's filing, or staff's record)."""
    partner, by_partner, tenant_id = await _writer(session, caller, data.partner)
    if by_partner and (data.partner is not None or data.source is not None):
        raise InvalidInput("平台提交时不填 partner 与 source。",
                           "A platform files for itself: no partner or source.",
                           code="rule_fields_staff_only")
    note = _source(by_partner, data.source)
    if await repository.rule_by_code(session, partner.id, data.code) is not None:
        raise Conflict(f"平台已有编码为 {data.code} 的规则，请提交变更。",
                       f"The platform already has rule '{data.code}': file a change instead.",
                       code="platform_rule_exists")
    rule = PlatformRule(
        id=uuid.uuid4(), federation_id=await directory.federation_of(session, caller),
        tenant_id=tenant_id,
        partner_id=partner.id, category=data.category, code=data.code,
        title_zh=data.title_zh.strip(), title_en=data.title_en,
        created_by=await rls.principal(session), created_at=now)
    try:
        async with session.begin_nested():
            repository.add(session, rule)
            await repository.flush(session)
    except IntegrityError as exc:
        raise Conflict(f"平台已有编码为 {data.code} 的规则，请提交变更。",
                       f"The platform already has rule '{data.code}': file a change instead.",
                       code="platform_rule_exists") from exc
    await _write_version(session, rule, partner, number=1, previous=None,
                         text_zh=data.text_zh, text_en=data.text_en,
                         parameters=data.parameters, effective_from=data.effective_from,
                         reason=data.reason, source_note=note, by_partner=by_partner,
                         tenant_id=tenant_id, now=now, notice_days=notice_days,
                         threshold=threshold)
    return (await _reads(session, [rule], {partner.id: partner.code}, local_day(now)))[0]


async def file_change(session: AsyncSession, caller: Caller, rule: PlatformRule,
                      data: ChangeCreate, *, now: datetime, notice_days: int,
                      threshold: int) -> RuleRead:
    """A new version of `rule` (found by the caller's route)."""
    federation_id = await directory.federation_of(session, caller)
    by_partner = caller.role is Role.PARTNER
    tenant_id = federation_id if by_partner else caller.tenant_id
    partner = next(p for p in (await directory.partners(session, federation_id)).values()
                   if p.id == rule.partner_id)
    if by_partner and data.source is not None:
        raise InvalidInput("平台提交时不填 source。", "A platform files for itself: no source.",
                           code="rule_fields_staff_only")
    note = _source(by_partner, data.source)
    previous = await repository.latest_version(session, rule.id)
    await _write_version(session, rule, partner,
                         number=(previous.version if previous else 0) + 1, previous=previous,
                         text_zh=data.text_zh, text_en=data.text_en,
                         parameters=data.parameters, effective_from=data.effective_from,
                         reason=data.reason, source_note=note, by_partner=by_partner,
                         tenant_id=tenant_id, now=now, notice_days=notice_days,
                         threshold=threshold)
    return (await _reads(session, [rule], {partner.id: partner.code}, local_day(now)))[0]


async def partner_change(session: AsyncSession, caller: Caller, code: str, data: ChangeCreate,
                         *, now: datetime, notice_days: int, threshold: int) -> RuleRead:
    partner = await _partner_self(session, caller)
    rule = await repository.rule_by_code(session, partner.id, code)
    if rule is None:
        raise no_such_rule()
    return await file_change(session, caller, rule, data, now=now, notice_days=notice_days,
                             threshold=threshold)


async def staff_change(session: AsyncSession, caller: Caller, rule_id: uuid.UUID,
                       data: ChangeCreate, *, now: datetime, notice_days: int,
                       threshold: int) -> RuleRead:
    rule = await repository.rule_by_id(session, rule_id)
    if rule is None:
        raise no_such_rule()
    return await file_change(session, caller, rule, data, now=now, notice_days=notice_days,
                             threshold=threshold)


def upcoming(read: RegisterRead) -> list[tuple[RuleRead, VersionRead]]:
    """Changes not yet in force, with their rule, soonest first (the console's list)."""
    return sorted(((r, v) for r in read.rules for v in r.upcoming),
                  key=lambda rv: (rv[1].effective_from, rv[0].code))
