"""The worker's inbox (收件箱): a row for each status change of the worker's own case (kind
`case_status`), for each move of it with the worker's transfer (`case_moved`) and for each
referral of it to a mediation or legal-aid provider, saying where to go (`case_referred`),
written in the transaction of the change by whoever makes it; an SMS as well (not for a
move) when the worker opted into SMS notices (consent `sms_notice`, the latest row deciding)
and the change is not the worker's own — sent only after the commit, never from inside the
transaction, with no detail beyond the case number and its new status (or that it was
referred).

What became of a referral is told too (migration 0044): a provider's receipt that matters to
the worker — accepted (`referral_accepted`), declined with its reason (`referral_declined`),
closed with its outcome (`referral_closed`) — and the union's cancellation
(`referral_cancelled`), one row per event with an SMS after the commit (opted in, the case
number only). A provider's `received` tells nothing: the worker already knows where to go,
and an acknowledgement changes nothing they are to do. The provider cannot read the case
(0041): its row is written by `flexunion_receipt_notice`, which names the worker itself.

Anonymous suggestions have no worker and get no notification: the pick-up code's holder reads
the status instead (cases/suggestions/service.py)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core.context import Caller
from flexunion.core.errors import NotFound
from flexunion.core.uow import after_commit, outbound
from flexunion.db import rls
from flexunion.inbox import repository
from flexunion.inbox.models import WorkerNotification
from flexunion.inbox.schemas import NotificationRead

log = logging.getLogger(__name__)
PHONE_SEAL = "phone"  # auth/workers/service.py seals phones under this purpose
After = tuple[datetime, uuid.UUID] | None


def sms_text(case_no: str, status_zh: str) -> str:
    return f"【工会服务】您的诉求 {case_no} 状态更新：{status_zh}。详情请在 App「我的诉求」查看。"


async def case_status_changed(
    session: AsyncSession, *, federation_id: uuid.UUID, tenant_id: uuid.UUID,
    worker_id: uuid.UUID, case_id: uuid.UUID, case_no: str, status: str,
    status_zh: str, status_en: str, now: datetime,
) -> WorkerNotification:
    """Write the worker's notification of the case's new status (same transaction)."""
    actor = await rls.principal(session)
    note = WorkerNotification(
        id=uuid.uuid4(), federation_id=federation_id, tenant_id=tenant_id,
        worker_id=worker_id, case_id=case_id, kind="case_status", status=status,
        case_no=case_no, title_zh=f"诉求 {case_no}：{status_zh}",
        title_en=f"Case {case_no}: {status_en}", sms="none", created_by=actor,
        created_at=now, read_at=None)
    repository.add(session, note)
    await repository.flush(session)
    if actor != f"worker:{worker_id}":
        await _sms_after_commit(session, note, status_zh)
    return note


async def case_moved(
    session: AsyncSession, *, federation_id: uuid.UUID, tenant_id: uuid.UUID,
    worker_id: uuid.UUID, case_id: uuid.UUID, case_no: str, status: str, to_zh: str,
    to_en: str, now: datetime,
) -> WorkerNotification:
    """跟随转会: the worker's case moved with their transfer to `to` (cases/moves/); an
    inbox row only (no SMS: nothing the worker must act on)."""
    note = WorkerNotification(
        id=uuid.uuid4(), federation_id=federation_id, tenant_id=tenant_id,
        worker_id=worker_id, case_id=case_id, kind="case_moved", status=status,
        case_no=case_no, title_zh=f"诉求 {case_no} 已随接转移交至{to_zh}办理",
        title_en=f"Case {case_no} moved with your transfer to {to_en}", sms="none",
        created_by=await rls.principal(session), created_at=now, read_at=None)
    repository.add(session, note)
    await repository.flush(session)
    return note


def referral_sms_text(case_no: str) -> str:
    return (f"【工会服务】您的诉求 {case_no} 已转介，去处和时间请在 App「我的诉求」查看。")


async def case_referred(
    session: AsyncSession, *, federation_id: uuid.UUID, tenant_id: uuid.UUID,
    worker_id: uuid.UUID, case_id: uuid.UUID, case_no: str, status: str, where_zh: str,
    where_en: str, now: datetime,
) -> WorkerNotification:
    """转介: where the worker is to go — the provider, its address and phone, the booked slot
    or the hand-over (`where_zh` / `where_en`, cases/referrals/) — one row per referral, in
    the referral's transaction (a refused or rolled-back referral tells nothing); an SMS
    after the commit when the worker opted in, saying only that the case was referred (the
    place and time stay in the app)."""
    note = WorkerNotification(
        id=uuid.uuid4(), federation_id=federation_id, tenant_id=tenant_id,
        worker_id=worker_id, case_id=case_id, kind="case_referred", status=status,
        case_no=case_no, title_zh=f"诉求 {case_no} 已转介：{where_zh}",
        title_en=f"Case {case_no} referred: {where_en}", sms="none",
        created_by=await rls.principal(session), created_at=now, read_at=None)
    repository.add(session, note)
    await repository.flush(session)
    await _sms_after_commit(session, note, text=referral_sms_text(case_no))
    return note


def referral_update_sms_text(case_no: str) -> str:
    return f"【工会服务】您的诉求 {case_no} 的转介有新进展，详情请在 App「我的诉求」查看。"


# What a provider's receipt tells the worker (zh, en), for each receipt the worker hears; the
# row's kind is `referral_<status>` (migration 0044 sets it from the receipt itself).
RECEIPT_NOTICES = {
    "accepted": ("{p}已受理转介", "{p} accepted the referral"),
    "declined": ("{p}不予受理转介，理由：{x}", "{p} declined the referral: {x}"),
    "closed": ("{p}已办结，结果：{x}", "{p} closed the matter: {x}"),
}


async def referral_receipt(
    session: AsyncSession, *, receipt_id: uuid.UUID, receipt_status: str, case_no: str,
    provider_zh: str, provider_en: str, detail: str | None,
) -> uuid.UUID | None:
    """机构回执: the provider's receipt as the worker is told it — accepted, declined with
    its reason, closed with its outcome (`detail`); `received` tells nothing. Called by the
    provider in the receipt's transaction; the row is written by `flexunion_receipt_notice`
    (the provider does not see the case or its worker), once per receipt and only for a case
    with a worker. Its id, or None when nothing was written."""
    found = RECEIPT_NOTICES.get(receipt_status)
    if found is None:
        return None
    zh, en = found
    title_zh = f"诉求 {case_no}：" + zh.format(p=provider_zh, x=detail or "")
    title_en = f"Case {case_no}: " + en.format(p=provider_en, x=detail or "")
    written = await repository.receipt_notice(session, receipt_id, title_zh, title_en)
    if written is not None:
        await _sms_after_commit_id(session, written, referral_update_sms_text(case_no))
    return written


async def referral_cancelled(
    session: AsyncSession, *, federation_id: uuid.UUID, tenant_id: uuid.UUID,
    worker_id: uuid.UUID, case_id: uuid.UUID, case_no: str, status: str, provider_zh: str,
    provider_en: str, reason: str, now: datetime,
) -> WorkerNotification:
    """转介已取消: the union cancelled a referral of the worker's case (a booked slot is free
    again) — one row, in the cancellation's transaction, with the reason; an SMS after the
    commit when the worker opted in (the case number only)."""
    note = WorkerNotification(
        id=uuid.uuid4(), federation_id=federation_id, tenant_id=tenant_id,
        worker_id=worker_id, case_id=case_id, kind="referral_cancelled", status=status,
        case_no=case_no, title_zh=f"诉求 {case_no}：转介至{provider_zh}已取消，原因：{reason}",
        title_en=f"Case {case_no}: the referral to {provider_en} was cancelled: {reason}",
        sms="none", created_by=await rls.principal(session), created_at=now, read_at=None)
    repository.add(session, note)
    await repository.flush(session)
    await _sms_after_commit(session, note, text=referral_update_sms_text(case_no))
    return note


async def _sms_after_commit(session: AsyncSession, note: WorkerNotification,
                            status_zh: str = "", *, text: str | None = None) -> None:
    await _sms_after_commit_id(session, note.id, text or sms_text(note.case_no, status_zh))


async def _sms_after_commit_id(session: AsyncSession, notification_id: uuid.UUID,
                               text: str) -> None:
    channels = outbound(session)
    if channels is None:  # not in the app (a CLI, a job without a gateway): the inbox only
        return
    sealed = await repository.claim_sms(session, notification_id)
    if sealed is None:  # not opted in
        return

    async def send() -> None:
        phone = channels.keyring.open(PHONE_SEAL, bytes(sealed)).decode()
        await channels.sms.send_notice(phone, text)

    after_commit(session, send)


async def service_decided(
    session: AsyncSession, *, federation_id: uuid.UUID, tenant_id: uuid.UUID,
    worker_id: uuid.UUID, application_id: uuid.UUID, number: str, status: str,
    title_zh: str, title_en: str, now: datetime,
) -> WorkerNotification:
    """服务申请: the window's decision on the worker's application (补件 asked, approved,
    refused), in the decision's transaction, so it is in the inbox once the decision commits
    (and never for one that rolled back); no SMS (services/applications/, migration 0052)."""
    note = WorkerNotification(
        id=uuid.uuid4(), federation_id=federation_id, tenant_id=tenant_id,
        worker_id=worker_id, case_id=None, application_id=application_id,
        kind="service_application", status=status, case_no=number, title_zh=title_zh,
        title_en=title_en, sms="none", created_by=await rls.principal(session),
        created_at=now, read_at=None)
    repository.add(session, note)
    await repository.flush(session)
    return note


async def trigger_notice(
    session: AsyncSession, *, federation_id: uuid.UUID, tenant_id: uuid.UUID,
    worker_id: uuid.UUID, trigger_action_id: uuid.UUID, kind: str, label: str,
    title_zh: str, title_en: str, now: datetime,
) -> WorkerNotification:
    """系统衔接: a trigger's action for the worker — a join invitation (`join_invitation`), a
    service offer (`service_offer`), a legal-information note (`legal_information`) — in the
    action's transaction, once per action (a unique index on `trigger_action_id`); no SMS
    (services/triggers/, migration 0055)."""
    note = WorkerNotification(
        id=uuid.uuid4(), federation_id=federation_id, tenant_id=tenant_id,
        worker_id=worker_id, case_id=None, application_id=None,
        trigger_action_id=trigger_action_id, kind=kind, status="sent", case_no=label,
        title_zh=title_zh, title_en=title_en, sms="none",
        created_by=await rls.principal(session), created_at=now, read_at=None)
    repository.add(session, note)
    await repository.flush(session)
    return note


def notification_read(n: WorkerNotification) -> NotificationRead:
    return NotificationRead(id=n.id, kind=n.kind, case_id=n.case_id, case_no=n.case_no,
                            status=n.status, title_zh=n.title_zh, title_en=n.title_en,
                            created_at=n.created_at.isoformat(),
                            read_at=n.read_at.isoformat() if n.read_at else None,
                            application_id=n.application_id,
                            trigger_action_id=n.trigger_action_id)


async def mine(session: AsyncSession, caller: Caller, *, unread: bool, after: After,
               limit: int) -> Sequence[WorkerNotification]:
    return await repository.page(session, uuid.UUID(caller.subject), unread=unread,
                                 after=after, limit=limit)


class NotificationNotFound(NotFound):
    code, title, title_en = "notification_not_found", "未找到该通知", "Notification not found"


async def mark_read(session: AsyncSession, caller: Caller, notification_id: uuid.UUID, *,
                    now: datetime) -> WorkerNotification:
    """Marked once: marking again keeps the first time."""
    note = await repository.get(session, notification_id)
    if note is None or str(note.worker_id) != caller.subject:
        raise NotificationNotFound("没有这条通知。", "No such notification.")
    if note.read_at is None:
        note.read_at = now
        await repository.flush(session)
    return note


async def mark_all_read(session: AsyncSession, caller: Caller, *, now: datetime) -> int:
    return await repository.mark_all_read(session, uuid.UUID(caller.subject), now)
