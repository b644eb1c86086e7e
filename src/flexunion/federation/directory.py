"""The federation's directory, one function each: its tenants by code and by id, the region
a tenant belongs to, a tenant's subtree, whose federation a caller is in, and the platform
partners. Every domain asks here instead of reading `tenants` itself.

The directory (codes, kinds, names, cities, parents, partners) is public within the
federation: it is read through a SECURITY DEFINER function, so a worker, whose scope holds
no tenant rows, sees it too. Tenant *rows* (`tenant_by_code`, `tenant_by_id`) are read under
the caller's row-level security: another region's tenant is simply not found."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core.context import Caller, Role
from flexunion.core.errors import InvalidInput, NotFound, Unauthenticated
from flexunion.db import rls
from flexunion.federation import repository
from flexunion.federation.models import Tenant


class TenantNotFound(NotFound):
    code, title, title_en = "tenant_not_found", "未找到该组织", "Tenant not found"


class UnknownPartner(InvalidInput):
    code, title, title_en = "unknown_partner", "未知的平台企业", "Unknown platform partner"

    def __init__(self, codes: Iterable[str]) -> None:
        names = sorted(set(codes))
        joined = ", ".join(names)
        super().__init__(f"本联合会没有平台企业 {joined}。",
                         f"Not a platform partner of this federation: {joined}.",
                         extra={"partner": names[0]} if len(names) == 1 else {"partners": names})


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    id: uuid.UUID
    code: str
    kind: str
    name_zh: str
    name_en: str
    city: str | None
    parent_code: str | None
    partner_code: str | None
    auto_approve_joins: bool


class Directory(Mapping[str, DirectoryEntry]):
    """Every tenant of one federation, by code; `by_id` gives the same entries by id."""

    def __init__(self, entries: Iterable[DirectoryEntry]) -> None:
        self._by_code = {e.code: e for e in entries}
        self.by_id: dict[uuid.UUID, DirectoryEntry] = {e.id: e for e in self._by_code.values()}

    def __getitem__(self, code: str) -> DirectoryEntry:
        return self._by_code[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_code)

    def __len__(self) -> int:
        return len(self._by_code)

    @property
    def hq(self) -> DirectoryEntry:
        return next(e for e in self.values() if e.kind == "hq")

    def region_of(self, entry: DirectoryEntry) -> DirectoryEntry | None:
        """The regional union a tenant belongs to: itself, a station's parent; None for HQ."""
        if entry.kind == "regional":
            return entry
        parent = self.get(entry.parent_code or "")
        if entry.kind == "station" and parent is not None and parent.kind == "regional":
            return parent
        return None

    def subtree(self, entry: DirectoryEntry) -> list[uuid.UUID]:
        """`entry` and every tenant below it."""
        children: dict[str, list[DirectoryEntry]] = {}
        for e in self.values():
            if e.parent_code:
                children.setdefault(e.parent_code, []).append(e)
        found, todo = [], [entry]
        while todo:
            e = todo.pop()
            found.append(e.id)
            todo.extend(children.get(e.code, ()))
        return found


async def directory(session: AsyncSession, federation_id: uuid.UUID) -> Directory:
    """The federation's directory, for anyone in it."""
    return Directory(DirectoryEntry(**row) for row in
                     await repository.directory_rows(session, federation_id))


async def my_directory(session: AsyncSession, caller: Caller) -> Directory:
    """The directory of the caller's own federation (one statement)."""
    if caller.role is Role.WORKER:
        return await directory(session, caller.tenant_id)
    return Directory(DirectoryEntry(**row) for row in
                     await repository.caller_directory_rows(session))


async def federation_of(session: AsyncSession, caller: Caller) -> uuid.UUID:
    """The caller's federation: a worker's token names it; staff and partners are anchored
    in one of its tenants (their own tenant is always in their scope)."""
    if caller.role is Role.WORKER:
        return caller.tenant_id
    federation = await rls.current_federation(session)
    if federation is None:
        raise Unauthenticated("令牌所属的组织不存在。", "The token's tenant does not exist.",
                              code="token_tenant_unknown")
    return federation


async def find_federation(session: AsyncSession, code: str) -> uuid.UUID | None:
    """The federation (HQ) with this code, for anyone (logins and public documents)."""
    return await repository.federation_id_by_code(session, code)


async def tenant_by_code(session: AsyncSession, code: str, *, lock: bool = False) -> Tenant:
    """A tenant row in the caller's subtree (or any, for the owner); else 404."""
    tenant = await repository.tenant_by_code(session, code, lock=lock)
    if tenant is None:
        raise TenantNotFound(f"没有组织 {code}，或不在你的管辖范围内。", f"No tenant '{code}'.")
    return tenant


async def tenant_by_id(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    tenant = await repository.tenant_by_id(session, tenant_id)
    if tenant is None:
        raise TenantNotFound("没有该组织，或不在你的管辖范围内。", "No such tenant.")
    return tenant


async def subtree_in_scope(session: AsyncSession, federation_id: uuid.UUID,
                           code: str) -> list[uuid.UUID]:
    """The tenant `code` and everything below it, if it is in the caller's subtree; else 404."""
    tenants = await directory(session, federation_id)
    entry = tenants.get(code)
    if entry is None or not await rls.in_scope(session, entry.id):
        raise TenantNotFound(f"没有组织 {code}，或不在你的管辖范围内。",
                             f"No tenant '{code}' in your area.")
    return tenants.subtree(entry)


async def federation_ids(session: AsyncSession,
                         ids: Iterable[uuid.UUID] | None = None) -> list[uuid.UUID]:
    """The federations (HQ tenants) the caller sees, by code; only `ids` when given. For
    operators (the owner sees every federation)."""
    return list(await repository.federation_ids(
        session, ids=list(ids) if ids is not None else None))


@dataclass(frozen=True, slots=True)
class Partner:
    id: uuid.UUID
    code: str
    name_zh: str
    name_en: str


async def partners(session: AsyncSession, federation_id: uuid.UUID) -> dict[str, Partner]:
    """The federation's platform partners by code: reference data for its staff, partners
    and workers."""
    return {row["code"]: Partner(**row) for row in
            await repository.partner_rows(session, federation_id)}


async def partners_as_seen(session: AsyncSession,
                           federation_id: uuid.UUID) -> dict[str, Partner]:
    """The federation's partners as row-level security shows their rows to the caller: for
    operators (the owner), who stand outside every federation, where `partners` answers only
    callers inside it."""
    return {code: Partner(id=p.id, code=p.code, name_zh=p.name_zh, name_en=p.name_en)
            for code, p in (await repository.partners_of(session, federation_id)).items()}


async def partner_codes(session: AsyncSession, federation_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Partner id → code."""
    return {p.id: p.code for p in (await partners(session, federation_id)).values()}


async def partner_by_code(session: AsyncSession, federation_id: uuid.UUID, code: str) -> Partner:
    """The federation's partner `code`, else 422 `unknown_partner`."""
    found = (await partners(session, federation_id)).get(code)
    if found is None:
        raise UnknownPartner([code])
    return found


async def check_partners(session: AsyncSession, federation_id: uuid.UUID,
                         codes: Iterable[str]) -> dict[str, Partner]:
    """All of `codes` must be partners of the federation (one 422 naming every unknown one)."""
    known = await partners(session, federation_id)
    unknown = set(codes) - set(known)
    if unknown:
        raise UnknownPartner(unknown)
    return known
