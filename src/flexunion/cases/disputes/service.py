"""争议处置: open a dispute on a case, fix its evidence (固定证据: the case's attachments filed
under the kind's checklist slots, and requests to the platform with a working-day deadline),
climb the ladder 提示 → 会商 → 发函 → 整改复核 → 衔接 one step at a time, and the platform's
side: its requests fulfilled and its replies to each step (docs/disputes.md).

Every write is one transaction: its rows, a case event where the case is the caller's
(`record`: the ledger's timeline) and an audit entry with actor and reason."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.evidence.store import EvidenceStore
from flexunion.calendars import service as calendars
from flexunion.cases.attachments import service as files
from flexunion.cases.disputes import codes, letters, repository
from flexunion.cases.disputes.models import (
    CaseDispute,
    DisputeDecision,
    DisputeEvidence,
    DisputeReferral,
    DisputeReply,
    DisputeStep,
)
from flexunion.cases.disputes.schemas import (
    DecisionRead,
    DisputeOpen,
    DisputeRead,
    EvidenceRead,
    NamedConsent,
    NamedPerson,
    ReferralRead,
    ReplyRead,
    RequestRead,
    ResolutionRead,
    SlotRead,
    StepCreate,
    StepRead,
    kind_label,
    slot_label,
    step_label,
)
from flexunion.cases.ledger import service as ledger
from flexunion.cases.ledger.models import Case
from flexunion.cases.ledger.schemas import label
from flexunion.consent import service as consent
from flexunion.core.clock import BEIJING
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.core.secrets import Keyring
from flexunion.db import rls
from flexunion.federation import directory
from flexunion.membership.identity import NAME_SEAL

Audience = Literal["staff", "worker", "partner"]


class DisputeNotFound(NotFound):
    code, title, title_en = "dispute_not_found", "未找到该争议", "Dispute not found"


class DisputeRequestNotFound(NotFound):
    code, title, title_en = ("dispute_request_not_found", "未找到该调取请求",
                             "Evidence request not found")


class DisputeStepNotFound(NotFound):
    code, title, title_en = "dispute_step_not_found", "未找到该处置步骤", "Dispute step not found"


def _no_dispute() -> DisputeNotFound:
    return DisputeNotFound("这条诉求没有立为争议，或不在你的范围内。",
                           "The case has no dispute, or it is outside your scope.")


def _slots_text(slots: Sequence[str]) -> tuple[str, str]:
    return ("、".join(codes.SLOTS[s][0] for s in slots),
            ", ".join(codes.SLOTS[s][1] for s in slots))


# ---- opening --------------------------------------------------------------------------------


async def _own_case(session: AsyncSession, case_id: uuid.UUID) -> Case:
    """The case, locked, when the caller's subtree holds its tenant (the handling union and
    those above it): a unit merely assigned to the case does not run its dispute."""
    case = await ledger.access_case(session, case_id, lock=True)
    if not await rls.in_scope(session, case.tenant_id):
        raise Forbidden("争议由诉求所在地工会（或其上级）处置，协办单位不能操作。",
                        "A dispute is run by the case's union or one above it, not by an "
                        "assisting unit.", code="dispute_not_yours")
    return case


async def open_dispute(session: AsyncSession, case_id: uuid.UUID, data: DisputeOpen, *,
                       now: datetime, reply_days: int) -> CaseDispute:
    """立为争议. Any case of the ledger may become one — a worker's app case too (the worker
    asks, staff decide) — when its category fits the kind; not an anonymous suggestion
    (nobody to act for) nor a merged case (it lives on in the one it was merged into)."""
    case = await _own_case(session, case_id)
    if case.channel == "qr_suggestion":
        raise InvalidInput("匿名意见没有可代表的劳动者，不能立为争议。",
                           "An anonymous suggestion has no worker to act for; it cannot "
                           "become a dispute.", code="dispute_anonymous")
    if case.status == "merged":
        raise Conflict("已并单的诉求不能立为争议，请在并入的诉求上办理。",
                       "A merged case cannot become a dispute; use the case it was merged "
                       "into.", code="dispute_case_merged")
    if not codes.kind_fits(data.kind, case.category):
        zh, en = codes.KINDS[data.kind]
        raise InvalidInput(f"诉求类别与争议类型“{zh}”不符。",
                           f"The case's category does not fit the dispute kind '{en}'.",
                           code="dispute_kind_mismatch",
                           extra={"kind": data.kind, "category": case.category})
    if await repository.by_case(session, case.id) is not None:
        raise Conflict("这条诉求已立为争议。", "The case already has a dispute.",
                       code="dispute_exists")
    if data.partner is not None:
        partner_id = (await directory.partner_by_code(session, case.federation_id,
                                                      data.partner)).id
    elif case.partner_id is not None:
        partner_id = case.partner_id
    else:
        raise InvalidInput("请指明争议所涉的平台企业。",
                           "Name the platform the dispute is addressed to.",
                           code="partner_required")
    actor = await rls.principal(session)
    row = CaseDispute(id=uuid.uuid4(), federation_id=case.federation_id,
                      tenant_id=case.tenant_id, case_id=case.id, case_no=case.case_no,
                      kind=data.kind, partner_id=partner_id, statement=data.statement,
                      step=None, opened_by=actor, opened_at=now, updated_at=now)
    repository.add(session, row)
    await repository.flush(session)
    due: str | None = None
    if data.kind in codes.ALGORITHMIC:
        # 算法决定: the platform owes its written reasons within `reply_days` working days
        at = (await calendars.deadline_after(session, row.tenant_id, now, reply_days)).at
        repository.add(session, DisputeDecision(
            id=uuid.uuid4(), federation_id=row.federation_id, tenant_id=row.tenant_id,
            dispute_id=row.id, reply_due_at=at))
        await repository.flush(session)
        due = at.isoformat()
    await ledger.record(session, case, "dispute", now=now,
                        details={"dispute_id": str(row.id), "kind": data.kind})
    await audit.record(session, "dispute.opened", tenant_id=case.tenant_id,
                       object_type="dispute", object_id=row.id,
                       payload={"case_id": str(case.id), "kind": data.kind,
                                "partner_id": str(partner_id),
                                **({"platform_reply_due_at": due} if due else {})})
    return row


async def staff_dispute(session: AsyncSession, case_id: uuid.UUID) -> CaseDispute:
    await ledger.access_case(session, case_id)
    row = await repository.by_case(session, case_id)
    if row is None:
        raise _no_dispute()
    return row


async def worker_dispute(session: AsyncSession, caller: Caller,
                         case_id: uuid.UUID) -> CaseDispute:
    await ledger.own_case(session, caller, case_id)
    row = await repository.by_case(session, case_id)
    if row is None:
        raise _no_dispute()
    return row


async def partner_dispute(session: AsyncSession, case_id: uuid.UUID) -> CaseDispute:
    """The dispute addressed to the calling platform (row-level security: only its own)."""
    row = await repository.by_case(session, case_id)
    if row is None or row.partner_id != await rls.current_partner(session):
        raise _no_dispute()
    return row


async def record_named(session: AsyncSession, caller: Caller, case_id: uuid.UUID,
                       named: bool) -> CaseDispute:
    """具名同意: the worker agrees to be named to the platform in the dispute on their own
    case, or withdraws (recorded in the consent domain, audited; the latest row decides)."""
    row = await worker_dispute(session, caller, case_id)
    await consent.record_dispute_named(session, caller, row.id, named)
    return row


async def worker_read(session: AsyncSession, caller: Caller, row: CaseDispute, *,
                      now: datetime) -> DisputeRead:
    body = await read(session, row, audience="worker", now=now)
    body.named = await consent.dispute_named(session, uuid.UUID(caller.subject), row.id)
    return body


async def partner_read(session: AsyncSession, keyring: Keyring, row: CaseDispute, *,
                       now: datetime) -> DisputeRead:
    """The platform's read; the worker is named only while the worker consents (the owner's
    function checks it, the partner reads no people table)."""
    body = await read(session, row, audience="partner", now=now)
    found = await repository.named_worker(session, row.id)
    if found is not None:
        sealed, rider = found
        body.named_as = NamedPerson(name=keyring.open(NAME_SEAL, sealed).decode(),
                                  platform_worker_id=rider)
    return body


async def locked(session: AsyncSession, case_id: uuid.UUID) -> tuple[Case, CaseDispute]:
    case = await _own_case(session, case_id)
    row = await repository.by_case(session, case.id, lock=True)
    if row is None:
        raise _no_dispute()
    return case, row



def ended() -> Conflict:
    return Conflict("争议已衔接移交，处置阶梯已走完。", "The dispute was handed over; the ladder "
                    "is finished.", code="dispute_ladder_ended")


def missing_slots(row: CaseDispute, evidence: Sequence[DisputeEvidence]) -> list[str]:
    filled = {e.slot for e in evidence}
    return [s for s in codes.CHECKLISTS[row.kind].required if s not in filled]


def _waiver(steps: Sequence[DisputeStep]) -> str | None:
    return next((s.details["evidence_waiver"] for s in steps
                 if s.details.get("evidence_waiver")), None)


def _step_details(data: StepCreate, steps: Sequence[DisputeStep]) -> dict[str, Any]:
    """What each step must carry (422 naming it)."""
    needs = {"consultation": ("minutes", "minutes_required", "会商须附会议纪要。",
                              "A consultation needs its minutes."),
             "letter": ("letter", "letter_required", "发函须附函件正文。",
                        "A formal letter needs its text."),
             "review": ("corrected", "review_outcome_required",
                        "整改复核须写明平台是否已按证据整改（corrected）。",
                        "A correction review must say whether the platform corrected it."),
             "handover": ("referral", "referral_required",
                          "衔接须写明移交对象和移交材料（referral）。",
                          "A hand-over needs the referral: to whom and what was sent.")}
    if data.step in needs:
        field, code, zh, en = needs[data.step]
        if getattr(data, field) is None:
            raise InvalidInput(zh, en, code=code, extra={"field": field})
    if data.step == "handover" and any(s.step == "review" and s.details.get("corrected")
                                       for s in steps):
        raise Conflict("整改复核已确认平台整改到位，无需衔接移交。",
                       "The correction review found the platform corrected it; there is "
                       "nothing to hand over.", code="dispute_corrected")
    details: dict[str, Any] = {}
    if data.minutes is not None:
        details["minutes"] = data.minutes
    if data.letter is not None:
        details["letter"] = data.letter
    if data.corrected is not None:
        details["corrected"] = data.corrected
    return details


async def _letter(session: AsyncSession, case: Case, row: CaseDispute, text: str,
                  evidence: Sequence[DisputeEvidence], now: datetime) -> letters.Letter:
    """发函's letter: from the federation and the case's union, to the platform, with the
    evidence index (slot, file, supplier by role only, time, sha256) and the date."""
    tenants = await directory.directory(session, row.federation_id)
    by_id = {e.id: e for e in tenants.values()}
    union = by_id.get(row.tenant_id)
    region = tenants.region_of(union) if union else None
    # the federation, the region, and the station that handles the case (when one does)
    sender = " ".join(dict.fromkeys(e.name_zh for e in (
        by_id.get(row.federation_id), region, union) if e is not None))
    partner = next((p for p in (await directory.partners(session, row.federation_id)).values()
                    if p.id == row.partner_id), None)
    names = {a.id: a.filename for a in await files.attachments(session, case)}
    kzh, ken = codes.KINDS[row.kind]
    return letters.Letter(
        sender=sender, addressee=f"{partner.name_zh}（{partner.name_en}）" if partner else "?",
        case_no=row.case_no, kind=f"{kzh} {ken}（{row.kind}）", statement=row.statement,
        text=text, dated=now.astimezone(BEIJING).date(),
        evidence=tuple(letters.EvidenceLine(
            slot=f"{codes.SLOTS[e.slot][0]}（{e.slot}）",
            filename=names.get(e.attachment_id, "?"),
            supplier=f"{codes.SUPPLIERS[e.supplier][0]} {codes.SUPPLIERS[e.supplier][1]}",
            supplied_at=e.supplied_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M"),
            sha256=e.sha256) for e in evidence))


async def take_step(session: AsyncSession, store: EvidenceStore, case_id: uuid.UUID,
                    data: StepCreate, *, now: datetime) -> CaseDispute:
    """The next rung, and only the next (409 `dispute_step_skipped`); past 提示 only with
    the kind's required slots filled or a reason recorded (409 `dispute_evidence_missing`).
    发函 renders the letter PDF, keeps it in the evidence store and records its sha256 on
    the step (`details.letter_pdf`): the letter sent is fixed."""
    case, row = await locked(session, case_id)
    expected = codes.next_step(row.step)
    if expected is None:
        raise ended()
    if data.step != expected:
        ezh, een = codes.STEPS[expected]
        raise Conflict(f"处置须逐级进行：下一步是“{ezh}”，不能跳到“{codes.STEPS[data.step][0]}”。",
                       f"The ladder takes one step at a time: the next is '{een}', not "
                       f"'{codes.STEPS[data.step][1]}'.", code="dispute_step_skipped",
                       extra={"expected": expected, "requested": data.step})
    steps = await repository.steps(session, row.id)
    evidence = await repository.evidence(session, row.id)
    details = _step_details(data, steps)
    missing = missing_slots(row, evidence)
    if expected != codes.LADDER[0] and missing:
        if data.evidence_waiver is None and _waiver(steps) is None:
            zh, en = _slots_text(missing)
            raise Conflict(f"证据尚未固定：{zh}。请补齐必备证据，或写明理由"
                           "（evidence_waiver）后再推进。",
                           f"Evidence not fixed yet: {en}. Fill the required slots, or record "
                           "a reason (evidence_waiver) to go on.",
                           code="dispute_evidence_missing", extra={"missing": missing})
        if data.evidence_waiver is not None:
            details |= {"evidence_waiver": data.evidence_waiver, "missing": missing}
    actor = await rls.principal(session)
    if data.step == "handover" and data.referral is not None:
        details |= {"to": data.referral.to, "to_name": data.referral.to_name}
    stored: str | None = None
    if data.step == "letter" and data.letter is not None:
        letter = await _letter(session, case, row, data.letter, evidence, now)
        pdf = await asyncio.to_thread(letters.render, letter)
        stored = await store.put(pdf, suffix=".pdf")
        details["letter_pdf"] = {"sha256": hashlib.sha256(pdf).hexdigest(),
                                 "size_bytes": len(pdf), "storage_key": stored}
    try:
        await _write_step(session, case, row, data, details, evidence, actor, now)
    except BaseException:
        if stored is not None:
            await store.delete(stored)
        raise
    return row


async def _write_step(session: AsyncSession, case: Case, row: CaseDispute, data: StepCreate,
                      details: dict[str, Any], evidence: Sequence[DisputeEvidence],
                      actor: str, now: datetime) -> None:
    step = DisputeStep(id=uuid.uuid4(), federation_id=row.federation_id,
                       tenant_id=row.tenant_id, dispute_id=row.id, step=data.step, at=now,
                       actor=actor, reason=data.reason, details=details)
    repository.add(session, step)
    await repository.flush(session)
    ref = data.referral if data.step == "handover" else None
    if ref is not None:
        # What was sent: the evidence index (each item's slot, attachment and sha256), then
        # the documents named.
        sent: list[Any] = [{"slot": e.slot, "attachment_id": str(e.attachment_id),
                            "sha256": e.sha256, "supplier": e.supplier} for e in evidence]
        sent += [{"document": d} for d in ref.sent]
        repository.add(session, DisputeReferral(
            id=uuid.uuid4(), federation_id=row.federation_id, tenant_id=row.tenant_id,
            dispute_id=row.id, step_id=step.id, to_kind=ref.to, to_name=ref.to_name,
            sent=sent, note=ref.note, by=actor, at=now))
    row.step, row.updated_at = data.step, now
    await repository.flush(session)
    await ledger.record(session, case, "dispute_step", now=now, reason=data.reason,
                        details={"dispute_id": str(row.id), "step": data.step})
    await audit.record(session, f"dispute.{data.step}", tenant_id=row.tenant_id,
                       object_type="dispute", object_id=row.id,
                       payload={"step_id": str(step.id), "reason": data.reason,
                                **({"evidence_waiver": data.evidence_waiver}
                                   if "evidence_waiver" in details else {}),
                                **({"letter_sha256": details["letter_pdf"]["sha256"]}
                                   if "letter_pdf" in details else {})})


async def reply(session: AsyncSession, case_id: uuid.UUID, step_id: uuid.UUID, text: str, *,
                now: datetime) -> CaseDispute:
    """The platform answers a step (once per step)."""
    row = await partner_dispute(session, case_id)
    step = next((s for s in await repository.steps(session, row.id) if s.id == step_id), None)
    if step is None:
        raise DisputeStepNotFound("这起争议没有这个处置步骤。", "The dispute has no such step.")
    answered = Conflict("该步骤已答复过。", "The step was answered already.",
                        code="dispute_step_answered")
    if any(r.step_id == step.id for r in await repository.replies(session, row.id)):
        raise answered
    partner = await rls.current_partner(session)
    assert partner is not None
    try:
        async with session.begin_nested():
            repository.add(session, DisputeReply(
                id=uuid.uuid4(), federation_id=row.federation_id, tenant_id=row.tenant_id,
                dispute_id=row.id, step_id=step.id, partner_id=partner, text=text,
                actor=await rls.principal(session), at=now))
            await repository.flush(session)
    except IntegrityError:
        raise answered from None
    await audit.record(session, "dispute.replied", tenant_id=row.tenant_id,
                       object_type="dispute", object_id=row.id,
                       payload={"step_id": str(step.id), "step": step.step})
    return row


# ---- reading ---------------------------------------------------------------------------------


def _evidence_read(e: DisputeEvidence) -> EvidenceRead:
    return EvidenceRead(id=e.id, slot=slot_label(e.slot), attachment_id=e.attachment_id,
                        sha256=e.sha256, supplier=label(codes.SUPPLIERS, e.supplier),
                        supplied_at=e.supplied_at.isoformat(), request_id=e.request_id)


async def read(session: AsyncSession, row: CaseDispute, *, audience: Audience,
               now: datetime) -> DisputeRead:
    evidence = await repository.evidence(session, row.id)
    steps = await repository.steps(session, row.id)
    replies = {r.step_id: r for r in await repository.replies(session, row.id)}
    by_request = {e.request_id: e for e in evidence if e.request_id is not None}
    partners = await directory.partner_codes(session, row.federation_id)
    partner = audience == "partner"
    checklist = codes.CHECKLISTS[row.kind]
    slots = None if partner else [
        SlotRead(slot=slot_label(s), required=s in checklist.required,
                 filled=any(e.slot == s for e in evidence),
                 items=[_evidence_read(e) for e in evidence if e.slot == s])
        for s in checklist.slots]
    referral = None if partner else await repository.referral(session, row.id)
    body = DisputeRead(
        id=row.id, case_id=None if partner else row.case_id, case_no=row.case_no,
        kind=kind_label(row.kind), partner=partners.get(row.partner_id, "?"),
        statement=row.statement, step=step_label(row.step),
        next_step=step_label(codes.next_step(row.step)), opened_at=row.opened_at.isoformat(),
        checklist=slots, missing=None if partner else missing_slots(row, evidence),
        evidence_waiver=None if partner else _waiver(steps),
        requests=[RequestRead(
            id=r.id, slot=slot_label(r.slot), note=r.note, due_at=r.due_at.isoformat(),
            overdue=(r.fulfilled_at or now) > r.due_at,
            requested_at=r.requested_at.isoformat(),
            fulfilled_at=r.fulfilled_at.isoformat() if r.fulfilled_at else None,
            sha256=by_request[r.id].sha256 if r.id in by_request else None)
            for r in await repository.requests(session, row.id)],
        steps=[StepRead(
            id=s.id, step=label(codes.STEPS, s.step), at=s.at.isoformat(),
            actor=s.actor if audience == "staff" else s.actor.partition(":")[0],
            reason=s.reason,
            details=_partner_details(s.details) if partner else _details(s.details),
            reply=ReplyRead(id=replies[s.id].id, text=replies[s.id].text,
                            at=replies[s.id].at.isoformat()) if s.id in replies else None)
            for s in steps],
        referral=None if referral is None else ReferralRead(
            to=label(codes.REFERRALS, referral.to_kind), to_name=referral.to_name,
            sent=list(referral.sent), note=referral.note, at=referral.at.isoformat()),
        decision=_decision_read(await repository.decision(session, row.id), audience, now),
        resolution=await _resolution_read(session, row, audience))
    if audience == "staff":
        # 具名同意, as staff may know it: the boolean and when (the owner's function).
        named = await repository.named_for_staff(session, row.id)
        if named is not None:
            body.named_consent = NamedConsent(
                named=named[0], at=named[1].isoformat() if named[1] else None)
    return body


async def _resolution_read(session: AsyncSession, row: CaseDispute,
                           audience: Audience) -> ResolutionRead | None:
    """分类处置 as read: the platform (a party to mediation and settlement) sees the path,
    the terms and the check, not the union's cause, notes or 回访."""
    res = await repository.resolution(session, row.id)
    if res is None:
        return None
    shown = ResolutionRead(
        path=label(codes.PATHS, res.path), terms=res.terms, transfer_to=res.transfer_to,
        at=res.at.isoformat(), kept=label(codes.KEPT, res.kept) if res.kept else None,
        checked_at=res.checked_at.isoformat() if res.checked_at else None)
    if audience == "partner":
        return shown
    units = {e.id: e.code for e in
             (await directory.directory(session, row.federation_id)).values()}
    shown.cause = label(codes.CAUSES, res.cause)
    shown.text, shown.check_note = res.text, res.check_note
    shown.next_node, shown.next_due_at = res.followup_node, res.followup_due_at.isoformat()
    shown.responsible_unit = units.get(res.followup_tenant_id, "?")
    return shown


def _decision_read(d: DisputeDecision | None, audience: Audience,
                   now: datetime) -> DecisionRead | None:
    if d is None:
        return None
    return DecisionRead(
        reply_due_at=d.reply_due_at.isoformat(),
        overdue=(d.reasons_at or now) > d.reply_due_at, reasons=d.reasons,
        reasons_at=d.reasons_at.isoformat() if d.reasons_at else None,
        reviewer=d.reviewer if audience == "staff" or d.reviewer is None
        else d.reviewer.partition(":")[0],
        outcome=label(codes.OUTCOMES, d.outcome) if d.outcome else None,
        outcome_text=d.outcome_text,
        decided_at=d.decided_at.isoformat() if d.decided_at else None)


def _details(details: dict[str, Any]) -> dict[str, Any]:
    """A step's details as read: the letter PDF's hash and size, not where it is stored."""
    shown = dict(details)
    if "letter_pdf" in shown:
        shown["letter_pdf"] = {k: v for k, v in shown["letter_pdf"].items()
                               if k != "storage_key"}
    return shown


def _partner_details(details: dict[str, Any]) -> dict[str, Any]:
    """The platform reads the minutes, the letter addressed to it (and its PDF's hash), the
    review's finding and to which kind of body the dispute was handed over — not the union's
    notes on the evidence, nor the referral's addressee and what was sent."""
    return {k: v for k, v in _details(details).items()
            if k in ("minutes", "letter", "letter_pdf", "corrected", "to")}


class LetterNotFound(NotFound):
    code, title, title_en = "dispute_letter_not_found", "尚未发函", "No letter yet"


async def letter_pdf(session: AsyncSession, row: CaseDispute) -> dict[str, Any]:
    """The 发函 step's stored PDF (storage key, sha256, size); 404 before the letter."""
    step = next((s for s in await repository.steps(session, row.id)
                 if s.step == "letter" and "letter_pdf" in s.details), None)
    if step is None:
        raise LetterNotFound("这起争议尚未发函。", "The dispute has no letter yet.")
    return {"case_no": row.case_no, **step.details["letter_pdf"]}
