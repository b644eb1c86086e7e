"""Who is calling: built only from a verified token (or anonymous), never from a body."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from flexunion.db.scope import DbScope


class Role(StrEnum):
    WORKER = "worker"
    STATION_OFFICER = "station_officer"
    REGIONAL_ADMIN = "regional_admin"
    HQ_ADMIN = "hq_admin"
    # 12351 热线话务员: enters hotline calls into the demand ledger (cases/ routes only).
    HOTLINE_OPERATOR = "hotline_operator"
    PARTNER = "partner"
    # 调解组织 / 法律援助站: a referral provider's machine client; it reads only the referrals
    # made to its provider (cases/provider_desk/), never a tenant's rows.
    PROVIDER = "provider"


# Which tenant kind each staff role is anchored to.
ROLE_TENANT_KIND: dict[Role, tuple[str, ...]] = {
    Role.HQ_ADMIN: ("hq",),
    Role.REGIONAL_ADMIN: ("regional",),
    Role.STATION_OFFICER: ("station",),
    Role.HOTLINE_OPERATOR: ("hq", "regional"),
    Role.PARTNER: ("hq", "regional"),
    Role.WORKER: ("hq",),
    Role.PROVIDER: ("hq", "regional"),
}

ADMIN_ROLES = frozenset({Role.HQ_ADMIN, Role.REGIONAL_ADMIN, Role.STATION_OFFICER})


@dataclass(frozen=True, slots=True)
class Caller:
    role: Role
    subject: str
    tenant_id: uuid.UUID
    tenant_code: str
    audience: str
    token_id: str = ""

    @property
    def principal(self) -> str:
        return f"{self.role.value}:{self.subject}"

    def db_scope(self, request_id: str = "") -> DbScope:
        # A worker's token names the federation (its realm), but a worker must
        # never see the federation's rows: its scope is its own person only. A referral
        # provider's token names its provider's region, and it too sees no tenant's rows:
        # only what its principal reaches (migration 0041).
        tenant = None if self.role in (Role.WORKER, Role.PROVIDER) else self.tenant_id
        return DbScope(tenant_id=tenant, principal=self.principal, request_id=request_id)
