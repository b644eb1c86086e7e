"""Arranging contracts rows for tests: HQ's clause templates from the demo federation's own
file (tenants/demo/clause-templates.yaml, applied as provisioning applies it), and an
agreement made through the real API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.contracts.templates import files as template_files
from tests.support.factories import Federation, bearer

DEMO_TEMPLATES = Path(__file__).parents[2] / "tenants" / "demo" / template_files.FILE_NAME


async def load_templates(owner: async_sessionmaker[AsyncSession], fed: Federation) -> list[str]:
    """Apply the demo templates to `fed`; the changes noted, as `tenants apply` notes them."""
    notes: list[str] = []
    spec = template_files.load(DEMO_TEMPLATES)
    async with owner() as s, s.begin():
        await template_files.plan(s, spec, fed.ids[fed.hq], True,
                                  lambda action, kind, code, _f: notes.append(f"{action}:{code}"))
    return notes


async def make_agreement(client: httpx.AsyncClient, token: str, **over: Any) -> dict[str, Any]:
    body = {"code": "franchise-alpha", "title": "阿尔法加盟协议", "kind": "franchise",
            "partner": "alpha", "starts_on": "2027-01-01", "ends_on": "2027-12-31",
            "renewal": "manual", "renewal_notice_days": 30,
            "parties": [{"role": "union", "name": "区域工会1"},
                        {"role": "platform_business", "name": "阿尔法业务部"},
                        {"role": "platform_hr", "name": "阿尔法人力"}]} | over
    r = await client.post("/v1/admin/contracts/agreements", json=body, headers=bearer(token))
    assert r.status_code == 201, r.text
    return r.json()


async def add_clause(client: httpx.AsyncClient, token: str, agreement_id: str, version: int,
                     **body: Any) -> httpx.Response:
    return await client.post(
        f"/v1/admin/contracts/agreements/{agreement_id}/versions/{version}/clauses",
        json=body, headers=bearer(token))


async def in_force(client: httpx.AsyncClient, token: str, agreement_id: str,
                   version: int) -> httpx.Response:
    return await client.post(
        f"/v1/admin/contracts/agreements/{agreement_id}/versions/{version}/in-force",
        headers=bearer(token))
