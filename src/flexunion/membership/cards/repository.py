"""Reads behind the in-memory card holders (holders.py), on a bare asyncpg connection of the
app role: the federation's version, and its slots packed (migration 0009)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flexunion.db.scope import SET_SCOPE_SQL

PRINCIPAL = "system:card-holders"
CHANNEL = "flexunion_cards"
_VERSION = "SELECT flexunion_card_version($1)"
_COLUMNS = "SELECT version, tenant_ids, tenant_codes, tenant_names, packed"
_ALL_SLOTS = f"{_COLUMNS} FROM flexunion_card_slots($1)"
_SOME_SLOTS = f"{_COLUMNS} FROM flexunion_card_slots($1, $2)"


@dataclass(frozen=True, slots=True)
class PackedSlots:
    version: int
    tenant_ids: list[uuid.UUID]
    tenant_codes: list[str]
    tenant_names: list[str]
    packed: bytes  # 21 bytes per member (see migration 0009)


async def ping(conn: Any) -> None:
    """A round trip: tells a listening connection that went silent from an idle one."""
    await conn.fetchval("SELECT 1")


async def version(conn: Any, federation_id: uuid.UUID) -> int:
    return int(await conn.fetchval(_VERSION, federation_id) or 0)


async def slots(conn: Any, federation_id: uuid.UUID,
                only: Sequence[int] | None = None) -> PackedSlots:
    """Every member's slot of the federation (or those in `only`), read in one statement
    at one snapshot with the version it reflects. Call inside a transaction."""
    await conn.execute(SET_SCOPE_SQL, str(federation_id), PRINCIPAL, "")
    row = (await conn.fetchrow(_ALL_SLOTS, federation_id) if only is None
           else await conn.fetchrow(_SOME_SLOTS, federation_id, list(only)))
    if row is None:
        raise LookupError(f"no federation {federation_id} in scope")
    return PackedSlots(int(row[0]), list(row[1] or ()), list(row[2] or ()), list(row[3] or ()),
                       bytes(row[4] or b""))
