"""意见收集二维码: a per-station link anyone may post a suggestion to, without identity.

No worker, member, contact or address is stored (the table's CHECK constraint refuses them;
the access log keeps no client address for this path either, see docs/cases.md). The sender
gets a pick-up code (取件码) once; only its SHA-256 is stored, and the transaction acts as
`pickup:<hash>`, the one principal row-level security lets read (and insert) that case.
Rate limit: at most `PER_HOUR` suggestions a station an hour (counted by an owner-owned
function, since an anonymous caller sees no rows)."""

from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from datetime import datetime, timedelta

from flexunion.audit import service as audit
from flexunion.cases.ledger.models import Case
from flexunion.cases.ledger.service import new_case_no, record
from flexunion.cases.suggestions import repository
from flexunion.cases.suggestions.schemas import SuggestionCreate
from flexunion.core.errors import NotFound, TooManyRequests
from flexunion.core.uow import UnitOfWork
from flexunion.db import rls
from flexunion.db.scope import DbScope

PER_HOUR = 30
WINDOW = timedelta(hours=1)
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L


def _station_unknown() -> NotFound:
    return NotFound("没有这个站点。", "No such station.", code="station_not_found")


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().replace("-", "").encode()).hexdigest()


def new_pickup_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))  # ~79 bits
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


async def station(uow: UnitOfWork, code: str) -> tuple[uuid.UUID, uuid.UUID, str, str]:
    found = await repository.suggestion_station(uow.session, code)
    if found is None:
        raise _station_unknown()
    return found


async def station_in_scope(uow: UnitOfWork, code: str) -> tuple[uuid.UUID, uuid.UUID, str, str]:
    """A station of the caller's own subtree (staff printing its QR code); any other station,
    of this federation or another, answers 404 as if it did not exist. The lookup itself
    reads every federation's stations (the anonymous form needs it), so the subtree is
    checked here."""
    found = await station(uow, code)
    if not await rls.in_scope(uow.session, found[0]):
        raise _station_unknown()
    return found


async def submit(uow: UnitOfWork, station_code: str, data: SuggestionCreate, *,
                 now: datetime) -> tuple[Case, str]:
    station_id, federation_id, _, _ = await station(uow, station_code)
    await repository.lock_station(uow.session, station_id)
    taken, oldest = await repository.window(uow.session, station_id, now - WINDOW)
    if taken >= PER_HOUR and oldest is not None:
        # The next slot opens when the window's oldest suggestion turns an hour old.
        wait = max(1, math.ceil((oldest + WINDOW - now).total_seconds()))
        raise TooManyRequests("该站点本小时收到的意见过多，请稍后再试。",
                              "Too many suggestions at this station this hour.",
                              code="suggestions_rate_limited",
                              headers={"Retry-After": str(wait)}, extra={"retry_after": wait})
    code = new_pickup_code()
    digest = _hash(code)
    principal = f"pickup:{digest}"
    await uow.rescope(DbScope(None, principal, uow.scope.request_id))
    case = Case(id=uuid.uuid4(), federation_id=federation_id, tenant_id=station_id,
                case_no=new_case_no(now), worker_id=None, member_id=None, is_member=False,
                contact={}, partner_id=None, category=data.category,
                description=data.description.strip(), employment_form=None, tags=[],
                tier="general", channel="qr_suggestion", place={"station": station_code},
                status="received", route=None, route_details={}, pickup_hash=digest,
                created_by="anonymous", created_at=now, updated_at=now, closings=0, reopens=0)
    repository.add(uow.session, case)
    await repository.flush(uow.session)
    await record(uow.session, case, "intake", now=now, actor=principal,
                 details={"channel": "qr_suggestion", "category": case.category})
    await audit.record(uow.session, "case.received", tenant_id=station_id, object_type="case",
                       object_id=case.id, payload={"case_no": case.case_no,
                                                   "channel": "qr_suggestion"})
    return case, code


async def follow(uow: UnitOfWork, code: str) -> Case:
    """The suggestion a pick-up code names (404 for any other code)."""
    await uow.rescope(DbScope(None, f"pickup:{_hash(code)}", uow.scope.request_id))
    case = await repository.by_pickup(uow.session, _hash(code))
    if case is None:
        raise NotFound("取件码无效。", "No suggestion has this pick-up code.",
                       code="pickup_code_unknown")
    return case
