"""Workers log in by phone + one-time code; the phone is never shown or logged whole."""

from __future__ import annotations

import logging

import httpx
from sqlalchemy import select

from flexunion.auth.models import OtpChallenge, WorkerAccount
from tests.support.factories import Federation, bearer, random_phone, worker_login


async def ask(client, fed: str, phone: str) -> httpx.Response:
    return await client.post("/v1/auth/otp", json={"federation": fed, "phone": phone})


async def verify(client, fed: str, phone: str, code: str) -> httpx.Response:
    return await client.post("/v1/auth/otp/verify", json={"federation": fed, "phone": phone,
                                                         "code": code})


async def test_login_registers_once_and_me_is_masked(
    client, sms, federation: Federation, owner, clock
) -> None:
    phone = random_phone()
    token, worker_id = await worker_login(client, sms, federation.hq, phone)
    me = await client.get("/v1/me", headers=bearer(token))
    assert me.status_code == 200
    body = me.json()
    assert body["worker_id"] == worker_id
    assert body["phone_masked"] == phone[:3] + "****" + phone[-4:]
    assert phone not in me.text
    assert body["federation"] == federation.hq
    # Logging in again, the number written another way, is the same account.
    spaced = f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
    clock.advance(seconds=61)
    assert (await ask(client, federation.hq, spaced)).status_code == 202
    again = await verify(client, federation.hq, spaced, sms.last_code("+86" + phone))
    assert again.status_code == 200 and again.json()["subject"] == worker_id
    async with owner() as s:
        rows = (await s.scalars(select(WorkerAccount).where(
            WorkerAccount.tenant_id == federation.ids[federation.hq]))).all()
    assert len(rows) == 1
    assert phone not in rows[0].phone_hash and phone.encode() not in rows[0].phone_cipher


async def test_same_phone_in_two_federations_is_two_accounts(
    client, sms, federation: Federation, other_federation: Federation
) -> None:
    phone = random_phone()
    _, a = await worker_login(client, sms, federation.hq, phone)
    _, b = await worker_login(client, sms, other_federation.hq, phone)
    assert a != b


async def test_wrong_codes_lock_the_challenge(client, sms, federation: Federation, owner) -> None:
    phone = random_phone()
    assert (await ask(client, federation.hq, phone)).status_code == 202
    code = sms.last_code("+86" + phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        r = await verify(client, federation.hq, phone, wrong)
        assert r.status_code == 401 and r.json()["code"] == "otp_invalid"
    # The failures were kept although each request answered an error.
    async with owner() as s:
        challenge = await s.scalar(select(OtpChallenge).order_by(OtpChallenge.created_at.desc())
                                   .where(OtpChallenge.tenant_id == federation.ids[federation.hq]))
    assert challenge.attempts == 5
    locked = await verify(client, federation.hq, phone, code)
    assert locked.status_code == 429 and locked.json()["code"] == "otp_locked"


async def test_code_is_single_use_and_expires(client, sms, federation: Federation, clock) -> None:
    phone = random_phone()
    await ask(client, federation.hq, phone)
    code = sms.last_code("+86" + phone)
    assert (await verify(client, federation.hq, phone, code)).status_code == 200
    reused = await verify(client, federation.hq, phone, code)
    assert reused.status_code == 401 and reused.json()["code"] == "otp_invalid"
    clock.advance(seconds=61)
    await ask(client, federation.hq, phone)
    code = sms.last_code("+86" + phone)
    clock.advance(minutes=6)
    expired = await verify(client, federation.hq, phone, code)
    assert expired.status_code == 401 and expired.json()["code"] == "otp_invalid"


async def test_sending_is_rate_limited(
    client, sms, federation: Federation, clock, settings
) -> None:
    phone = random_phone()
    assert (await ask(client, federation.hq, phone)).status_code == 202
    soon = await ask(client, federation.hq, phone)
    assert soon.status_code == 429 and soon.json()["code"] == "otp_resend_too_soon"
    assert 1 <= int(soon.headers["retry-after"]) <= 60
    for _ in range(settings.auth.otp_sends_per_hour - 1):
        clock.advance(seconds=61)
        assert (await ask(client, federation.hq, phone)).status_code == 202
    clock.advance(seconds=61)
    r = await ask(client, federation.hq, phone)
    assert r.status_code == 429 and r.json()["code"] == "otp_rate_limited"
    assert len([p for p, _ in sms.sent if p == "+86" + phone]) == settings.auth.otp_sends_per_hour


async def test_bad_phone_and_unknown_federation(client, sms, federation: Federation) -> None:
    for phone in ("12345", "+1 202 555 0100", "010-12345678", "not a phone"):
        r = await ask(client, federation.hq, phone)
        assert r.status_code == 422 and r.json()["code"] in (
            "phone_invalid", "validation_failed"), phone
    r = await ask(client, "no-such-federation", random_phone())
    assert r.status_code == 422 and r.json()["code"] == "federation_unknown"
    # A regional union's code is not a federation to log in to.
    r = await ask(client, federation.regions[0], random_phone())
    assert r.status_code == 422 and r.json()["code"] == "federation_unknown"


async def test_phone_and_code_never_reach_logs_whole(
    client, sms, federation: Federation, caplog
) -> None:
    phone = random_phone()
    with caplog.at_level(logging.DEBUG):
        token, _ = await worker_login(client, sms, federation.hq, phone)
        await client.get("/v1/me", headers=bearer(token))
    text = "\n".join(str(vars(r)) for r in caplog.records)
    assert phone not in text


async def test_worker_token_is_not_an_admin_token(client, sms, federation: Federation) -> None:
    token, _ = await worker_login(client, sms, federation.hq)
    r = await client.get("/v1/admin/tenants", headers=bearer(token))
    assert r.status_code == 401 and r.json()["code"] == "token_wrong_audience"
