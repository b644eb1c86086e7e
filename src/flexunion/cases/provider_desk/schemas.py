"""机构端 — what admins send about a provider's clients, what a provider sends as a receipt,
and what a provider reads of a referral made to it (docs/referrals.md: what it must not
see is not here)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import msgspec

from flexunion.auth.models import ProviderClient
from flexunion.cases.disputes.codes import KINDS as DISPUTE_KINDS
from flexunion.cases.ledger.codes import CATEGORIES
from flexunion.cases.ledger.schemas import Label, Reason, Short, label
from flexunion.cases.referrals.models import CaseReferral, ReferralProvider, ReferralReceipt
from flexunion.cases.referrals.schemas import (
    KINDS,
    MODES,
    RECEIPTS,
    STATUSES,
    ReceiptRead,
    receipt_read,
)
from flexunion.core.clock import BEIJING

ReceiptStatus = Literal["received", "accepted", "declined", "closed"]


class ProviderClientCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Short


class ProviderClientRead(msgspec.Struct):
    id: uuid.UUID
    client_id: str
    name: str
    provider: str
    disabled: bool
    created_at: str
    last_used_at: str | None


class ProviderClientSecret(msgspec.Struct):
    """The secret, shown this once (stored only hashed)."""

    client: ProviderClientRead
    client_secret: str


class ProviderProfile(msgspec.Struct):
    """The calling provider client, its provider and the provider's region."""

    client_id: str
    client_name: str
    provider: str
    kind: Label
    name_zh: str
    name_en: str
    region: str


class ReceiptCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """received / accepted / declined (`reason` required) / closed (`outcome` required)."""

    status: ReceiptStatus
    reason: Reason | None = None
    outcome: Reason | None = None
    note: Reason | None = None


class CaseFacts(msgspec.Struct):
    """What a provider learns of the case behind a referral (flexunion_provider_cases)."""

    case_no: str
    category: str
    dispute_kind: str | None


class ProviderReferralRead(msgspec.Struct):
    """A referral made to me: the case number and kind, the booked slot or the hand-over
    record (what was sent, to whom, when — a worker's name or phone only if the union wrote
    them there), the union's note, and my receipts. Never the case's contact, description,
    member number, evidence, other referrals or who at the union made it."""

    id: uuid.UUID
    case_no: str
    case_category: Label
    dispute_kind: Label | None
    mode: Label
    status: Label
    slot_start: str | None
    slot_end: str | None
    sent_what: str | None
    sent_to: str | None
    sent_at: str | None
    note: str | None
    referred_at: str
    cancelled_at: str | None
    provider_status: Label | None
    receipts: list[ReceiptRead]


def _iso(at: datetime | None) -> str | None:
    """Beijing time, as the provider keeps its hours."""
    return at.astimezone(BEIJING).isoformat() if at is not None else None


def client_read(row: ProviderClient, provider_code: str) -> ProviderClientRead:
    return ProviderClientRead(id=row.id, client_id=row.client_id, name=row.name,
                              provider=provider_code, disabled=row.disabled,
                              created_at=row.created_at.isoformat(),
                              last_used_at=_iso(row.last_used_at))


def profile_read(client: ProviderClient, provider: ReferralProvider,
                 region: str) -> ProviderProfile:
    return ProviderProfile(client_id=client.client_id, client_name=client.name,
                           provider=provider.code, kind=label(KINDS, provider.kind),
                           name_zh=provider.name_zh, name_en=provider.name_en, region=region)


def provider_referral_read(row: CaseReferral, facts: CaseFacts,
                           receipts: Sequence[ReferralReceipt]) -> ProviderReferralRead:
    return ProviderReferralRead(
        id=row.id, case_no=facts.case_no, case_category=label(CATEGORIES, facts.category),
        dispute_kind=label(DISPUTE_KINDS, facts.dispute_kind) if facts.dispute_kind else None,
        mode=label(MODES, row.mode), status=label(STATUSES, row.status),
        slot_start=_iso(row.slot_start), slot_end=_iso(row.slot_end), sent_what=row.sent_what,
        sent_to=row.sent_to, sent_at=_iso(row.sent_at), note=row.note,
        referred_at=_iso(row.created_at) or "", cancelled_at=_iso(row.cancelled_at),
        provider_status=label(RECEIPTS, receipts[-1].status) if receipts else None,
        receipts=[receipt_read(r) for r in receipts])
