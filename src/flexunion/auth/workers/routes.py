"""Worker login: anonymous endpoints (the answer is the worker's token).

Login requests are not mobile *writes* in the idempotency sense: a retried code request is
absorbed by the resend limit, a retried verify is refused once the code is consumed."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from flexunion.auth.schemas import AccessToken
from flexunion.auth.workers import service
from flexunion.auth.workers.schemas import OtpRequest, OtpRequested, OtpVerify
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.http import problems
from flexunion.core.uow import UnitOfWork

_PHONE_PROBLEMS = {422: "phone_invalid, federation_unknown"}


@post("/otp", status_code=202, summary="发送短信验证码 Send a one-time login code by SMS",
      responses=problems({**_PHONE_PROBLEMS, 429: "otp_resend_too_soon, otp_rate_limited "
                                                  "(Retry-After)"}))
async def request_otp(
    request: Request[Any, Any, Any], data: JSONBody[OtpRequest],
    uow: NamedDependency[UnitOfWork], settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
) -> OtpRequested:
    state = request.app.state
    return await service.request_otp(uow, settings, state.keyring, clock, state.sms,
                                     federation=data.federation, phone=data.phone)


@post("/otp/verify", status_code=200,
      summary="验证码登录 Log in with the code (worker token, audience flexunion-mobile)",
      responses=problems({**_PHONE_PROBLEMS, 401: "otp_invalid",
                          429: "otp_locked: too many wrong codes, request a new one"}))
async def verify_otp(
    request: Request[Any, Any, Any], data: JSONBody[OtpVerify],
    uow: NamedDependency[UnitOfWork], settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
) -> AccessToken:
    state = request.app.state
    return await service.verify_otp(uow, settings, state.keyring, clock, state.tokens,
                                    federation=data.federation, phone=data.phone,
                                    code=data.code)


router = Router("/v1/auth", tags=["auth 认证"], route_handlers=[request_otp, verify_otp])
