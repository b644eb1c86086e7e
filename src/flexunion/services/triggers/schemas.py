"""What the triggers' API takes and answers."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

import msgspec

from flexunion.services.triggers.models import TriggerAction, TriggerRuleSet
from flexunion.services.triggers.rules import Rule

ACTION_LABELS = {
    "invite_join": ("入会邀请", "Join invitation"),
    "offer_service": ("服务推送", "Service offer"),
    "station_notice": ("站点提示", "Station notice"),
    "assistance_case": ("帮扶立案", "Assistance case"),
}
DELIVERY_LABELS = {
    "inbox": ("已发至会员收件箱", "In the member's inbox"),
    "partner_relay": ("待平台转达（非会员，无联系方式）",
                      "For the partner to relay (not a member)"),
    "station": ("已发至驿站", "Shown to the station"),
}


class RuleSetSave(msgspec.Struct, forbid_unknown_fields=True):
    """A new version of my unit's rules (the old one is kept)."""

    effective_from: date
    rules: list[Rule]
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""


class RuleSetRead(msgspec.Struct):
    id: uuid.UUID
    unit: str
    unit_name_zh: str
    version: int
    effective_from: str
    rules: list[dict[str, Any]]
    note: str
    created_by: str
    created_at: str
    in_effect: bool


class ActionRead(msgspec.Struct):
    id: uuid.UUID
    source: str
    source_id: uuid.UUID
    rule_code: str
    rule_version: int
    action: str
    action_zh: str
    delivery: str
    delivery_zh: str
    member_id: uuid.UUID | None
    station_id: uuid.UUID | None
    service_code: str | None
    assistance_case_id: uuid.UUID | None
    title_zh: str
    title_en: str
    created_at: str


class InvitationRead(msgspec.Struct):
    """For the partner: relay this invitation to its rider in the partner's own app."""

    id: uuid.UUID
    rider_id: str
    event_id: uuid.UUID
    title_zh: str
    title_en: str
    created_at: str


def rule_set_read(row: TriggerRuleSet, unit: str, unit_zh: str, in_effect: bool) -> RuleSetRead:
    return RuleSetRead(id=row.id, unit=unit, unit_name_zh=unit_zh, version=row.version,
                       effective_from=row.effective_from.isoformat(), rules=row.rules,
                       note=row.note, created_by=row.created_by,
                       created_at=row.created_at.isoformat(), in_effect=in_effect)


def action_read(row: TriggerAction) -> ActionRead:
    return ActionRead(
        id=row.id, source=row.source, source_id=row.source_id, rule_code=row.rule_code,
        rule_version=row.rule_version, action=row.action,
        action_zh=ACTION_LABELS[row.action][0], delivery=row.delivery,
        delivery_zh=DELIVERY_LABELS[row.delivery][0], member_id=row.member_id,
        station_id=row.station_id, service_code=row.service_code,
        assistance_case_id=row.assistance_case_id, title_zh=row.title_zh,
        title_en=row.title_en, created_at=row.created_at.isoformat())


def invitation_read(row: TriggerAction) -> InvitationRead:
    return InvitationRead(id=row.id, rider_id=row.rider_id or "", event_id=row.source_id,
                          title_zh=row.title_zh, title_en=row.title_en,
                          created_at=row.created_at.isoformat())
