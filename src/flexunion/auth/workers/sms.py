"""SMS gateway interface (the outside world) and its development backend.

The `log` backend sends nothing: it logs the code with the phone masked and appends it to
`<data dir>/dev-sms.jsonl`, which `flexunion sms last-code PHONE` reads, so a developer
can log in without a phone. Never use it in production (docs/operations.md)."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from flexunion.core.logs import mask_phone

log = logging.getLogger("flexunion.sms")
OUTBOX = "dev-sms.jsonl"


class SmsGateway(Protocol):
    async def send_code(self, phone_e164: str, code: str) -> None: ...

    async def send_notice(self, phone_e164: str, text: str) -> None:
        """A short notice the worker opted into (consent `sms_notice`), e.g. a case's new
        status; sent only after the change committed (inbox/service.py)."""
        ...


class LogSmsGateway:
    """Development backend: no SMS leaves the machine; the code goes to the log and, when a
    data directory is given, to its outbox file (masked phone, code, time)."""

    def __init__(self, outbox_dir: Path | None = None) -> None:
        self.outbox = outbox_dir / OUTBOX if outbox_dir is not None else None

    async def send_code(self, phone_e164: str, code: str) -> None:
        log.warning(
            "dev sms: one-time code 验证码",
            extra={"phone": mask_phone(phone_e164), "code": code},
        )
        if self.outbox is not None:
            line = json.dumps({"at": datetime.now(UTC).isoformat(timespec="seconds"),
                               "phone": mask_phone(phone_e164), "code": code})
            self.outbox.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.outbox, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a") as out:
                out.write(line + "\n")


    async def send_notice(self, phone_e164: str, text: str) -> None:
        log.warning("dev sms: notice 通知", extra={"phone": mask_phone(phone_e164), "text": text})
        if self.outbox is not None:
            line = json.dumps({"at": datetime.now(UTC).isoformat(timespec="seconds"),
                               "phone": mask_phone(phone_e164), "notice": text},
                              ensure_ascii=False)
            self.outbox.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.outbox, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a") as out:
                out.write(line + "\n")


def last_code(outbox_dir: Path, phone: str) -> str | None:
    """The newest code the log backend wrote for `phone` (any form: +86…, 139…)."""
    path = outbox_dir / OUTBOX
    if not path.is_file():
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())
    wanted = mask_phone("+86" + digits[-11:]) if len(digits) >= 11 else None
    found = None
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("phone") == wanted and "code" in entry:
            found = str(entry["code"])
    return found


class RecordingSmsGateway:
    """A real fake for tests: keeps what would have been sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.notices: list[tuple[str, str]] = []

    async def send_code(self, phone_e164: str, code: str) -> None:
        self.sent.append((phone_e164, code))

    async def send_notice(self, phone_e164: str, text: str) -> None:
        self.notices.append((phone_e164, text))

    def last_code(self, phone_e164: str) -> str | None:
        for phone, code in reversed(self.sent):
            if phone == phone_e164:
                return code
        return None


def gateway_for(backend: str, data_dir: Path | None = None) -> SmsGateway:
    if backend == "log":
        return LogSmsGateway(data_dir)
    raise ValueError(f"unknown SMS backend {backend!r} (FLEXUNION_SMS_BACKEND)")
