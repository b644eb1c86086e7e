"""Console helpers: a staff account with a password, made by the operator's own action, and
a signed-in HTTP client (the sign-in form, its CSRF cookie, the session cookie)."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from flexunion.auth.staff.service import create_admin

CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


async def staff_account(owner: Any, tenant_code: str, role: str,
                        name: str = "测试干部") -> tuple[str, str]:
    """(username, password) of a new account of `tenant_code` with `role`."""
    username = f"u{secrets.token_hex(5)}"
    password = secrets.token_urlsafe(12)
    async with owner() as s, s.begin():
        await create_admin(s, tenant_code=tenant_code, username=username, role=role,
                           display_name=name, password=password, oidc_issuer=None,
                           oidc_subject=None)
    return username, password


def csrf_of(page: str) -> str:
    found = CSRF.search(page)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, username: str, password: str,
                  next_: str = "/console/") -> httpx.Response:
    page = await client.get("/console/login")
    assert page.status_code == 200, page.text
    return await client.post("/console/login", data={
        "_csrf": csrf_of(page.text), "username": username, "password": password,
        "next": next_})


@asynccontextmanager
async def signed_in(base_url: str, owner: Any, tenant_code: str,
                    role: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in as a new account of `tenant_code` with `role`."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        username, password = await staff_account(owner, tenant_code, role)
        answer = await sign_in(client, username, password)
        assert answer.status_code == 303, answer.text
        yield client
