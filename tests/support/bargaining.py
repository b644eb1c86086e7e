"""Arranging bargaining rows for tests: items put straight on the board with the owner
connection (so a test of ballots or rounds need not walk the whole lifecycle first),
partner clients with their tokens, and members who are active in a given tenant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.auth.partners.service import create_partner_client
from flexunion.bargaining.board.models import AgendaItem
from flexunion.federation.models import PlatformPartner
from tests.support.factories import Federation

DETAILS: dict[str, dict[str, Any]] = {
    "commission_rates": {"current_rate_pct": 25.0, "proposed_rate_pct": 18.0},
    "dispatch_rules": {"rule": "顺路单强制叠加", "observed_effect": "超时率上升"},
    "overtime": {"current_rule": "超过预计送达时间即超时", "proposed_rule": "恶劣天气顺延 15 分钟"},
    "appeals": {"current_process": "App 内提交, 人工复核", "current_deadline_hours": 168},
    "rest": {"current_arrangement": "无强制休息",
             "proposed_arrangement": "连续 4 小时后休息 20 分钟"},
    "rewards_penalties": {"current_rule": "差评罚款 50 元", "proposed_rule": "差评先申诉后处罚"},
    "other": {"description": "其他问题"},
}


async def partner_id(owner: async_sessionmaker[AsyncSession], fed: Federation,
                     code: str = "alpha") -> uuid.UUID:
    async with owner() as s:
        return (await s.scalars(select(PlatformPartner.id).where(
            PlatformPartner.tenant_id == fed.ids[fed.hq], PlatformPartner.code == code))).one()


async def seed_item(
    owner: async_sessionmaker[AsyncSession], fed: Federation, *, scope: str | None = None,
    partner: str = "alpha", topic: str = "commission_rates", status: str = "collected",
    threshold: int = 20, title: str = "抽成比例过高",
) -> uuid.UUID:
    """An agenda item in `status`, scoped to `scope` (default: the first region), written
    with the owner connection. The status is set on insert, which the transition trigger
    (BEFORE UPDATE) does not see: use it only to arrange a starting point."""
    scope = scope or fed.regions[0]
    pid = await partner_id(owner, fed, partner)
    now = datetime.now(UTC)
    item = AgendaItem(
        id=uuid.uuid4(), federation_id=fed.ids[fed.hq], tenant_id=fed.ids[scope], partner_id=pid,
        topic=topic, title=title, summary="测试事项", details=DETAILS[topic], status=status,
        support_count=0, support_threshold=threshold, merged_into_id=None, created_by="test",
        created_at=now, updated_at=now,
    )
    async with owner() as s, s.begin():
        s.add(item)
    return item.id


@dataclass
class Partner:
    client_id: str
    secret: str
    token: str


async def partner_client(
    client: httpx.AsyncClient, owner: async_sessionmaker[AsyncSession], fed: Federation,
    code: str = "alpha", tenant: str | None = None,
) -> Partner:
    """A partner's OAuth2 client and a token got through the real token endpoint."""
    async with owner() as s, s.begin():
        client_id, secret = await create_partner_client(
            s, tenant_code=tenant or fed.hq, partner_code=code, name=f"{code} 接口")
    r = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(client_id, secret))
    assert r.status_code == 200, r.text
    return Partner(client_id, secret, r.json()["access_token"])


async def set_member_status(owner: async_sessionmaker[AsyncSession], member_id: str,
                            status: str) -> None:
    async with owner() as s, s.begin():
        await s.execute(text("UPDATE members SET status = :s WHERE id = :m"),
                        {"s": status, "m": member_id})
