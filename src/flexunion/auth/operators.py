"""What the operator's account actions share (run as the owner from the CLI, each audited):
the refusal they meet, and the rule that an account sits in a tenant of its role's kind."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core.context import ROLE_TENANT_KIND, Role
from flexunion.core.errors import OperatorError
from flexunion.federation import directory


class AccountError(OperatorError):
    pass


@dataclass(frozen=True, slots=True)
class Anchor:
    """The tenant an account (or an operator token) is anchored in."""

    id: uuid.UUID
    code: str
    kind: str
    federation_id: uuid.UUID


def check_role_fits(role: Role, anchor: Anchor) -> None:
    kinds = ROLE_TENANT_KIND[role]
    if anchor.kind not in kinds:
        raise AccountError(
            f"role {role.value} belongs to a tenant of kind {' or '.join(kinds)};"
            f" '{anchor.code}' is {anchor.kind}"
        )


async def anchor_for(session: AsyncSession, tenant_code: str, role: Role) -> Anchor:
    """The tenant `tenant_code`, which must be of the kind `role` belongs to."""
    tenant = await directory.tenant_by_code(session, tenant_code)
    anchor = Anchor(tenant.id, tenant.code, tenant.kind, tenant.federation_id)
    check_role_fits(role, anchor)
    return anchor
