"""SMS gateway interface (the outside world). The dev backend logs the code, masked phone."""

from __future__ import annotations

import logging
from typing import Protocol

from flexunion.core.logs import mask_phone

log = logging.getLogger("flexunion.sms")


class SmsGateway(Protocol):
    async def send_code(self, phone_e164: str, code: str) -> None: ...


class LogSmsGateway:
    """Development backend: no SMS leaves the machine; the code goes to the log."""

    async def send_code(self, phone_e164: str, code: str) -> None:
        log.warning(
            "dev sms: one-time code 验证码",
            extra={"phone": mask_phone(phone_e164), "code": code},
        )


class RecordingSmsGateway:
    """A real fake for tests: keeps what would have been sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send_code(self, phone_e164: str, code: str) -> None:
        self.sent.append((phone_e164, code))

    def last_code(self, phone_e164: str) -> str | None:
        for phone, code in reversed(self.sent):
            if phone == phone_e164:
                return code
        return None


def gateway_for(backend: str) -> SmsGateway:
    if backend == "log":
        return LogSmsGateway()
    raise ValueError(f"unknown SMS backend {backend!r} (FLEXUNION_SMS_BACKEND)")
