"""协议 schemas: what staff send to make agreements, versions and clauses, and what staff,
partners and workers read (a reader sees no field it should not: `created_by` is staff's)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from flexunion.contracts.agreements.models import Agreement, AgreementClause, AgreementVersion

Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
TenantCode = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Note = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Kind = Literal["franchise", "crowdsourcing", "transport", "collective"]
Renewal = Literal["none", "manual", "automatic"]
PartyRole = Literal["union", "platform_business", "platform_hr", "franchisee", "carrier",
                    "other"]
KINDS: dict[str, tuple[str, str]] = {
    "franchise": ("加盟协议", "Franchise agreement"),
    "crowdsourcing": ("众包协议", "Crowdsourcing agreement"),
    "transport": ("运力合作协议", "Transport cooperation agreement"),
    "collective": ("集体协议", "Collective agreement"),
}
STATUSES: dict[str, tuple[str, str]] = {
    "draft": ("草拟中", "Draft"),
    "in_force": ("生效中", "In force"),
    "superseded": ("已被新版本取代", "Superseded"),
    "ended": ("已终止", "Ended"),
}


class Party(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    role: PartyRole
    name: Title
    contact: Title | None = None


class Term(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    starts_on: date
    ends_on: date
    renewal: Renewal = "manual"
    renewal_notice_days: Annotated[int, msgspec.Meta(ge=0, le=365)] | None = None
    parties: Annotated[list[Party], msgspec.Meta(max_length=20)] = []
    note: Note | None = None


class AgreementCreate(Term, kw_only=True):
    """A new agreement and its version 1 (draft). `scope` is the HQ (a federation-wide
    agreement) or a regional union of the admin's subtree; default: the admin's own tenant."""

    code: Code
    title: Title
    kind: Kind
    partner: TenantCode
    scope: TenantCode | None = None


class RenewalCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """续签: a new draft version, its clauses copied from the latest version; the renewal
    terms and parties not given are the latest version's."""

    starts_on: date
    ends_on: date
    renewal: Renewal | None = None
    renewal_notice_days: Annotated[int, msgspec.Meta(ge=0, le=365)] | None = None
    parties: Annotated[list[Party], msgspec.Meta(max_length=20)] | None = None
    note: Note | None = None


class ClauseCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A clause of a draft version: the template instantiated with `parameters`; `condition`
    and `evidence_schema` replace the template's (type-checked against each other)."""

    template: Code
    parameters: dict[str, Any] = {}
    key: Code | None = None
    evidence_schema: dict[str, Any] | None = None
    condition: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)] | None = None


class ClausePatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A draft clause's changes. `text` is the clause's own wording from now on (a later
    change of parameters alone no longer re-renders it from the template)."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=20000)] | None = None
    parameters: dict[str, Any] | None = None
    evidence_schema: dict[str, Any] | None = None
    condition: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)] | None = None
    position: Annotated[int, msgspec.Meta(ge=0, le=1000)] | None = None


class Label(msgspec.Struct):
    code: str
    zh: str
    en: str


def label(table: dict[str, tuple[str, str]], code: str) -> Label:
    zh, en = table[code]
    return Label(code, zh, en)


class ClauseRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    agreement_id: uuid.UUID
    version: int
    key: str
    position: int
    status: Label
    template: str | None
    template_revision: int | None
    title_zh: str
    title_en: str
    text: str
    parameters: dict[str, Any]
    missing_parameters: list[str]
    evidence_schema: dict[str, Any] | None
    condition: str | None
    condition_reads: list[str]
    agenda_item_id: uuid.UUID | None
    origin: str
    document_sha256: str | None
    signed_at: datetime | None


class VersionRead(msgspec.Struct, kw_only=True):
    number: int
    status: Label
    starts_on: date
    ends_on: date
    renewal: str
    renewal_notice_days: int | None
    parties: list[dict[str, Any]]
    note: str | None
    in_force_at: datetime | None
    superseded_at: datetime | None
    created_at: datetime


class VersionDetail(VersionRead, kw_only=True):
    clauses: list[ClauseRead]


class AgreementRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    title: str
    kind: Label
    status: Label
    scope: str | None
    partner: str | None
    latest_version: int
    in_force_version: int | None
    created_at: datetime
    updated_at: datetime


class AgreementDetail(AgreementRead, kw_only=True):
    versions: list[VersionRead]


class Change(msgspec.Struct, omit_defaults=True):
    """What changed in one clause between two versions (`field`: parameter name, `text`,
    `condition`, `evidence_schema` or `title`)."""

    field: str
    before: Any = None
    after: Any = None


class ClauseDiff(msgspec.Struct, kw_only=True):
    key: str
    change: Literal["added", "removed", "changed"]
    title_zh: str
    parameters_added: dict[str, Any] = {}
    parameters_removed: dict[str, Any] = {}
    parameters_changed: list[Change] = []
    changes: list[Change] = []


class VersionDiff(msgspec.Struct, kw_only=True):
    agreement_id: uuid.UUID
    before: int
    after: int
    term: list[Change]
    clauses: list[ClauseDiff]
    unchanged: list[str]


def clause_read(c: AgreementClause) -> ClauseRead:
    return ClauseRead(
        id=c.id, agreement_id=c.agreement_id, version=c.version_number, key=c.clause_key,
        position=c.position, status=label(STATUSES, c.status), template=c.template_code,
        template_revision=c.template_revision, title_zh=c.title_zh, title_en=c.title_en,
        text=c.text, parameters=c.parameters, missing_parameters=c.missing_parameters,
        evidence_schema=c.evidence_schema, condition=c.condition,
        condition_reads=c.condition_reads, agenda_item_id=c.agenda_item_id, origin=c.origin,
        document_sha256=c.document_sha256, signed_at=c.signed_at)


def version_read(v: AgreementVersion) -> VersionRead:
    return VersionRead(number=v.number, status=label(STATUSES, v.status), starts_on=v.starts_on,
                       ends_on=v.ends_on, renewal=v.renewal,
                       renewal_notice_days=v.renewal_notice_days, parties=v.parties,
                       note=v.note, in_force_at=v.in_force_at, superseded_at=v.superseded_at,
                       created_at=v.created_at)


def version_detail(v: AgreementVersion, clauses: list[AgreementClause]) -> VersionDetail:
    return VersionDetail(**msgspec.structs.asdict(version_read(v)),
                         clauses=[clause_read(c) for c in clauses])


def agreement_read(a: Agreement, tenants: dict[uuid.UUID, str],
                   partners: dict[uuid.UUID, str]) -> AgreementRead:
    return AgreementRead(id=a.id, code=a.code, title=a.title, kind=label(KINDS, a.kind),
                         status=label(STATUSES, a.status), scope=tenants.get(a.tenant_id),
                         partner=partners.get(a.partner_id), latest_version=a.latest_version,
                         in_force_version=a.in_force_version, created_at=a.created_at,
                         updated_at=a.updated_at)
