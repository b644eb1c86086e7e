"""协议 The rules of agreements, their versions and annex clauses.

    version: draft ──(put in force: every clause complete, each signed)──▶ in_force
             in_force ──(a later version put in force)──▶ superseded
    agreement: draft ──▶ in_force (a version in force) ; a renewal (续签) or an amendment is a
               new draft version, its clauses copied from the latest one

Only a draft version's clauses change. A clause instantiates one of HQ's templates
(templates/) with typed parameter values; its condition (the template's, or its own) is
type-checked against its evidence schema and parameters when saved (422 with line and column).
Putting a version in force signs every clause (documents/ provides the `Signer`) and
supersedes the version in force before it, clauses and all, in one transaction. What an
agenda item in force drafts is outcomes.py.

Row-level security decides what a caller sees and may change; "not there" and "not yours"
are the same 404. Every write is audited in the request's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.contracts.agreements import repository
from flexunion.contracts.agreements.diff import version_diff
from flexunion.contracts.agreements.models import Agreement, AgreementClause, AgreementVersion
from flexunion.contracts.agreements.schemas import (
    AgreementCreate,
    ClauseCreate,
    ClausePatch,
    Party,
    Renewal,
    RenewalCreate,
    Term,
    VersionDiff,
)
from flexunion.contracts.templates import service as templates
from flexunion.contracts.templates.models import ClauseTemplate
from flexunion.contracts.templates.schemas import (
    TemplateError,
    check_values,
    compile_condition,
    parameters_of,
    render,
)
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.db import rls
from flexunion.federation import directory

MAX_VERSION = 2**31 - 1  # an integer column: a larger number is simply not there


class AgreementNotFound(NotFound):
    code, title, title_en = "agreement_not_found", "未找到该协议", "Agreement not found"


class VersionNotFound(NotFound):
    code, title, title_en = ("agreement_version_not_found", "未找到该协议版本",
                             "Agreement version not found")


class ClauseNotFound(NotFound):
    code, title, title_en = "clause_not_found", "未找到该条款", "Clause not found"


class Signed(Protocol):
    @property
    def document(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def kid(self) -> str: ...


class Signer(Protocol):
    """Signs a clause version as it goes in force (documents/service.py)."""

    async def sign(self, session: AsyncSession, agreement: Agreement, version: AgreementVersion,
                   clause: AgreementClause, now: datetime) -> Signed: ...


# ---- reading ---------------------------------------------------------------------------------


async def codes(session: AsyncSession,
                caller: Caller) -> tuple[dict[uuid.UUID, str], dict[uuid.UUID, str]]:
    """Tenant and partner codes of the caller's federation, by id."""
    tenants = await directory.my_directory(session, caller)
    return ({e.id: e.code for e in tenants.values()},
            await directory.partner_codes(session, tenants.hq.id))


async def access(session: AsyncSession, agreement_id: uuid.UUID, *,
                 lock: bool = False) -> Agreement:
    found = await repository.agreement(session, agreement_id, lock=lock)
    if found is None:
        raise AgreementNotFound("没有这个协议。", "No such agreement.")
    return found


async def listed(session: AsyncSession, caller: Caller, *, partner: str | None,
                 kind: str | None, status: str | None) -> Sequence[Agreement]:
    partner_id = None
    if partner:
        fed = await directory.federation_of(session, caller)
        partner_id = (await directory.partner_by_code(session, fed, partner)).id
    return await repository.listed(session, partner_id=partner_id, kind=kind, status=status)


async def versions(session: AsyncSession, agreement: Agreement) -> Sequence[AgreementVersion]:
    return await repository.versions(session, agreement.id)


async def version(session: AsyncSession, agreement: Agreement, number: int, *,
                  lock: bool = False) -> AgreementVersion:
    found = (await repository.version(session, agreement.id, number, lock=lock)
             if 1 <= number <= MAX_VERSION else None)
    if found is None:
        raise VersionNotFound(f"协议没有第 {number} 版。",
                              f"The agreement has no version {number}.")
    return found


async def version_clauses(session: AsyncSession,
                          version: AgreementVersion) -> Sequence[AgreementClause]:
    return await repository.clauses(session, version.id)


async def clause(session: AsyncSession, clause_id: uuid.UUID, *,
                 lock: bool = False) -> AgreementClause:
    found = await repository.clause(session, clause_id, lock=lock)
    if found is None:
        raise ClauseNotFound("没有这个条款。", "No such clause.")
    return found


async def clauses(session: AsyncSession,
                  ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, AgreementClause]:
    """The clauses of `ids` the caller sees, by id (one query)."""
    return {c.id: c for c in await repository.clauses_by_id(session, ids)}


async def in_force_clauses(session: AsyncSession) -> Sequence[AgreementClause]:
    """The clauses in force the caller may see (a worker: of its platforms)."""
    return await repository.in_force_clauses(session)


async def diff(session: AsyncSession, agreement_id: uuid.UUID, a: int, b: int) -> VersionDiff:
    agreement = await access(session, agreement_id)
    va, vb = await version(session, agreement, a), await version(session, agreement, b)
    return version_diff(va, await version_clauses(session, va), vb,
                        await version_clauses(session, vb))


async def clauses_of_items(session: AsyncSession,
                           item_ids: Sequence[uuid.UUID]) -> Sequence[AgreementClause]:
    return await repository.clauses_of_items(session, item_ids)


# ---- agreements and versions -----------------------------------------------------------------


def _check_term(term: Term) -> None:
    if term.ends_on < term.starts_on:
        raise InvalidInput("协议终止日期不能早于起始日期。", "A term cannot end before it starts.",
                           code="invalid_term", extra={"path": "ends_on"})


def _version_row(agreement: Agreement, number: int, term: Term, actor: str,
                 now: datetime) -> AgreementVersion:
    return AgreementVersion(
        id=uuid.uuid4(), federation_id=agreement.federation_id, tenant_id=agreement.tenant_id,
        partner_id=agreement.partner_id, agreement_id=agreement.id, number=number,
        status="draft", starts_on=term.starts_on, ends_on=term.ends_on, renewal=term.renewal,
        renewal_notice_days=term.renewal_notice_days,
        parties=msgspec.to_builtins(term.parties), note=term.note, created_by=actor,
        created_at=now, updated_at=now)


async def create(session: AsyncSession, caller: Caller, data: AgreementCreate, *,
                 now: datetime) -> Agreement:
    """A new agreement with its version 1 as a draft."""
    _check_term(data)
    tenants = await directory.my_directory(session, caller)
    scope = tenants.get(data.scope) if data.scope else tenants.by_id.get(caller.tenant_id)
    if scope is None or scope.kind not in ("regional", "hq"):
        raise InvalidInput("协议的工会一方须是区域工会或联合会（总部）。",
                           "An agreement's union side is a regional union or the federation.",
                           code="invalid_scope", extra={"scope": data.scope})
    if not await rls.in_scope(session, scope.id):
        raise Forbidden("只能为本级或下级工会订立协议。",
                        "You may only make agreements for your own union or below it.",
                        code="scope_not_yours", extra={"scope": scope.code})
    partner = await directory.partner_by_code(session, tenants.hq.id, data.partner)
    if await repository.by_code(session, tenants.hq.id, data.code) is not None:
        raise Conflict(f"协议代码 {data.code} 已被使用。", f"Agreement code {data.code} is taken.",
                       code="agreement_code_taken")
    actor = await rls.principal(session)
    agreement = await new_agreement(session, tenants.hq.id, scope.id, partner.id, data.code,
                                     data.title.strip(), data.kind, data, actor, now)
    await audit.record(session, "contracts.agreement_created", tenant_id=scope.id,
                       object_type="agreement", object_id=agreement.id,
                       payload={"code": data.code, "kind": data.kind, "partner": data.partner})
    return agreement


async def new_agreement(session: AsyncSession, federation_id: uuid.UUID, tenant_id: uuid.UUID,
                         partner_id: uuid.UUID, code: str, title: str, kind: str, term: Term,
                         actor: str, now: datetime) -> Agreement:
    agreement = Agreement(id=uuid.uuid4(), federation_id=federation_id, tenant_id=tenant_id,
                          partner_id=partner_id, code=code, title=title, kind=kind,
                          status="draft", latest_version=1, in_force_version=None,
                          created_by=actor, created_at=now, updated_at=now)
    repository.add(session, agreement)
    await repository.flush(session)
    repository.add(session, _version_row(agreement, 1, term, actor, now))
    await repository.flush(session)
    return agreement


async def renew(session: AsyncSession, agreement_id: uuid.UUID, data: RenewalCreate, *,
                now: datetime) -> AgreementVersion:
    """续签 (or an amendment): a new draft version; the latest version's clauses copied."""
    agreement = await access(session, agreement_id, lock=True)
    latest = await version(session, agreement, agreement.latest_version)
    term = Term(starts_on=data.starts_on, ends_on=data.ends_on,
                renewal=data.renewal or cast(Renewal, latest.renewal),
                renewal_notice_days=(data.renewal_notice_days
                                     if data.renewal_notice_days is not None
                                     else latest.renewal_notice_days),
                parties=(data.parties if data.parties is not None
                         else msgspec.convert(latest.parties, list[Party])), note=data.note)
    _check_term(term)
    new = await next_version(session, agreement, term, now)
    await audit.record(session, "contracts.agreement_renewed", tenant_id=agreement.tenant_id,
                       object_type="agreement", object_id=agreement.id,
                       payload={"version": new.number, "starts_on": data.starts_on.isoformat(),
                                "ends_on": data.ends_on.isoformat()})
    return new


async def next_version(session: AsyncSession, agreement: Agreement, term: Term,
                        now: datetime) -> AgreementVersion:
    if agreement.status == "ended":
        raise Conflict("协议已终止。", "The agreement has ended.", code="agreement_ended")
    latest = await version(session, agreement, agreement.latest_version)
    if latest.status == "draft":
        raise Conflict(f"第 {latest.number} 版尚在草拟中，请先生效或修改它。",
                       f"Version {latest.number} is still a draft: put it in force or edit it.",
                       code="draft_version_open", extra={"version": latest.number})
    actor = await rls.principal(session)
    new = _version_row(agreement, latest.number + 1, term, actor, now)
    repository.add(session, new)
    await repository.flush(session)
    for c in await repository.clauses(session, latest.id):
        repository.add(session, AgreementClause(
            id=uuid.uuid4(), federation_id=c.federation_id, tenant_id=c.tenant_id,
            partner_id=c.partner_id, agreement_id=c.agreement_id, version_id=new.id,
            version_number=new.number, clause_key=c.clause_key, position=c.position,
            status="draft", template_id=c.template_id, template_code=c.template_code,
            template_revision=c.template_revision, title_zh=c.title_zh, title_en=c.title_en,
            text=c.text, parameters=c.parameters, missing_parameters=c.missing_parameters,
            evidence_schema=c.evidence_schema, condition=c.condition,
            condition_reads=c.condition_reads, agenda_item_id=c.agenda_item_id,
            origin="renewal", created_by=actor, created_at=now, updated_at=now))
    agreement.latest_version = new.number
    agreement.updated_at = now
    await repository.flush(session)
    return new


async def put_in_force(session: AsyncSession, agreement_id: uuid.UUID, number: int, *,
                       signer: Signer, now: datetime) -> AgreementVersion:
    """生效: sign every clause of the draft version and supersede the version before it."""
    agreement = await access(session, agreement_id, lock=True)
    target = await version(session, agreement, number, lock=True)
    if target.status != "draft":
        raise Conflict(f"第 {number} 版不是草稿。", f"Version {number} is not a draft.",
                       code="version_not_draft", extra={"version_status": target.status})
    if number != agreement.latest_version:
        raise Conflict("只有最新的版本可以生效。", "Only the latest version can go in force.",
                       code="version_not_latest", extra={"latest": agreement.latest_version})
    clauses = await repository.clauses(session, target.id, lock=True)
    if not clauses:
        raise Conflict("附件中还没有条款。", "The annex has no clause yet.", code="annex_empty")
    incomplete = {c.clause_key: c.missing_parameters for c in clauses if c.missing_parameters}
    if incomplete:
        raise Conflict("有条款的参数尚未填写。", "Some clauses lack parameter values.",
                       code="clause_incomplete", extra={"clauses": incomplete})
    actor = await rls.principal(session)
    if agreement.in_force_version is not None:
        old = await version(session, agreement, agreement.in_force_version, lock=True)
        old.status, old.superseded_at, old.updated_at = "superseded", now, now
        for c in await repository.clauses(session, old.id, lock=True):
            c.status, c.updated_at = "superseded", now
        await repository.flush(session)
    target.status, target.in_force_at, target.in_force_by = "in_force", now, actor
    target.updated_at = now
    agreement.status, agreement.in_force_version, agreement.updated_at = "in_force", number, now
    await repository.flush(session)
    for c in clauses:
        signed = await signer.sign(session, agreement, target, c, now)
        c.document, c.document_sha256, c.document_kid = signed.document, signed.sha256, signed.kid
        c.status, c.signed_at, c.updated_at = "in_force", now, now
    await repository.flush(session)
    await audit.record(session, "contracts.version_in_force", tenant_id=agreement.tenant_id,
                       object_type="agreement", object_id=agreement.id,
                       payload={"version": number, "clauses": {
                           c.clause_key: c.document_sha256 for c in clauses}})
    return target


# ---- clauses ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Instance:
    """A template instantiated: what a clause row stores."""

    parameters: dict[str, Any]
    missing: list[str]
    text: str
    evidence_schema: dict[str, Any] | None
    condition: str | None
    reads: list[str]


def instantiate(template: ClauseTemplate, values: dict[str, Any], *,
                evidence_schema: dict[str, Any] | None = None, condition: str | None = None,
                allow_missing: bool = False) -> Instance:
    """The template with `values` (typed; defaults filled), its text rendered and the
    condition (the clause's own, else the template's) type-checked. TemplateError else."""
    params = parameters_of(template.parameters)
    filled, missing = check_values(params, values, allow_missing=allow_missing)
    schema = evidence_schema if evidence_schema is not None else template.evidence_schema
    source = condition if condition is not None else template.condition
    if source is not None and schema is None:
        raise TemplateError("template_invalid", "a condition needs an evidence schema",
                            path="evidence_schema")
    compiled = compile_condition(source, schema, params)
    return Instance(filled, missing, render(template.text, filled), schema, source,
                    list(compiled.reads) if compiled else [])


def _invalid(exc: TemplateError) -> InvalidInput:
    return templates.refused(exc)


async def _draft_version(session: AsyncSession, agreement_id: uuid.UUID,
                         number: int) -> tuple[Agreement, AgreementVersion]:
    agreement = await access(session, agreement_id, lock=True)
    target = await version(session, agreement, number, lock=True)
    if target.status != "draft":
        raise Conflict(f"第 {number} 版已生效或已被取代，条款不能再改。",
                       f"Version {number} is no longer a draft; its clauses stay as signed.",
                       code="version_not_draft", extra={"version_status": target.status})
    return agreement, target


async def add_clause(session: AsyncSession, caller: Caller, agreement_id: uuid.UUID,
                     number: int, data: ClauseCreate, *, now: datetime) -> AgreementClause:
    agreement, target = await _draft_version(session, agreement_id, number)
    template = await templates.access(session, caller, data.template)
    try:
        inst = instantiate(template, data.parameters, evidence_schema=data.evidence_schema,
                           condition=data.condition)
    except TemplateError as exc:
        raise _invalid(exc) from None
    key = data.key or template.code
    existing = await repository.clauses(session, target.id)
    if any(c.clause_key == key for c in existing):
        raise Conflict(f"附件中已有条款 {key}。", f"The annex already has clause {key}.",
                       code="clause_key_taken", extra={"key": key})
    row = clause_row(agreement, target, template, inst, key=key, position=len(existing),
                      origin="manual", item_id=None, actor=await rls.principal(session), now=now)
    repository.add(session, row)
    await repository.flush(session)
    await audit.record(session, "contracts.clause_added", tenant_id=agreement.tenant_id,
                       object_type="agreement_clause", object_id=row.id,
                       payload={"agreement": str(agreement.id), "version": number, "key": key,
                                "template": template.code, "parameters": inst.parameters,
                                "condition": inst.condition})
    return row


def clause_row(agreement: Agreement, target: AgreementVersion, template: ClauseTemplate | None,
                inst: Instance, *, key: str, position: int, origin: str,
                item_id: uuid.UUID | None, actor: str, now: datetime,
                title: tuple[str, str] | None = None) -> AgreementClause:
    title_zh, title_en = title or ((template.title_zh, template.title_en) if template
                                   else ("协商成果", "Bargaining outcome"))
    return AgreementClause(
        id=uuid.uuid4(), federation_id=agreement.federation_id, tenant_id=agreement.tenant_id,
        partner_id=agreement.partner_id, agreement_id=agreement.id, version_id=target.id,
        version_number=target.number, clause_key=key, position=position, status="draft",
        template_id=template.id if template else None,
        template_code=template.code if template else None,
        template_revision=template.revision if template else None, title_zh=title_zh,
        title_en=title_en, text=inst.text, parameters=inst.parameters,
        missing_parameters=inst.missing, evidence_schema=inst.evidence_schema,
        condition=inst.condition, condition_reads=inst.reads, agenda_item_id=item_id,
        origin=origin, created_by=actor, created_at=now, updated_at=now)


async def patch_clause(session: AsyncSession, clause_id: uuid.UUID, data: ClausePatch, *,
                       now: datetime) -> AgreementClause:
    row = await clause(session, clause_id, lock=True)
    agreement, target = await _draft_version(session, row.agreement_id, row.version_number)
    if data.parameters is None and data.condition is None and data.evidence_schema is None \
            and data.position is None and data.text is None:
        raise InvalidInput("没有要修改的内容。", "Nothing to change.", code="nothing_to_change")
    template = (await templates.by_id(session, row.template_id)) if row.template_id else None
    if template is None and (data.parameters or data.condition or data.evidence_schema):
        raise Conflict("该条款没有模板，不能按参数修改。", "This clause has no template to refill.",
                       code="clause_without_template")
    text = data.text.strip() if data.text is not None else None
    if text == "":
        raise InvalidInput("条款文本不能为空。", "A clause's text is not empty.",
                           code="validation_failed", extra={"path": "text"})
    if template is not None:
        # a text edited before is the clause's own: parameters alone do not re-render it
        own = row.text != render(template.text, row.parameters)
        values = {**row.parameters, **(data.parameters or {})}
        try:
            inst = instantiate(
                template, values,
                evidence_schema=(data.evidence_schema if data.evidence_schema is not None
                                 else row.evidence_schema),
                condition=data.condition if data.condition is not None else row.condition,
                allow_missing=row.origin != "manual")
        except TemplateError as exc:
            raise _invalid(exc) from None
        row.parameters, row.missing_parameters = inst.parameters, inst.missing
        row.text = text if text is not None else row.text if own else inst.text
        row.evidence_schema, row.condition, row.condition_reads = (
            inst.evidence_schema, inst.condition, inst.reads)
    elif text is not None:
        row.text = text
    if data.position is not None:
        row.position = data.position
    row.updated_at = now
    await repository.flush(session)
    await audit.record(session, "contracts.clause_edited", tenant_id=agreement.tenant_id,
                       object_type="agreement_clause", object_id=row.id,
                       payload={"version": target.number, "parameters": row.parameters,
                                "condition": row.condition, "text": row.text,
                                "text_edited": text is not None})
    return row


async def remove_clause(session: AsyncSession, clause_id: uuid.UUID) -> AgreementClause:
    """Take a clause out of a draft version's annex (a clause in force stays as signed)."""
    row = await clause(session, clause_id, lock=True)
    agreement, target = await _draft_version(session, row.agreement_id, row.version_number)
    await repository.remove(session, row.id)
    await audit.record(session, "contracts.clause_removed", tenant_id=agreement.tenant_id,
                       object_type="agreement_clause", object_id=row.id,
                       payload={"agreement": str(agreement.id), "version": target.number,
                                "key": row.clause_key})
    return row
