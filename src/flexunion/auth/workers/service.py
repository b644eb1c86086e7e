"""Worker login: phone + one-time code, in one federation.

Each step narrows its own database scope to exactly the credential it checks
(`login:otp:<federation>:<phone hash>`): row-level security then shows it that one phone's
challenges and account and nothing else. Codes are stored HMAC-hashed, a challenge allows
`otp_max_attempts` tries, and sending is limited per phone (resend gap, sends per hour).
Phone numbers are stored as an HMAC (lookup), AES-GCM ciphertext (for sending SMS) and a
mask (`139****5678`, the only form ever returned)."""

from __future__ import annotations

import hmac
import secrets
import uuid
from datetime import timedelta

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.auth.models import OtpChallenge, WorkerAccount
from flexunion.auth.schemas import AccessToken
from flexunion.auth.tokens import TokenService
from flexunion.auth.workers import repository
from flexunion.auth.workers.schemas import OtpRequested
from flexunion.auth.workers.sms import SmsGateway
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.core.errors import InvalidInput, NotFound, TooManyRequests, Unauthenticated
from flexunion.core.logs import mask_phone
from flexunion.core.secrets import Keyring
from flexunion.core.uow import UnitOfWork
from flexunion.db.scope import DbScope
from flexunion.federation import directory

PHONE_HASH = "phone-hash"
PHONE_SEAL = "phone"
OTP_HASH = "otp"


def normalise_phone(raw: str) -> str:
    """Mainland mobile numbers, with or without +86, to E.164; others refused."""
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput("无法识别该手机号。", "The phone number cannot be read.",
                           code="phone_invalid") from exc
    if number.country_code != 86:
        raise InvalidInput("请使用中国大陆手机号（+86）。",
                           "Use a mainland China mobile number (+86).", code="phone_invalid")
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise InvalidInput("请使用有效的手机号。", "Use a valid mobile number.",
                           code="phone_invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


async def enter_otp_login(
    uow: UnitOfWork, keyring: Keyring, federation: str, phone: str
) -> tuple[str, uuid.UUID, str]:
    """Narrow the transaction to this one phone in this one federation:
    (E.164 number, federation id, phone hash)."""
    e164 = normalise_phone(phone)
    fed_id = await directory.find_federation(uow.session, federation)
    if fed_id is None:
        raise InvalidInput(f"没有联合会 {federation}。", f"No federation '{federation}'.",
                           code="federation_unknown")
    phone_hash = keyring.keyed_hash(PHONE_HASH, e164)
    await uow.rescope(DbScope(None, f"login:otp:{fed_id}:{phone_hash}", uow.scope.request_id))
    return e164, fed_id, phone_hash


async def request_otp(
    uow: UnitOfWork, settings: Settings, keyring: Keyring, clock: Clock, sms: SmsGateway, *,
    federation: str, phone: str,
) -> OtpRequested:
    e164, fed_id, phone_hash = await enter_otp_login(uow, keyring, federation, phone)
    session = uow.session
    now = clock.now()
    rules = settings.auth
    count, last = await repository.codes_sent_since(session, fed_id, phone_hash,
                                                    now - timedelta(hours=1))
    if last is not None and (now - last).total_seconds() < rules.otp_resend_after_seconds:
        wait = rules.otp_resend_after_seconds - int((now - last).total_seconds())
        raise TooManyRequests("验证码刚刚发出，请稍后再试。", "A code was sent moments ago.",
                              code="otp_resend_too_soon",
                              headers={"Retry-After": str(max(wait, 1))})
    if count >= rules.otp_sends_per_hour:
        raise TooManyRequests("该号码本小时收到的验证码过多。",
                              "Too many codes for this number this hour.",
                              code="otp_rate_limited", headers={"Retry-After": "3600"})
    challenge_id = uuid.uuid4()
    code = f"{secrets.randbelow(1_000_000):06d}"
    await repository.add(session, OtpChallenge(
        id=challenge_id, tenant_id=fed_id, phone_hash=phone_hash,
        code_hash=keyring.keyed_hash(OTP_HASH, f"{challenge_id}:{code}"),
        expires_at=now + timedelta(seconds=rules.otp_ttl_seconds), created_at=now,
    ))

    async def deliver() -> None:
        await sms.send_code(e164, code)

    uow.after_commit(deliver)  # the SMS goes out only once the challenge has landed
    return OtpRequested(expires_in=rules.otp_ttl_seconds,
                        resend_after=rules.otp_resend_after_seconds)


async def verify_otp(
    uow: UnitOfWork, settings: Settings, keyring: Keyring, clock: Clock, tokens: TokenService,
    *, federation: str, phone: str, code: str,
) -> AccessToken:
    """Spend the code; the first login registers the worker account. A worker token."""
    e164, fed_id, phone_hash = await enter_otp_login(uow, keyring, federation, phone)
    session = uow.session
    now = clock.now()
    challenge = await repository.live_challenge(session, fed_id, phone_hash, now)
    if challenge is None:
        raise Unauthenticated("该号码没有有效的验证码，请重新获取。",
                              "No valid code for this number; request a new one.",
                              code="otp_invalid")
    if challenge.attempts >= settings.auth.otp_max_attempts:
        raise TooManyRequests("验证码错误次数过多，请重新获取。",
                              "Too many wrong codes; request a new one.", code="otp_locked")
    expected = keyring.keyed_hash(OTP_HASH, f"{challenge.id}:{code}")
    if not hmac.compare_digest(expected, challenge.code_hash):
        challenge.attempts += 1
        await repository.flush(session)
        raise Unauthenticated("验证码错误。", "The code is wrong.", code="otp_invalid",
                              commit_writes=True)
    challenge.consumed_at = now
    worker = await repository.worker_by_phone(session, fed_id, phone_hash)
    if worker is None:
        worker = WorkerAccount(
            id=uuid.uuid4(), tenant_id=fed_id, phone_hash=phone_hash,
            phone_masked=mask_phone(e164), phone_cipher=keyring.seal(PHONE_SEAL, e164.encode()),
        )
        await repository.add(session, worker)
        await audit.record(session, "worker.registered", tenant_id=fed_id,
                           object_type="worker_account", object_id=worker.id)
    worker.last_login_at = now
    await repository.flush(session)
    await uow.rescope(DbScope(None, f"{Role.WORKER.value}:{worker.id}", uow.scope.request_id))
    return await tokens.answer_login(role=Role.WORKER, subject=str(worker.id),
                                     tenant_id=fed_id, tenant_code=federation)


async def worker_account(session: AsyncSession, caller: Caller) -> WorkerAccount:
    """The calling worker's own account (row-level security shows it no other)."""
    worker = await repository.worker_by_id(session, uuid.UUID(caller.subject))
    if worker is None:
        raise NotFound("没有这个账号。", "No such worker account.", code="worker_not_found")
    return worker
