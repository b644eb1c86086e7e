"""What the register takes and shows: a partner's filing, a union's record of what a platform
published elsewhere, the register (entries with their versions) and the worker's 公示."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

import msgspec

from flexunion.contracts.rules.categories import CATEGORIES, LABELS, Category, shown
from flexunion.contracts.rules.models import PlatformRule, PlatformRuleVersion

Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
RuleText = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Note = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class RuleCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A new entry and its first version. A partner files it for itself; union staff name the
    `partner` and note the `source` (where the platform published it)."""

    category: Category
    code: Code
    title_zh: Title
    text_zh: RuleText
    effective_from: date
    title_en: Title | None = None
    text_en: RuleText | None = None
    parameters: dict[str, Any] = {}
    reason: Reason | None = None
    partner: Code | None = None  # staff only
    source: Note | None = None  # staff only: where it was published (URL, notice, date)


class ChangeCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A change: the rule's new text and parameters from `effective_from`, and why."""

    text_zh: RuleText
    effective_from: date
    reason: Reason
    text_en: RuleText | None = None
    parameters: dict[str, Any] = {}
    source: Note | None = None  # staff only


class ParameterShown(msgspec.Struct):
    name: str
    label_zh: str
    value: Any
    shown_zh: str


class VersionRead(msgspec.Struct):
    id: uuid.UUID
    version: int
    effective_from: date
    text_zh: str
    text_en: str | None
    parameters: dict[str, Any]
    parameters_shown: list[ParameterShown]  # each with its Chinese label and value
    reason: str | None
    source: str
    source_note: str | None
    topics: list[str]
    notified_on: date
    notice_days: int | None
    earliest_effective: date | None
    short_notice: bool
    consultation_item_id: uuid.UUID | None
    filed_at: datetime
    state: str  # superseded | current | upcoming
    state_zh: str


class RuleRead(msgspec.Struct):
    id: uuid.UUID
    partner: str
    category: str
    category_zh: str
    category_en: str
    code: str
    title_zh: str
    title_en: str | None
    current: VersionRead | None
    upcoming: list[VersionRead]
    versions: list[VersionRead]


class RegisterRead(msgspec.Struct):
    partner: str
    partner_name_zh: str
    partner_name_en: str
    notice_days: int
    rules: list[RuleRead]


class PublicChange(msgspec.Struct):
    effective_from: date
    text_zh: str
    reason: str | None
    parameters: list[ParameterShown]


class PublicRule(msgspec.Struct):
    """One rule as a worker reads it (公示): Chinese, the current version and any announced
    change with its date and the platform's reason."""

    category: str
    category_zh: str
    title_zh: str
    text_zh: str
    effective_from: date
    parameters: list[ParameterShown]
    upcoming: list[PublicChange]


class PlatformPublic(msgspec.Struct):
    partner: str
    partner_name_zh: str
    rules: list[PublicRule]


class MyRulesRead(msgspec.Struct):
    platforms: list[PlatformPublic]


STATES = {"superseded": "已被替代", "current": "现行", "upcoming": "待生效"}


def version_state(version: PlatformRuleVersion, current: PlatformRuleVersion | None,
                  today: date) -> str:
    if version.effective_from > today:
        return "upcoming"
    return "current" if current is not None and version.id == current.id else "superseded"


def version_read(version: PlatformRuleVersion, state: str) -> VersionRead:
    return VersionRead(
        id=version.id, version=version.version, effective_from=version.effective_from,
        text_zh=version.text_zh, text_en=version.text_en, parameters=version.parameters,
        parameters_shown=parameters_shown(version.parameters), reason=version.reason,
        source=version.source, source_note=version.source_note,
        topics=list(version.topics), notified_on=version.notified_on,
        notice_days=version.notice_days, earliest_effective=version.earliest_effective,
        short_notice=version.short_notice, consultation_item_id=version.consultation_item_id,
        filed_at=version.filed_at, state=state, state_zh=STATES[state])


def current_of(versions: list[PlatformRuleVersion], today: date) -> PlatformRuleVersion | None:
    """The version in force on `today`: the latest that has taken effect."""
    started = [v for v in versions if v.effective_from <= today]
    return max(started, key=lambda v: v.version) if started else None


def rule_read(rule: PlatformRule, versions: list[PlatformRuleVersion], partner_code: str,
              today: date) -> RuleRead:
    current = current_of(versions, today)
    shown_versions = [version_read(v, version_state(v, current, today)) for v in versions]
    info = CATEGORIES[rule.category]
    return RuleRead(
        id=rule.id, partner=partner_code, category=rule.category, category_zh=info.zh,
        category_en=info.en, code=rule.code, title_zh=rule.title_zh, title_en=rule.title_en,
        current=next((v for v in shown_versions if v.state == "current"), None),
        upcoming=[v for v in shown_versions if v.state == "upcoming"],
        versions=shown_versions)


def parameters_shown(parameters: dict[str, Any]) -> list[ParameterShown]:
    return [ParameterShown(name=k, label_zh=LABELS[k][0], value=v, shown_zh=shown(v, k))
            for k, v in parameters.items() if k in LABELS]


def public_rule(rule: PlatformRule, versions: list[PlatformRuleVersion],
                today: date) -> PublicRule | None:
    current = current_of(versions, today)
    upcoming = [PublicChange(effective_from=v.effective_from, text_zh=v.text_zh,
                             reason=v.reason, parameters=parameters_shown(v.parameters))
                for v in versions if v.effective_from > today]
    if current is None and not upcoming:
        return None
    base = current or versions[0]
    return PublicRule(
        category=rule.category, category_zh=CATEGORIES[rule.category].zh,
        title_zh=rule.title_zh, text_zh=base.text_zh if current else "（尚未生效）",
        effective_from=base.effective_from,
        parameters=parameters_shown(current.parameters) if current else [],
        upcoming=upcoming)
