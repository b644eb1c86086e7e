"""Login endpoints. Login requests are not mobile *writes* in the idempotency sense: a
retried code request is absorbed by the resend limit, a retried verify is refused
once the code is consumed."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.auth import service
from flexunion.auth.schemas import AccessToken, AdminLogin, OtpRequest, OtpRequested, OtpVerify
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Role
from flexunion.core.uow import UnitOfWork
from flexunion.federation.models import Tenant

TAGS = ["auth 认证"]


@post("/v1/auth/otp", status_code=202, tags=TAGS,
      summary="发送短信验证码 Send a one-time login code by SMS")
async def request_otp(
    request: Request[Any, Any, Any], data: JSONBody[OtpRequest], uow: NamedDependency[UnitOfWork], settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
) -> OtpRequested:
    sent = await service.request_otp(
        uow, settings, request.app.state.keyring, clock, request.app.state.sms,
        federation=data.federation, phone=data.phone,
    )
    return OtpRequested(expires_in=sent.expires_in, resend_after=sent.resend_after)


@post("/v1/auth/otp/verify", status_code=200, tags=TAGS,
      summary="验证码登录 Log in with the code (worker token, audience flexunion-mobile)")
async def verify_otp(
    request: Request[Any, Any, Any], data: JSONBody[OtpVerify], uow: NamedDependency[UnitOfWork], settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
) -> AccessToken:
    worker, fed_id = await service.verify_otp(
        uow, settings, request.app.state.keyring, clock,
        federation=data.federation, phone=data.phone, code=data.code,
    )
    token, ttl = await request.app.state.tokens.issue(
        role=Role.WORKER, subject=str(worker.id), tenant_id=fed_id, tenant_code=data.federation
    )
    return AccessToken(access_token=token, expires_in=ttl, subject=str(worker.id),
                       tenant=data.federation, role=Role.WORKER.value)


@post("/v1/admin/login", status_code=200, tags=TAGS,
      summary="管理员账号登录 Admin login with username and password")
async def admin_login(
    request: Request[Any, Any, Any], data: JSONBody[AdminLogin], uow: NamedDependency[UnitOfWork], session: NamedDependency[AsyncSession],
    clock: NamedDependency[Clock],
) -> AccessToken:
    account = await service.admin_password_login(
        uow, clock, username=data.username, password=data.password
    )
    tenant = await session.get(Tenant, account.tenant_id)
    assert tenant is not None  # rescoped to the account's own tenant just above
    token, ttl = await request.app.state.tokens.issue(
        role=Role(account.role), subject=str(account.id), tenant_id=tenant.id,
        tenant_code=tenant.code,
    )
    return AccessToken(access_token=token, expires_in=ttl, subject=str(account.id),
                       tenant=tenant.code, role=account.role)


from flexunion.auth.oauth_routes import ROUTES as OAUTH_ROUTES

router = Router("/", route_handlers=[request_otp, verify_otp, admin_login, *OAUTH_ROUTES])
