"""A fresh federation with a real caller per staff audience, built through the real
services and the real OAuth2 endpoint: an HQ admin's token, a platform partner's and a
referral provider's (a legal-aid station of the first region) access tokens (client
credentials). Shared by the input checks and the fuzz run."""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from flexunion.auth.keys import KeyStore
from flexunion.auth.partners.service import create_partner_client
from flexunion.auth.tokens import TokenService
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Role
from flexunion.core.secrets import Keyring
from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
from flexunion.db.scope import DbScope
from tests.conftest import TEST_SECRET
from tests.support.factories import Federation, make_federation


@dataclass(frozen=True)
class Staffed:
    fed: Federation
    hq_token: str
    partner_token: str
    seeded: Any  # what `seed` returned
    provider_token: str = ""


async def staffed_federation(
    settings: Settings, clock: Clock, base_url: str, label: str,
    seed: Callable[[Callable[[], Any], Federation], Awaitable[Any]] | None = None,
) -> Staffed:
    """`label` names the federation's directory, the principal and the partner client;
    `seed(owner, fed)` adds rows with the owner's sessions before they close."""
    assert settings.database_url
    engine = make_engine(settings.database_url, pool_size=2, max_overflow=0)
    factory = make_sessionmaker(engine)
    scope = DbScope(None, f"test:{label}")

    def owner() -> Any:
        session = factory()
        bind_scope(session, lambda: scope)
        return session

    try:
        fed = await make_federation(owner, Path(tempfile.mkdtemp(prefix=f"{label}-fed-")))  # type: ignore[arg-type]
        tokens = TokenService(settings, KeyStore(factory, Keyring(TEST_SECRET.encode())), clock)
        hq, _ = await tokens.issue(role=Role.HQ_ADMIN, subject=label,
                                   tenant_id=fed.ids[fed.hq], tenant_code=fed.hq)
        async with owner() as s, s.begin():
            client_id, secret = await create_partner_client(
                s, tenant_code=fed.hq, partner_code="alpha", name=f"{label} 测试客户端")
            provider_id, provider_secret = await legal_aid_client(s, fed)
        seeded = await seed(owner, fed) if seed is not None else None
    finally:
        await engine.dispose()
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        granted = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                                    auth=(client_id, secret))
        assert granted.status_code == 200, granted.text
        aid = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                                auth=(provider_id, provider_secret))
        assert aid.status_code == 200, aid.text
    return Staffed(fed, hq, granted.json()["access_token"], seeded,
                   aid.json()["access_token"])


async def legal_aid_client(session: Any, fed: Federation) -> tuple[str, str]:
    """A legal-aid station of the federation's first region and a machine client of it
    (as the operator makes one): (client_id, secret)."""
    from sqlalchemy import text

    from flexunion.cases.provider_desk.service import create_client_as_operator

    region = fed.ids[fed.regions[0]]
    await session.execute(text(
        "INSERT INTO referral_providers (id, federation_id, tenant_id, code, kind, name_zh,"
        " name_en, address, lon, lat, serves, opening_hours, slot_minutes, created_by,"
        " created_at, updated_at) VALUES (gen_random_uuid(), :fed, :region, :code,"
        " 'legal_aid', '法律援助站', 'Legal aid', '某路 1 号', 121.47, 31.19,"
        " ARRAY[CAST(:region AS uuid)], '{}', 30, 'test', now(), now())"),
        {"fed": fed.ids[fed.hq], "region": region, "code": f"{fed.regions[0]}-aid"})
    return await create_client_as_operator(
        session, federation_code=fed.hq, provider_code=f"{fed.regions[0]}-aid",
        name="测试援助站", operator="test:operator")
