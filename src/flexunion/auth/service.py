"""Logins: worker phone + one-time code, admin username + password.

Each login narrows its own database scope to exactly the credential it is
checking (`login:otp:<federation>:<phone hash>`, `login:admin:<username>`):
row-level security then shows it that one account and nothing else."""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import anyio.to_thread
import phonenumbers
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.auth.models import AdminAccount, OtpChallenge, PartnerClient, WorkerAccount
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.core.errors import InvalidInput, NotFound, TooManyRequests, Unauthenticated
from flexunion.core.logs import mask_phone
from flexunion.core.secrets import Keyring
from flexunion.core.uow import UnitOfWork
from flexunion.db.scope import DbScope
from flexunion.federation.models import PlatformPartner

PHONE_HASH = "phone-hash"
PHONE_SEAL = "phone"
OTP_HASH = "otp"
ADMIN_MAX_FAILURES = 5
ADMIN_LOCK_MINUTES = 15

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("flexunion-timing-equaliser")


def normalise_phone(raw: str) -> str:
    """Mainland mobile numbers, with or without +86, to E.164; others refused."""
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput("The phone number cannot be read.", code="phone_invalid") from exc
    if number.country_code != 86:
        raise InvalidInput("Use a mainland China mobile number (+86).", code="phone_invalid")
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise InvalidInput("Use a valid mobile number.", code="phone_invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def federation_by_code(session: AsyncSession, code: str) -> uuid.UUID:
    fed = await session.scalar(text("SELECT flexunion_federation_by_code(:c)"), {"c": code})
    if fed is None:
        raise InvalidInput(f"No federation '{code}'.", code="federation_unknown")
    return fed


async def enter_otp_login(
    uow: UnitOfWork, keyring: Keyring, federation: str, phone: str
) -> tuple[str, uuid.UUID, str]:
    """Narrow the transaction to this one phone in this one federation."""
    e164 = normalise_phone(phone)
    fed_id = await federation_by_code(uow.session, federation)
    phone_hash = keyring.keyed_hash(PHONE_HASH, e164)
    await uow.rescope(DbScope(None, f"login:otp:{fed_id}:{phone_hash}", uow.scope.request_id))
    return e164, fed_id, phone_hash


@dataclass(frozen=True, slots=True)
class OtpSent:
    expires_in: int
    resend_after: int


async def request_otp(
    uow: UnitOfWork, settings: Settings, keyring: Keyring, clock: Clock, sms, *,
    federation: str, phone: str,
) -> OtpSent:
    e164, fed_id, phone_hash = await enter_otp_login(uow, keyring, federation, phone)
    session = uow.session
    now = clock.now()
    recent = (
        await session.execute(
            select(func.count(), func.max(OtpChallenge.created_at)).where(
                OtpChallenge.tenant_id == fed_id,
                OtpChallenge.phone_hash == phone_hash,
                OtpChallenge.created_at > now - timedelta(hours=1),
            )
        )
    ).one()
    count, last = recent
    if last is not None and (now - last).total_seconds() < settings.auth.otp_resend_after_seconds:
        wait = settings.auth.otp_resend_after_seconds - int((now - last).total_seconds())
        raise TooManyRequests("A code was sent moments ago.", code="otp_resend_too_soon",
                              headers={"Retry-After": str(max(wait, 1))})
    if count >= settings.auth.otp_sends_per_hour:
        raise TooManyRequests("Too many codes for this number this hour.", code="otp_rate_limited",
                              headers={"Retry-After": "3600"})
    challenge_id = uuid.uuid4()
    code = f"{secrets.randbelow(1_000_000):06d}"
    session.add(
        OtpChallenge(
            id=challenge_id, tenant_id=fed_id, phone_hash=phone_hash,
            code_hash=keyring.keyed_hash(OTP_HASH, f"{challenge_id}:{code}"),
            expires_at=now + timedelta(seconds=settings.auth.otp_ttl_seconds), created_at=now,
        )
    )
    await session.flush()

    async def deliver() -> None:
        await sms.send_code(e164, code)

    uow.after_commit(deliver)  # the SMS goes out only once the challenge has landed
    return OtpSent(expires_in=settings.auth.otp_ttl_seconds, resend_after=settings.auth.otp_resend_after_seconds)


async def verify_otp(
    uow: UnitOfWork, settings: Settings, keyring: Keyring, clock: Clock, *,
    federation: str, phone: str, code: str,
) -> tuple[WorkerAccount, uuid.UUID]:
    e164, fed_id, phone_hash = await enter_otp_login(uow, keyring, federation, phone)
    session = uow.session
    now = clock.now()
    challenge = await session.scalar(
        select(OtpChallenge)
        .where(OtpChallenge.tenant_id == fed_id, OtpChallenge.phone_hash == phone_hash,
               OtpChallenge.consumed_at.is_(None), OtpChallenge.expires_at > now)
        .order_by(OtpChallenge.created_at.desc())
        .limit(1)
        .with_for_update()
    )
    if challenge is None:
        raise Unauthenticated("No valid code for this number; request a new one.",
                              code="otp_invalid")
    if challenge.attempts >= settings.auth.otp_max_attempts:
        raise TooManyRequests("Too many wrong codes; request a new one.", code="otp_locked")
    expected = keyring.keyed_hash(OTP_HASH, f"{challenge.id}:{code}")
    if not hmac.compare_digest(expected, challenge.code_hash):
        challenge.attempts += 1
        await session.flush()
        raise Unauthenticated("The code is wrong.", code="otp_invalid", commit_writes=True)
    challenge.consumed_at = now
    worker = await session.scalar(
        select(WorkerAccount).where(WorkerAccount.tenant_id == fed_id,
                                    WorkerAccount.phone_hash == phone_hash)
    )
    if worker is None:
        worker = WorkerAccount(
            id=uuid.uuid4(), tenant_id=fed_id, phone_hash=phone_hash,
            phone_masked=mask_phone(e164), phone_cipher=keyring.seal(PHONE_SEAL, e164.encode()),
        )
        session.add(worker)
        await session.flush()
        await audit.record(session, "worker.registered", tenant_id=fed_id,
                           object_type="worker_account", object_id=worker.id)
    worker.last_login_at = now
    await session.flush()
    await uow.rescope(DbScope(None, f"{Role.WORKER.value}:{worker.id}", uow.scope.request_id))
    return worker, fed_id


async def worker_account(session: AsyncSession, caller: Caller) -> WorkerAccount:
    """The calling worker's own account (row-level security shows it no other)."""
    worker = await session.get(WorkerAccount, uuid.UUID(caller.subject))
    if worker is None:
        raise NotFound("没有这个账号。", "No such worker account.", code="worker_not_found")
    return worker


async def client_partner(session: AsyncSession, client_id: str) -> tuple[uuid.UUID, str]:
    """(partner id, partner code) of a partner client: 404 `partner_client_not_found`, or
    401 `client_disabled` for a disabled client."""
    row = (await session.execute(
        select(PartnerClient.partner_id, PartnerClient.disabled, PlatformPartner.code)
        .join(PlatformPartner, PlatformPartner.id == PartnerClient.partner_id)
        .where(PartnerClient.client_id == client_id))).first()
    if row is None:
        raise NotFound("没有这个平台客户端。", "This partner client is not known.",
                       code="partner_client_not_found")
    if row.disabled:
        raise Unauthenticated("该平台客户端已停用。", "This partner client is disabled.",
                              code="client_disabled")
    return row.partner_id, row.code


async def check_password_off_loop(stored: str | None, password: str) -> bool:
    """argon2 takes ~0.1 s of CPU by design: keep it off the event loop."""
    return await anyio.to_thread.run_sync(check_password, stored, password)


async def admin_password_login(
    uow: UnitOfWork, clock: Clock, *, username: str, password: str
) -> AdminAccount:
    session = uow.session
    await uow.rescope(DbScope(None, f"login:admin:{username}", uow.scope.request_id))
    account = await session.scalar(
        select(AdminAccount).where(AdminAccount.username == username).with_for_update()
    )
    now = clock.now()
    if account is None or account.disabled:
        await check_password_off_loop(None, password)  # same work, account or not
        raise Unauthenticated("Wrong username or password.", code="login_failed")
    if account.locked_until is not None and account.locked_until > now:
        raise TooManyRequests("Too many failed logins; try again later.", code="login_locked")
    if not await check_password_off_loop(account.password_hash, password):
        account.failed_logins += 1
        if account.failed_logins >= ADMIN_MAX_FAILURES:
            account.locked_until = now + timedelta(minutes=ADMIN_LOCK_MINUTES)
            account.failed_logins = 0
        await session.flush()
        raise Unauthenticated("Wrong username or password.", code="login_failed",
                              commit_writes=True)
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    await session.flush()
    role = Role(account.role)
    await uow.rescope(DbScope(account.tenant_id, f"{role.value}:{account.id}", uow.scope.request_id))
    await audit.record(session, "auth.admin_login", tenant_id=account.tenant_id,
                       object_type="admin_account", object_id=account.id,
                       payload={"method": "password"})
    return account
