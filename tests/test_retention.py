from __future__ import annotations

from sqlalchemy import func, select, text

from flexunion.auth.models import OtpChallenge
from flexunion.db.engine import apply_scope
from flexunion.db.retention import PRINCIPAL, purge
from flexunion.db.scope import DbScope
from tests.support.factories import Federation, bearer, worker_login


async def test_purge_removes_only_what_has_expired(client, sms, federation: Federation,
                                                   owner) -> None:
    token, worker = await worker_login(client, sms, federation.hq)
    for key in ("old", "fresh"):
        r = await client.post("/v1/me/consents", headers=bearer(token) | {"Idempotency-Key": key},
                              json={"purpose": "sms_notice", "version": "1", "granted": True})
        assert r.status_code == 201
    fed = federation.ids[federation.hq]
    async with owner() as s, s.begin():
        await s.execute(text("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'"
                             " WHERE principal = :p AND key = 'old'"), {"p": f"worker:{worker}"})
        await s.execute(text("UPDATE otp_challenges SET created_at = now() - interval '2 days'"
                             " WHERE tenant_id = :f"), {"f": fed})
    async with owner() as s, s.begin():
        await apply_scope(s, DbScope(None, PRINCIPAL))  # the purge answers its principal only
        removed = await purge(s)
    assert removed["idempotency_keys"] >= 1 and removed["otp_challenges"] >= 1
    async with owner() as s:
        keys = (await s.execute(text("SELECT key FROM idempotency_keys WHERE principal = :p"),
                                {"p": f"worker:{worker}"})).scalars().all()
        assert keys == ["fresh"]
        left = await s.scalar(select(func.count()).select_from(OtpChallenge)
                              .where(OtpChallenge.tenant_id == fed))
        assert left == 0
