"""Recording consents, reading the one that decides, and the hooks a withdrawal runs.

The latest row of a purpose decides. A withdrawal can oblige another domain to act in the
same transaction (the worker is told the data is gone when the answer arrives): that domain
registers a hook at start-up with `on_withdrawal`, so this module never imports it."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.config import Settings
from flexunion.consent import repository
from flexunion.consent.models import (
    DISPUTE_NAMED,
    DISPUTE_NAMED_VERSION,
    PURPOSES,
    Purpose,
    WorkerConsent,
)
from flexunion.consent.schemas import ConsentCreate, RequiredConsent
from flexunion.core.context import Caller
from flexunion.core.errors import Forbidden

WithdrawalHook = Callable[[AsyncSession, Caller], Awaitable[None]]
_hooks: dict[str, dict[str, WithdrawalHook]] = {}


def on_withdrawal(purpose: str, name: str, hook: WithdrawalHook) -> None:
    """Run `hook(session, caller)` in the transaction that withdraws `purpose`. Registering
    the same name again replaces the hook (create_app may run more than once)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown consent purpose {purpose!r}")
    _hooks.setdefault(purpose, {})[name] = hook


async def record(session: AsyncSession, caller: Caller, data: ConsentCreate) -> WorkerConsent:
    """A worker grants or withdraws a consent; the federation is the token's."""
    consent = await repository.add(session, WorkerConsent(
        id=uuid.uuid4(), tenant_id=caller.tenant_id, worker_id=uuid.UUID(caller.subject),
        purpose=data.purpose, version=data.version, granted=data.granted))
    await audit.record(
        session, "worker.consent_recorded", tenant_id=caller.tenant_id,
        object_type="worker_consent", object_id=consent.id,
        payload={"purpose": data.purpose, "version": data.version, "granted": data.granted},
    )
    if not data.granted:
        for hook in list(_hooks.get(data.purpose, {}).values()):
            await hook(session, caller)
    return consent


async def record_dispute_named(session: AsyncSession, caller: Caller, dispute_id: uuid.UUID,
                               named: bool) -> WorkerConsent:
    """具名同意: the worker agrees (or no longer agrees) to be named to the platform the
    dispute is addressed to. Appended, audited; the database refuses a dispute that is not on
    the caller's own case (the caller's service checks first)."""
    consent = await repository.add(session, WorkerConsent(
        id=uuid.uuid4(), tenant_id=caller.tenant_id, worker_id=uuid.UUID(caller.subject),
        purpose=DISPUTE_NAMED, version=DISPUTE_NAMED_VERSION, granted=named,
        dispute_id=dispute_id))
    await audit.record(
        session, "worker.consent_recorded", tenant_id=caller.tenant_id,
        object_type="worker_consent", object_id=consent.id,
        payload={"purpose": DISPUTE_NAMED, "version": DISPUTE_NAMED_VERSION, "granted": named,
                 "dispute_id": str(dispute_id)},
    )
    return consent


async def dispute_named(session: AsyncSession, worker_id: uuid.UUID,
                        dispute_id: uuid.UUID) -> bool:
    """Whether the worker's latest naming consent for the dispute is a grant (as the caller's
    row-level security shows it: the worker themself or the union's staff)."""
    consent = await repository.latest_for_dispute(session, worker_id, dispute_id)
    return consent is not None and consent.granted


async def of_caller(session: AsyncSession, caller: Caller) -> Sequence[WorkerConsent]:
    """The worker's consents, newest first."""
    return await repository.of_worker(session, uuid.UUID(caller.subject))


async def latest(session: AsyncSession, caller: Caller) -> dict[str, WorkerConsent]:
    """The deciding (newest) consent of each purpose the worker has answered."""
    found: dict[str, WorkerConsent] = {}
    for consent in await of_caller(session, caller):
        found.setdefault(consent.purpose, consent)
    return found


async def granted(session: AsyncSession, caller: Caller, purpose: str) -> bool:
    consent = (await latest(session, caller)).get(purpose)
    return consent is not None and consent.granted


def required_for_join(settings: Settings) -> list[RequiredConsent]:
    """Joining needs the current privacy policy and the separate consent to processing the
    resident ID number (PIPL art. 29 单独同意), each in its current version."""
    versions: dict[Purpose, str] = {"privacy_policy": settings.consent.privacy_policy_version,
                                    "id_number": settings.consent.id_number_version}
    return [RequiredConsent(purpose=p, version=v, label_zh=PURPOSES[p][0],
                            label_en=PURPOSES[p][1]) for p, v in versions.items()]


async def require_for_join(session: AsyncSession, caller: Caller, settings: Settings) -> None:
    """403 `consent_required`, naming what is missing, unless both join consents are granted
    in their current versions."""
    have = await latest(session, caller)
    missing = [r for r in required_for_join(settings)
               if not (r.purpose in have and have[r.purpose].granted
                       and have[r.purpose].version == r.version)]
    if missing:
        labels = "、".join(r.label_zh for r in missing)
        raise Forbidden(
            f"入会前请先阅读并同意：{labels}（当前版本）。",
            "Joining needs the current privacy policy consent and the separate consent to "
            "processing the ID number (POST /v1/me/consents).",
            code="consent_required",
            extra={"required": [{"purpose": r.purpose, "version": r.version} for r in missing]})
