"""Build federations through the real `tenants apply` path, and tokens and logins through
the real services, with codes unique to each test so tests never share rows."""

from __future__ import annotations

import random
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.auth.workers.sms import RecordingSmsGateway
from flexunion.federation.models import Tenant
from flexunion.provisioning.service import apply_directory


@dataclass
class Federation:
    hq: str
    regions: list[str]
    stations: dict[str, list[str]]
    ids: dict[str, uuid.UUID] = field(default_factory=dict)

    def all_codes(self) -> list[str]:
        return [self.hq, *self.regions, *(s for ss in self.stations.values() for s in ss)]


def federation_spec(prefix: str, regions: int = 2, stations: int = 2) -> dict[str, Any]:
    cities = [("310104", "上海市"), ("330106", "杭州市"),
              ("440305", "深圳市"), ("510107", "成都市")]
    return {
        "federation": {"code": f"{prefix}-hq", "name_zh": f"测试联合会{prefix}",
                       "name_en": f"Test federation {prefix}"},
        "partners": [
            {"code": "alpha", "name_zh": "阿尔法平台", "name_en": "Alpha Platform"},
            {"code": "beta", "name_zh": "贝塔平台", "name_en": "Beta Platform"},
        ],
        "regions": [
            {
                "code": f"{prefix}-r{i}", "name_zh": f"区域工会{i}",
                "name_en": f"Regional union {i}",
                "adcode": cities[i % len(cities)][0], "city": cities[i % len(cities)][1],
                "stations": [
                    {"code": f"{prefix}-r{i}-s{j}", "name_zh": f"站点{i}-{j}",
                     "name_en": f"Station {i}-{j}", "partner": "alpha" if j % 2 else "beta",
                     "address": f"测试路 {i}{j} 号"}
                    for j in range(1, stations + 1)
                ],
            }
            for i in range(1, regions + 1)
        ],
    }


async def make_federation(
    owner: async_sessionmaker[AsyncSession], tmp: Path, regions: int = 2, stations: int = 2
) -> Federation:
    prefix = "t" + secrets.token_hex(4)
    spec = federation_spec(prefix, regions, stations)
    folder = tmp / prefix
    folder.mkdir(parents=True)
    (folder / "federation.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    async with owner() as session, session.begin():
        await apply_directory(session, folder)
        rows = (await session.scalars(select(Tenant).where(Tenant.code.like(f"{prefix}-%")))).all()
    fed = Federation(
        hq=f"{prefix}-hq",
        regions=[r["code"] for r in spec["regions"]],
        stations={r["code"]: [s["code"] for s in r["stations"]] for r in spec["regions"]},
    )
    fed.ids = {t.code: t.id for t in rows}
    return fed


def random_phone() -> str:
    return "139" + f"{random.randrange(10**8):08d}"


async def worker_login(
    client: httpx.AsyncClient, sms: RecordingSmsGateway, federation: str, phone: str | None = None
) -> tuple[str, str]:
    """Log a worker in through the OTP API; returns (token, worker_id)."""
    phone = phone or random_phone()
    sent = await client.post("/v1/auth/otp", json={"federation": federation, "phone": phone})
    assert sent.status_code == 202, sent.text
    code = sms.last_code("+86" + phone)
    assert code is not None
    verified = await client.post(
        "/v1/auth/otp/verify", json={"federation": federation, "phone": phone, "code": code}
    )
    assert verified.status_code == 200, verified.text
    body = verified.json()
    return body["access_token"], body["subject"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def random_id_number() -> str:
    """A valid resident ID number (region 310104, born 1975–2000), unique enough per test."""
    from stdnum.cn import ric

    year = random.randrange(1975, 2001)
    body = (f"310104{year}{random.randrange(1, 13):02d}{random.randrange(1, 29):02d}"
            f"{random.randrange(1000):03d}")
    return body + ric.calc_check_digit(body + "0")  # the argument includes a check-digit slot


# The consents joining needs (GET /v1/consents/required), in their current versions.
JOIN_CONSENTS = ({"purpose": "privacy_policy", "version": "2026-11", "granted": True},
                 {"purpose": "id_number", "version": "2026-11", "granted": True})


async def consent_to_join(client: httpx.AsyncClient, token: str) -> None:
    """The worker agrees to the privacy policy and to processing the ID number (单独同意)."""
    for body in JOIN_CONSENTS:
        r = await client.post("/v1/me/consents", json=body,
                              headers=bearer(token) | {"Idempotency-Key": secrets.token_hex(8)})
        assert r.status_code == 201, r.text


def application(join: str, **over: Any) -> dict[str, Any]:
    return {"real_name": "张三丰", "id_number": random_id_number(),
            "employment_form": "crowdsourced", "city": "上海市", "join": join,
            "platforms": [{"partner": "alpha", "platform_worker_id": "A-1001"}]} | over


@dataclass
class Joined:
    token: str
    worker_id: str
    member_id: str
    body: dict[str, Any]


async def join(
    client: httpx.AsyncClient, sms: RecordingSmsGateway, fed: Federation, join_code: str,
    approver_token: str | None = None, **over: Any,
) -> Joined:
    """A worker logs in and applies through the API; approved when a staff token is given."""
    token, worker_id = await worker_login(client, sms, fed.hq)
    await consent_to_join(client, token)
    r = await client.post("/v1/me/membership/application", json=application(join_code, **over),
                          headers=bearer(token) | {"Idempotency-Key": secrets.token_hex(8)})
    assert r.status_code == 201, r.text
    body = r.json()
    if approver_token and body["status"] == "applicant":
        a = await client.post(f"/v1/admin/members/{body['member_id']}/approve",
                              headers=bearer(approver_token))
        assert a.status_code == 200, a.text
        body = (await client.get("/v1/me/membership", headers=bearer(token))).json()
    return Joined(token, worker_id, body["member_id"], body)
