"""The caller's tenant scope, handed to PostgreSQL per transaction.

Row-level security policies read these settings. They are set with
`set_config(name, value, true)`, i.e. local to the current transaction, so a
pooled connection never carries one request's scope into another's (also safe
behind a transaction-pooling proxy such as PgBouncer).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

SET_SCOPE_SQL = (
    "SELECT set_config('flexunion.tenant_id', $1, true),"
    " set_config('flexunion.principal', $2, true),"
    " set_config('flexunion.request_id', $3, true)"
)
SET_SCOPE_SQLA = (
    "SELECT set_config('flexunion.tenant_id', :tenant_id, true),"
    " set_config('flexunion.principal', :principal, true),"
    " set_config('flexunion.request_id', :request_id, true)"
)


@dataclass(frozen=True, slots=True)
class DbScope:
    """tenant_id: the subtree root the caller may see (None: no tenant rows).
    principal: who is acting, e.g. `worker:<uuid>`; narrows per-person tables."""

    tenant_id: uuid.UUID | None
    principal: str
    request_id: str = ""

    def params(self) -> dict[str, str]:
        return {
            "tenant_id": str(self.tenant_id) if self.tenant_id else "",
            "principal": self.principal,
            "request_id": self.request_id,
        }


ANONYMOUS = DbScope(tenant_id=None, principal="anonymous")
