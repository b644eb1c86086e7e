"""机构端: a referral provider's desk (issue 15: "legal-aid providers see only the referral
they received"; migration 0041).

- HQ and regional admins make machine clients for a provider kept in their subtree (OAuth2
  client credentials, auth/providers: the secret shown once), rotate a client's secret and
  disable it; the operator does the same from the CLI.
- A provider's token (`provider:<client id>`, audience flexunion-provider) reaches no
  tenant's rows: row-level security shows it its own directory entry and the referrals made
  to it, and the case behind one only as `flexunion_provider_cases` answers (number,
  category, dispute kind). Any other referral is a 404, like one that does not exist.
- The provider records its receipt of a referral step by step (lifecycle below; a trigger
  holds the same table): received → accepted / declined (with a reason); accepted → closed
  (with the outcome text). Each receipt is audited on the case, shows on the staff's (and
  the worker's) referral read and, written by a trigger, on the case's timeline; an
  acceptance, a decline and a closing also reach the worker's inbox (inbox/service.py
  `referral_receipt`, migration 0044), once per receipt — a `received` does not."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.auth.models import ProviderClient
from flexunion.auth.providers import service as clients
from flexunion.cases.provider_desk import repository
from flexunion.cases.provider_desk.schemas import (
    ProviderProfile,
    ProviderReferralRead,
    ReceiptCreate,
    profile_read,
    provider_referral_read,
)
from flexunion.cases.referrals import repository as referrals
from flexunion.cases.referrals.models import CaseReferral, ReferralProvider, ReferralReceipt
from flexunion.core.context import Caller, Role
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.db import rls
from flexunion.federation import directory
from flexunion.inbox import service as inbox

MANAGERS = frozenset({Role.HQ_ADMIN, Role.REGIONAL_ADMIN})
# Which receipt may follow which (None: the first). declined and closed are final.
NEXT: dict[str | None, frozenset[str]] = {
    None: frozenset({"received", "accepted", "declined"}),
    "received": frozenset({"accepted", "declined"}),
    "accepted": frozenset({"closed"}),
}


# ---- HQ and regional admins: a provider's clients ------------------------------------------


async def managed_provider(session: AsyncSession, caller: Caller,
                           code: str) -> ReferralProvider:
    """A provider the caller keeps: 403 `providers_admin_only` for other staff, 404
    `provider_not_found`, 403 `provider_outside_subtree` for a provider of another region."""
    if caller.role not in MANAGERS:
        raise Forbidden("机构客户端由总部或地区工会管理。",
                        "HQ and regional admins manage providers' clients.",
                        code="providers_admin_only")
    fed = await directory.federation_of(session, caller)
    row = await referrals.provider(session, fed, code)
    if row is None:
        raise NotFound("没有该调解或法律援助机构。", "No such provider.",
                       code="provider_not_found")
    if not await rls.in_scope(session, row.tenant_id):
        raise Forbidden(f"{code} 不在您的管辖范围内。", f"'{code}' is outside your subtree.",
                        code="provider_outside_subtree", extra={"provider": code})
    return row


async def create_client(session: AsyncSession, caller: Caller, code: str,
                        name: str) -> tuple[ProviderClient, str]:
    provider = await managed_provider(session, caller, code)
    return await clients.create_client(
        session, federation_id=provider.federation_id, tenant_id=provider.tenant_id,
        provider_id=provider.id, provider_code=provider.code, name=name,
        created_by=caller.principal)


async def list_clients(session: AsyncSession, caller: Caller,
                       code: str) -> list[ProviderClient]:
    provider = await managed_provider(session, caller, code)
    return await clients.clients(session, provider.id)


async def disable_client(session: AsyncSession, caller: Caller, code: str,
                         client_uuid: uuid.UUID) -> ProviderClient:
    provider = await managed_provider(session, caller, code)
    return await clients.disable_client(session, provider.id, client_uuid)


async def rotate_secret(session: AsyncSession, caller: Caller, code: str,
                        client_uuid: uuid.UUID) -> tuple[ProviderClient, str]:
    provider = await managed_provider(session, caller, code)
    return await clients.rotate_secret(session, provider.id, client_uuid)


async def create_client_as_operator(session: AsyncSession, *, federation_code: str,
                                    provider_code: str, name: str,
                                    operator: str) -> tuple[str, str]:
    """The operator's action (the CLI, as the owner): (client_id, secret)."""
    fed = await directory.tenant_by_code(session, federation_code)
    provider = await referrals.provider(session, fed.federation_id, provider_code)
    if provider is None:
        raise InvalidInput(f"没有编码为 {provider_code} 的机构。",
                           f"No provider '{provider_code}' in {federation_code}.",
                           code="unknown_provider")
    client, secret = await clients.create_client(
        session, federation_id=provider.federation_id, tenant_id=provider.tenant_id,
        provider_id=provider.id, provider_code=provider.code, name=name, created_by=operator)
    return client.client_id, secret


async def _operators_client(session: AsyncSession, client_id: str) -> ProviderClient:
    client = await clients.by_client_id(session, client_id)
    if client is None:
        raise clients.client_not_found()
    return client


async def rotate_as_operator(session: AsyncSession, client_id: str) -> str:
    """The operator's action (the CLI, as the owner): the new secret."""
    client = await _operators_client(session, client_id)
    _, secret = await clients.rotate_secret(session, client.provider_id, client.id)
    return secret


async def disable_as_operator(session: AsyncSession, client_id: str) -> None:
    client = await _operators_client(session, client_id)
    await clients.disable_client(session, client.provider_id, client.id)


# ---- the provider ---------------------------------------------------------------------------


async def _mine(session: AsyncSession, caller: Caller) -> tuple[ProviderClient,
                                                                ReferralProvider]:
    client = await clients.calling_client(session, caller)
    found = await referrals.providers_by_id(session, [client.provider_id])
    provider = found.get(client.provider_id)
    if provider is None:  # row-level security shows a provider its own entry
        raise clients.client_not_found()
    return client, provider


async def profile(session: AsyncSession, caller: Caller) -> ProviderProfile:
    client, provider = await _mine(session, caller)
    return profile_read(client, provider, caller.tenant_code)


def _not_found() -> NotFound:
    return NotFound("没有该转介记录。", "No such referral.", code="referral_not_found")


async def _reads(session: AsyncSession, rows: list[CaseReferral]) -> list[ProviderReferralRead]:
    facts = await repository.case_facts(session, [r.id for r in rows])
    receipts = await referrals.receipts_of(session, [r.id for r in rows])
    # the function answers for every referral row-level security shows the provider
    return [provider_referral_read(r, facts[r.id], receipts[r.id]) for r in rows
            if r.id in facts]


async def referral_page(session: AsyncSession, caller: Caller, *,
                        after: tuple[datetime, uuid.UUID] | None,
                        limit: int) -> tuple[list[CaseReferral], list[ProviderReferralRead]]:
    """The referrals made to my provider, newest first: `limit` rows fetched (the page and
    one more), the page's reads."""
    _, provider = await _mine(session, caller)
    rows = list(await repository.referrals_to(session, provider.id, after=after, limit=limit))
    return rows, await _reads(session, rows[:max(limit - 1, 0)])


async def _referral(session: AsyncSession, caller: Caller,
                    referral_id: uuid.UUID) -> tuple[ReferralProvider, CaseReferral]:
    _, provider = await _mine(session, caller)
    row = await repository.referral_to(session, provider.id, referral_id)
    if row is None:
        raise _not_found()
    return provider, row


async def referral(session: AsyncSession, caller: Caller,
                   referral_id: uuid.UUID) -> ProviderReferralRead:
    _, row = await _referral(session, caller, referral_id)
    return (await _reads(session, [row]))[0]


def _check(data: ReceiptCreate) -> None:
    if data.status == "declined" and data.reason is None:
        raise InvalidInput("不予受理须说明理由。", "A decline gives its reason.",
                           code="receipt_reason_required")
    if data.status == "closed" and data.outcome is None:
        raise InvalidInput("办结须写明结果。", "Closing gives the outcome.",
                           code="receipt_outcome_required")
    if (data.reason is not None and data.status != "declined") or \
            (data.outcome is not None and data.status != "closed"):
        raise InvalidInput("理由仅用于不予受理，结果仅用于办结。",
                           "`reason` goes with declined, `outcome` with closed.",
                           code="receipt_field_not_allowed")


async def record_receipt(session: AsyncSession, caller: Caller, referral_id: uuid.UUID,
                         data: ReceiptCreate, *, now: datetime) -> ProviderReferralRead:
    """One receipt of a referral made to me, next in its lifecycle (`NEXT`): 422 for a
    missing reason / outcome, 409 `referral_cancelled`, 409 `receipt_step_not_allowed`, 409
    `receipt_conflict` when another receipt of it was recorded at the same moment."""
    _check(data)
    provider, row = await _referral(session, caller, referral_id)
    if row.status == "cancelled":
        raise Conflict("该转介已被工会取消。", "The union cancelled this referral.",
                       code="referral_cancelled")
    done = list(await repository.receipts(session, row.id))
    last = done[-1].status if done else None
    allowed = NEXT.get(last, frozenset())
    if data.status not in allowed:
        raise Conflict("该回执不能在当前状态之后记录。",
                       "This receipt cannot follow the referral's current one.",
                       code="receipt_step_not_allowed",
                       extra={"current": last, "allowed": sorted(allowed)})
    receipt = ReferralReceipt(
        id=uuid.uuid4(), federation_id=row.federation_id, tenant_id=row.tenant_id,
        referral_id=row.id, case_id=row.case_id, provider_id=provider.id,
        seq=(done[-1].seq if done else 0) + 1, status=data.status,
        reason=data.reason.strip() if data.reason else None,
        outcome=data.outcome.strip() if data.outcome else None,
        note=data.note.strip() if data.note else None,
        recorded_by=caller.principal, recorded_at=now)
    try:
        async with session.begin_nested():
            repository.add(session, receipt)
            await repository.flush(session)
    except IntegrityError:  # another receipt of this referral took the same place
        raise Conflict("同时记录了另一条回执，请刷新后重试。",
                       "Another receipt was recorded at the same moment; read it again.",
                       code="receipt_conflict") from None
    await audit.record(session, "case.referral.receipt", tenant_id=row.tenant_id,
                       object_type="case", object_id=row.case_id,
                       payload={"referral_id": str(row.id), "provider": provider.code,
                                "status": data.status, "seq": receipt.seq})
    read = (await _reads(session, [row]))[0]
    # the worker hears an acceptance, a decline (its reason) and a closing (its outcome)
    await inbox.referral_receipt(
        session, receipt_id=receipt.id, receipt_status=receipt.status, case_no=read.case_no,
        provider_zh=provider.name_zh, provider_en=provider.name_en,
        detail=receipt.reason or receipt.outcome)
    return read
